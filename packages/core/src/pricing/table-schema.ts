/** zod building blocks shared by the dated pricing tables (FX rates, Twilio prices). */
import { z } from 'zod';
import { parseDecimalString } from './decimal.ts';

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function isIsoCalendarDate(value: string): boolean {
  const m = ISO_DATE.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

export const asOfSchema = z
  .string({ error: 'as_of must be a string date YYYY-MM-DD' })
  .refine(isIsoCalendarDate, 'as_of must be a real calendar date written YYYY-MM-DD (the day the table was valid)');

export const sourceSchema = z
  .string({ error: 'source must be a string saying where the numbers come from' })
  .trim()
  .min(1, 'source must say where the numbers come from');

/** Largest decimal a table may hold (USD or USD per unit): far above any real price or rate. */
const MAX_TABLE_VALUE_UNITS = 1_000_000_000n;

export function decimalStringSchema(what: string, opts: { positive?: boolean } = {}) {
  return z
    .string({ error: `${what} must be a decimal string such as "0.0083" (a JSON number is refused: money never goes through floats)` })
    .superRefine((s, ctx) => {
      const d = parseDecimalString(s);
      let message: string | undefined;
      if (d === undefined) {
        message = `${what} must be a plain decimal string such as "0.0083" (no sign, exponent or separators; at most 18 decimals), got ${JSON.stringify(s)}`;
      } else if (d.units > MAX_TABLE_VALUE_UNITS * 10n ** BigInt(d.scale)) {
        message = `${what} is implausibly large (over 1000000000), got ${s}`;
      } else if (opts.positive && d.units === 0n) {
        message = `${what} must be greater than zero`;
      }
      if (message !== undefined) ctx.addIssue({ code: 'custom', message });
    });
}

/** A record whose keys must match `keyPattern` (reported by tableProblems with the key and the rule). */
export function keyedRecord<V extends z.ZodType>(value: V, keyPattern: RegExp, keyRule: string) {
  return z.record(z.string().regex(keyPattern, keyRule), value);
}

/** zod issues as "path: message" sentences an operator can act on. */
export function tableProblems(error: z.ZodError, tableName: string): string[] {
  return error.issues.map((issue) => {
    const where = issue.path.length ? `${tableName}.${issue.path.map(String).join('.')}` : tableName;
    if (issue.code === 'invalid_key') {
      const key = issue.path[issue.path.length - 1];
      const rule = issue.issues[0]?.message ?? issue.message;
      return `${where}: key ${JSON.stringify(String(key))} is not allowed: ${rule}`;
    }
    return `${where}: ${issue.message}`;
  });
}

/** Freeze a plain-data table all the way down, so a shared default cannot be edited in place. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Validates an operator-supplied table (parsed JSON) against its schema, every problem named under `tableName`. */
export function parseTableWith<T>(schema: z.ZodType<T>, json: unknown, tableName: string): { ok: true; table: T } | { ok: false; problems: string[] } {
  const result = schema.safeParse(json);
  return result.success ? { ok: true, table: result.data } : { ok: false, problems: tableProblems(result.error, tableName) };
}
