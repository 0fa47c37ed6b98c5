/**
 * Stripe-style parameter parsing: `a[b][c]=1`, `expand[0]=x`, `items[]=y`, `metadata[k]=v`.
 *
 * Written here rather than importing `qs` because qs is only a dependency of packages/proxy and is
 * not resolvable from the repo root. The output follows qs's defaults closely enough for tests:
 * nested objects, and objects whose keys are all array indices become arrays. Leaf values stay strings;
 * validate.ts turns them into numbers/booleans following the spec.
 */

export type Params = Record<string, unknown>;

/** Parses an application/x-www-form-urlencoded body or a query string (without the leading '?'). */
export function parseUrlEncoded(text: string): Params {
  const root: Params = {};
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decode(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1));
    assign(root, splitKey(key), value);
  }
  return arrayify(root) as Params;
}

/** A file part of a multipart body, summarised (tests care about its presence, not its bytes). */
export interface FilePart {
  filename: string;
  contentType: string;
  size: number;
}

/** Parses multipart/form-data (POST /v1/files). Field names use the same bracket syntax. */
export function parseMultipart(body: Buffer, contentType: string): Params {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundaryText = m?.[1] ?? m?.[2];
  if (!boundaryText) return {};
  const boundary = Buffer.from(`--${boundaryText}`);
  const root: Params = {};
  let pos = body.indexOf(boundary);
  while (pos >= 0) {
    const start = pos + boundary.length;
    if (body.subarray(start, start + 2).toString() === '--') break; // closing boundary
    const next = body.indexOf(boundary, start);
    if (next < 0) break;
    const part = body.subarray(start + 2, next - 2); // drop the CRLF after and before the boundaries
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd >= 0) {
      const headers = part.subarray(0, headerEnd).toString('utf8');
      const content = part.subarray(headerEnd + 4);
      const name = /;\s*name="([^"]*)"/i.exec(headers)?.[1];
      const filename = /;\s*filename="([^"]*)"/i.exec(headers)?.[1];
      const type = /^content-type:\s*(.+)$/im.exec(headers)?.[1]?.trim();
      if (name !== undefined) {
        const value: unknown =
          filename !== undefined
            ? ({ filename, contentType: type ?? 'application/octet-stream', size: content.length } satisfies FilePart)
            : content.toString('utf8');
        assign(root, splitKey(name), value);
      }
    }
    pos = next;
  }
  return arrayify(root) as Params;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** `a[b][0]` → ['a', 'b', '0']; a malformed key is taken literally. */
export function splitKey(key: string): string[] {
  const open = key.indexOf('[');
  if (open <= 0) return [key];
  const parts = [key.slice(0, open)];
  const rest = key.slice(open);
  const re = /\[([^\]]*)\]/g;
  let consumed = 0;
  for (let m = re.exec(rest); m && m.index === consumed; m = re.exec(rest)) {
    parts.push(m[1] ?? '');
    consumed = re.lastIndex;
  }
  return consumed === rest.length ? parts : [key];
}

function assign(root: Params, keys: string[], value: unknown): void {
  // Refuse keys that would reach Object.prototype through plain-object indexing.
  if (keys.some((k) => k === '__proto__' || k === 'constructor' || k === 'prototype')) return;
  let node = root;
  keys.forEach((rawKey, i) => {
    const key = rawKey === '' ? String(Object.keys(node).length) : rawKey; // `a[]=x` appends
    if (i === keys.length - 1) {
      node[key] = value;
      return;
    }
    const child = node[key];
    if (typeof child !== 'object' || child === null || !Object.hasOwn(node, key)) node[key] = {};
    node = node[key] as Params;
  });
}

/** Objects whose keys are all array indices become arrays, in index order (like qs). */
function arrayify(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const obj = value as Params;
  if ('filename' in obj && 'size' in obj) return obj; // FilePart
  const keys = Object.keys(obj);
  for (const k of keys) obj[k] = arrayify(obj[k]);
  if (keys.length > 0 && keys.every((k) => /^(0|[1-9]\d{0,5})$/.test(k))) {
    return keys
      .map(Number)
      .sort((a, b) => a - b)
      .map((i) => obj[String(i)]);
  }
  return obj;
}
