/**
 * Finds the row of TWILIO_OPERATIONS a request is, from its method, host and path. Path segments
 * are compared without their `.json`/`.xml`/`.csv` extension and without case (a server that
 * matched paths case-insensitively must not get a case variant past its row); a `{Param}` segment
 * matches any one segment, and where two rows match, the one with a literal segment first wins
 * (`IncomingPhoneNumbers/Local.json` is the Local create, not an update of a number named "Local").
 */
import { TWILIO_OPERATIONS, type TwilioOperation } from './operations.ts';

/** `Messages.json` -> `messages`: the 2010 API answers the same resource in JSON, XML or CSV. */
export function bareSegment(segment: string): string {
  return segment.replace(/\.(?:json|xml|csv)$/i, '').toLowerCase();
}

interface Compiled {
  operation: TwilioOperation;
  /** lowercased literal, or null for a `{Param}` segment */
  segments: (string | null)[];
}

function compile(operation: TwilioOperation): Compiled {
  const segments = operation.path
    .split('/')
    .slice(1)
    .map((segment) => (/^\{[A-Za-z]+\}(\.json)?$/.test(segment) ? null : bareSegment(segment)));
  return { operation, segments };
}

/** literal before wildcard, segment by segment */
function moreSpecific(a: Compiled, b: Compiled): boolean {
  for (let i = 0; i < a.segments.length; i++) {
    const x = a.segments[i] === null;
    const y = b.segments[i] === null;
    if (x !== y) return y;
  }
  return false;
}

export class TwilioOperationIndex {
  private readonly byKey = new Map<string, Compiled[]>();

  constructor(operations: readonly TwilioOperation[] = TWILIO_OPERATIONS) {
    for (const operation of operations) {
      const compiled = compile(operation);
      const key = `${operation.method} ${operation.host} ${compiled.segments.length}`;
      const list = this.byKey.get(key);
      if (list) list.push(compiled);
      else this.byKey.set(key, [compiled]);
    }
  }

  /** @param path the path segments after the host, as routed (extensions and case as sent) */
  find(method: string, host: string, path: readonly string[]): TwilioOperation | undefined {
    const candidates = this.byKey.get(`${method.toUpperCase()} ${host.toLowerCase()} ${path.length}`) ?? [];
    const bare = path.map(bareSegment);
    let best: Compiled | undefined;
    for (const candidate of candidates) {
      if (!candidate.segments.every((segment, i) => segment === null || segment === bare[i])) continue;
      if (!best || moreSpecific(candidate, best)) best = candidate;
    }
    return best?.operation;
  }
}
