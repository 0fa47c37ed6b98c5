/**
 * How large a request body keyleash reads for each vendor host, before anything else happens to
 * the request. Vendor API bodies are small forms; only uploads (`files.stripe.com`) are large. A
 * body past its host's limit is refused with 413 without being read further (see read-body.ts).
 */
export const MIB = 1024 * 1024;
export const DEFAULT_BODY_LIMIT_BYTES = 1 * MIB;
/** Stripe's own upload limit for files is 16 MB; a form-data envelope around it needs a little more */
export const DEFAULT_HOST_BODY_LIMITS: Readonly<Record<string, number>> = { 'files.stripe.com': 32 * MIB };
/** the management API's JSON bodies (keys, policies) */
export const ADMIN_BODY_LIMIT_BYTES = 256 * 1024;

export class BodyLimits {
  constructor(
    /** every vendor host not named in `perHost` */
    readonly defaultBytes: number = DEFAULT_BODY_LIMIT_BYTES,
    readonly perHost: Readonly<Record<string, number>> = DEFAULT_HOST_BODY_LIMITS,
  ) {}

  forHost(host: string | undefined): number {
    return (host !== undefined ? this.perHost[host.toLowerCase()] : undefined) ?? this.defaultBytes;
  }
}

const SIZE = /^([0-9]{1,15})\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i;
const UNIT: Record<string, number> = { b: 1, k: 1024, m: MIB, g: 1024 * MIB };

/** `1048576`, `512KiB`, `1MiB`, `32m` (binary units: k = 1024) as a whole number of bytes */
export function parseByteSize(text: string): number {
  const match = SIZE.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a size; write bytes (1048576) or a binary unit (512KiB, 1MiB, 32m)`);
  const bytes = Number(match[1]) * UNIT[(match[2] ?? 'b')[0]!.toLowerCase()]!;
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new Error(`"${text}" is not a usable body limit (at least 1 byte)`);
  return bytes;
}

/**
 * `--max-body` entries, in order (later ones win): `<size>` sets the limit of every vendor host
 * without its own, `<host>=<size>` one host's (e.g. `files.stripe.com=64MiB`).
 */
export function parseBodyLimits(entries: readonly string[]): BodyLimits {
  let defaultBytes = DEFAULT_BODY_LIMIT_BYTES;
  const perHost: Record<string, number> = { ...DEFAULT_HOST_BODY_LIMITS };
  for (const entry of entries) {
    const equals = entry.indexOf('=');
    if (equals === -1) {
      defaultBytes = parseByteSize(entry);
      continue;
    }
    const host = entry.slice(0, equals).trim().toLowerCase();
    if (!/^[a-z0-9.-]+$/.test(host)) throw new Error(`--max-body ${entry}: "${host}" is not a host name`);
    perHost[host] = parseByteSize(entry.slice(equals + 1));
  }
  return new BodyLimits(defaultBytes, perHost);
}

/** 1048576 -> "1 MiB (1048576 bytes)": the unit an operator would write back into --max-body */
export function describeBytes(bytes: number): string {
  const unit = bytes % MIB === 0 ? `${bytes / MIB} MiB` : bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`;
  return unit.endsWith('bytes') ? unit : `${unit} (${bytes} bytes)`;
}
