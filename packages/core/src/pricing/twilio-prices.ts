/**
 * Twilio prices: a dated per-country price table, phone number -> country, and the cost of an SMS,
 * MMS, call or verification in micro-USD (exact BigInt arithmetic, rounded UP).
 */
import { z } from 'zod';
import type { MicroUsd } from '../money.ts';
import { bigMicrosToSafe, usdDecimalTimesToBigMicros, usdDecimalToMicros } from './decimal.ts';
import type { ParseTableResult } from './currency.ts';
import { countSmsSegments, type SmsEncoding } from './sms-segments.ts';
import { asOfSchema, decimalStringSchema, keyedRecord, parseTableWith, sourceSchema } from './table-schema.ts';

/** ISO 3166-1 alpha-2, uppercase ("US", "GB"). */
export type Iso2 = string;

/**
 * A dated Twilio price table, USD decimal strings throughout.
 *
 * `calling_codes` maps leading digits of an E.164 number (without "+") to a country, matched by
 * LONGEST prefix: "1" -> "US" with "1204" -> "CA" overriding it, "7" -> "RU" with "77" -> "KZ".
 * A value may list several countries when the operator cannot tell them apart by prefix; the
 * number is then priced at the dearest of them (and refused if any of them has no price).
 */
export interface TwilioPriceTable {
  readonly as_of: string;
  readonly source: string;
  readonly currency: 'usd';
  /** per outbound SMS segment */
  readonly sms: Readonly<Record<Iso2, string>>;
  /** per outbound MMS message */
  readonly mms: Readonly<Record<Iso2, string>>;
  readonly voice_per_minute: Readonly<Record<Iso2, string>>;
  readonly verify_per_verification: string;
  readonly calling_codes: Readonly<Record<string, Iso2 | readonly Iso2[]>>;
  readonly notes?: string;
}

/** Twilio's default call `TimeLimit` (4 hours) when a request does not set one. */
export const TWILIO_DEFAULT_CALL_TIME_LIMIT_SECONDS = 14_400;

/** Reported as the country when a fallback prices a number no calling code matches (CLDR "unknown region"). */
export const UNKNOWN_COUNTRY = 'ZZ';

const ISO2 = /^[A-Z]{2}$/;
const ISO2_RULE = 'countries are uppercase ISO 3166-1 alpha-2 codes, e.g. "GB"';
const PREFIX = /^[1-9][0-9]{0,14}$/;
const E164 = /^\+[1-9][0-9]{1,14}$/;

const iso2Schema = z.string({ error: `must be a country code: ${ISO2_RULE}` }).regex(ISO2, `must be a country code: ${ISO2_RULE}`);

function priceRecord(what: string) {
  return keyedRecord(decimalStringSchema(what), ISO2, ISO2_RULE);
}

const twilioPriceTableSchema = z.strictObject({
  as_of: asOfSchema,
  source: sourceSchema,
  currency: z.literal('usd', { error: 'currency must be "usd" (prices are in US dollars)' }),
  sms: priceRecord('an SMS price (USD per segment)'),
  mms: priceRecord('an MMS price (USD per message)'),
  voice_per_minute: priceRecord('a voice price (USD per minute)'),
  verify_per_verification: decimalStringSchema('verify_per_verification (USD)'),
  calling_codes: keyedRecord(
    z.union([iso2Schema, z.array(iso2Schema).min(1, 'must list at least one country')], {
      error: `must be a country code or a non-empty list of them: ${ISO2_RULE}`,
    }),
    PREFIX,
    'calling code prefixes are digits without "+", not starting with 0, e.g. "44" or "1204"',
  ),
  notes: z.string().optional(),
});

/** Validate an operator-supplied Twilio price table (parsed JSON). */
export function parseTwilioPriceTable(json: unknown): ParseTableResult<TwilioPriceTable> {
  return parseTableWith(twilioPriceTableSchema, json, 'twilio_price_table');
}

/** Same as parseTwilioPriceTable (the name the loaders use). */
export const loadTwilioPriceTable = parseTwilioPriceTable;

export function isE164(number: string): boolean {
  return typeof number === 'string' && E164.test(number);
}

interface CallingCodeMatch {
  /** the matched digits, e.g. "44" or "1204" */
  readonly prefix: string;
  readonly countries: readonly Iso2[];
}

function matchCallingCode(number: string, table: TwilioPriceTable): CallingCodeMatch | undefined {
  if (!isE164(number)) return undefined;
  const digits = number.slice(1);
  for (let len = digits.length; len >= 1; len--) {
    const prefix = digits.slice(0, len);
    if (!Object.hasOwn(table.calling_codes, prefix)) continue;
    const value = table.calling_codes[prefix];
    if (value === undefined) continue;
    const countries = typeof value === 'string' ? [value] : value;
    if (countries.length > 0) return { prefix, countries };
  }
  return undefined;
}

/**
 * The country of an E.164 number ("+15551230000") by longest calling-code prefix; undefined for a
 * number that is not E.164 or matches no prefix. When a prefix lists several countries, the first.
 */
export function countryOfE164(number: string, table: TwilioPriceTable): string | undefined {
  return matchCallingCode(number, table)?.countries[0];
}

/** Every country a number may belong to (more than one only when the table says so). */
export function countriesOfE164(number: string, table: TwilioPriceTable): readonly Iso2[] | undefined {
  return matchCallingCode(number, table)?.countries;
}

type Priced = { ok: true; micros: MicroUsd; country: string; usedFallback: boolean } | { ok: false; reason: string };

/**
 * quantity x the price of `to` in `prices`, rounded up; the dearest country when several match.
 * A country without a price uses `fallbackMicros` (per unit) when given.
 */
function priceFor(
  table: TwilioPriceTable,
  prices: Readonly<Record<Iso2, string>>,
  to: string,
  quantity: number,
  fallbackMicros: MicroUsd | undefined,
  what: { noun: string; field: string },
): Priced {
  if (typeof to !== 'string' || !isE164(to)) {
    return { ok: false, reason: `"to" must be an E.164 phone number such as +15551230000 to be priced` };
  }
  if (fallbackMicros !== undefined && (!Number.isSafeInteger(fallbackMicros) || fallbackMicros < 0)) {
    return { ok: false, reason: `the fallback ${what.noun} price must be a non-negative whole number of micro-USD` };
  }
  const q = BigInt(quantity);
  const match = matchCallingCode(to, table);
  if (match === undefined) {
    if (fallbackMicros === undefined) {
      return {
        ok: false,
        reason:
          `no country calling code in the Twilio price table (as_of ${table.as_of}) matches ${to.slice(0, 4)}…; ` +
          `the operator can add the country's calling code and ${what.noun} price to the table, or set a fallback ${what.noun} price`,
      };
    }
    return fromBig(BigInt(fallbackMicros) * q, UNKNOWN_COUNTRY, true);
  }
  let best: { big: bigint; country: string; usedFallback: boolean } | undefined;
  for (const country of match.countries) {
    let big: bigint | undefined;
    let usedFallback = false;
    if (Object.hasOwn(prices, country)) {
      const price = prices[country];
      big = price === undefined ? undefined : usdDecimalTimesToBigMicros(price, q);
      if (big === undefined) {
        return { ok: false, reason: `the Twilio price table's ${what.field}.${country} is not a decimal string` };
      }
    } else if (fallbackMicros !== undefined) {
      big = BigInt(fallbackMicros) * q;
      usedFallback = true;
    } else {
      return {
        ok: false,
        reason:
          `the Twilio price table (as_of ${table.as_of}) has no ${what.noun} price for ${country} (calling code +${match.prefix}); ` +
          `the operator can add ${what.field}.${country} to the table or set a fallback ${what.noun} price`,
      };
    }
    if (best === undefined || big > best.big) best = { big, country, usedFallback };
  }
  if (best === undefined) return { ok: false, reason: `calling code +${match.prefix} lists no country` };
  return fromBig(best.big, best.country, best.usedFallback);
}

function fromBig(big: bigint, country: string, usedFallback: boolean): Priced {
  const micros = bigMicrosToSafe(big);
  if (micros === undefined) return { ok: false, reason: 'the price is too large to count' };
  return { ok: true, micros, country, usedFallback };
}

export type SmsPrice =
  | {
      ok: true;
      micros: MicroUsd;
      country: string;
      /** segments billed: body segments for SMS, 1 for MMS */
      segments: number;
      encoding: SmsEncoding;
      kind: 'sms' | 'mms';
      /** true when the table had no price for the country and the fallback was used */
      usedFallback: boolean;
    }
  | { ok: false; reason: string };

/**
 * An outbound message. mediaCount > 0 is an MMS, priced per message at the `mms` price; otherwise
 * an SMS at segments x the `sms` per-segment price. `fallbackMicros` stands in for a missing
 * table price (per segment for SMS, per message for MMS). An MMS to a country with no MMS price is
 * refused unless a fallback is set (Twilio converts those to SMS + link; the table cannot tell).
 */
export function priceSms(
  table: TwilioPriceTable,
  input: { to: string; body: string; mediaCount: number; fallbackMicros?: MicroUsd },
): SmsPrice {
  const { mediaCount } = input;
  if (!Number.isSafeInteger(mediaCount) || mediaCount < 0) {
    return { ok: false, reason: `mediaCount must be a non-negative whole number, got ${String(mediaCount)}` };
  }
  if (typeof input.body !== 'string') return { ok: false, reason: 'body must be a string' };
  const count = countSmsSegments(input.body);
  const kind = mediaCount > 0 ? 'mms' : 'sms';
  const segments = kind === 'mms' ? 1 : count.segments;
  const priced = priceFor(
    table,
    kind === 'mms' ? table.mms : table.sms,
    input.to,
    segments,
    input.fallbackMicros,
    kind === 'mms' ? { noun: 'MMS', field: 'mms' } : { noun: 'SMS', field: 'sms' },
  );
  if (!priced.ok) return priced;
  return { ok: true, micros: priced.micros, country: priced.country, segments, encoding: count.encoding, kind, usedFallback: priced.usedFallback };
}

export type CallPrice =
  | { ok: true; micros: MicroUsd; country: string; minutes: number; usedFallback: boolean }
  | { ok: false; reason: string };

/**
 * The most an outbound call can cost: per-minute price x ceil(timeLimitSeconds / 60), at least one
 * minute (Twilio bills connected calls per started minute). Pass TWILIO_DEFAULT_CALL_TIME_LIMIT_SECONDS
 * when the request sets no TimeLimit.
 */
export function priceCall(
  table: TwilioPriceTable,
  input: { to: string; timeLimitSeconds: number; fallbackPerMinuteMicros?: MicroUsd },
): CallPrice {
  const t = input.timeLimitSeconds;
  if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0) {
    return { ok: false, reason: `timeLimitSeconds must be a positive number of seconds, got ${String(t)}` };
  }
  const minutes = Math.max(1, Math.ceil(t / 60));
  if (!Number.isSafeInteger(minutes)) return { ok: false, reason: `timeLimitSeconds is too large: ${t}` };
  const priced = priceFor(table, table.voice_per_minute, input.to, minutes, input.fallbackPerMinuteMicros, {
    noun: 'per-minute voice',
    field: 'voice_per_minute',
  });
  if (!priced.ok) return priced;
  return { ok: true, micros: priced.micros, country: priced.country, minutes, usedFallback: priced.usedFallback };
}

/**
 * Twilio Verify's fee per verification. Twilio also bills the channel (the SMS or call the
 * verification sends); price that separately with priceSms / priceCall if it must be reserved.
 */
export function priceVerification(table: TwilioPriceTable): MicroUsd {
  return usdDecimalToMicros(table.verify_per_verification);
}

export type DialedLegPrice =
  | { ok: true; micros: MicroUsd; perMinuteMicros: MicroUsd; minutes: number; country: string; usedFallback: boolean }
  | { ok: false; reason: string };

/**
 * The most a leg dialed from inside a call (TwiML `<Dial>`, which keyleash cannot see) can cost:
 * the dearest per-minute voice price the table knows, or the fallback price for destinations the
 * table lacks when that is dearer, × ceil(timeLimitSeconds / 60). Dialed legs run one at a time
 * inside the parent call, so one such leg over the parent's time limit bounds them all.
 */
export function priceDialedLeg(table: TwilioPriceTable, input: { timeLimitSeconds: number; fallbackPerMinuteMicros?: MicroUsd }): DialedLegPrice {
  const minutes = Math.max(1, Math.ceil(input.timeLimitSeconds / 60));
  if (!Number.isSafeInteger(minutes) || !(input.timeLimitSeconds > 0)) return { ok: false, reason: `timeLimitSeconds must be a positive number of seconds` };
  let dearest: { perMinute: bigint; country: string; usedFallback: boolean } | undefined;
  for (const [country, price] of Object.entries(table.voice_per_minute)) {
    const perMinute = usdDecimalTimesToBigMicros(price, 1n);
    if (perMinute === undefined) return { ok: false, reason: `the Twilio price table's voice_per_minute.${country} is not a decimal string` };
    if (dearest === undefined || perMinute > dearest.perMinute) dearest = { perMinute, country, usedFallback: false };
  }
  const fallback = input.fallbackPerMinuteMicros;
  if (fallback !== undefined && (dearest === undefined || BigInt(fallback) > dearest.perMinute)) dearest = { perMinute: BigInt(fallback), country: UNKNOWN_COUNTRY, usedFallback: true };
  if (dearest === undefined) return { ok: false, reason: 'the Twilio price table has no voice price at all, and no fallback voice price is set' };
  const micros = bigMicrosToSafe(dearest.perMinute * BigInt(minutes));
  const perMinuteMicros = bigMicrosToSafe(dearest.perMinute);
  if (micros === undefined || perMinuteMicros === undefined) return { ok: false, reason: 'the price is too large to count' };
  return { ok: true, micros, perMinuteMicros, minutes, country: dearest.country, usedFallback: dearest.usedFallback };
}
