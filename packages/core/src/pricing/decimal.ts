/**
 * Exact decimal-string arithmetic for prices and FX rates.
 *
 * Prices and rates live in tables as decimal strings ("0.0083", "3.25") so that no float ever
 * touches money. Everything here is BigInt; conversions to micro-USD round UP, because keyleash
 * reserves before it knows the final cost and must never under-count.
 */
import type { MicroUsd } from '../money.ts';

/** A non-negative decimal written plainly: no sign, no exponent, no leading zeros, <= 18 decimals. */
export const DECIMAL_STRING_PATTERN = /^(0|[1-9][0-9]*)(\.[0-9]{1,18})?$/;

/** value = units / 10^scale */
export interface ParsedDecimal {
  readonly units: bigint;
  readonly scale: number;
}

export function parseDecimalString(value: string): ParsedDecimal | undefined {
  if (typeof value !== 'string' || !DECIMAL_STRING_PATTERN.test(value)) return undefined;
  const [whole = '0', frac = ''] = value.split('.');
  return { units: BigInt(whole + frac), scale: frac.length };
}

/** ceil(numerator / denominator) for numerator >= 0, denominator > 0. */
export function ceilDivBigInt(numerator: bigint, denominator: bigint): bigint {
  if (denominator <= 0n) throw new RangeError('denominator must be positive');
  if (numerator < 0n) throw new RangeError('numerator must be non-negative');
  return (numerator + denominator - 1n) / denominator;
}

const MICROS_PER_USD_BIG = 1_000_000n;
const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

/** A BigInt micro-USD amount as a MicroUsd, or undefined if it is not a safe integer. */
export function bigMicrosToSafe(micros: bigint): MicroUsd | undefined {
  if (micros < 0n || micros > MAX_SAFE_BIG) return undefined;
  return Number(micros);
}

/**
 * ceil(quantity x usd x 1e6) as a BigInt, where `usd` is a decimal string of USD.
 * Returns undefined if `usd` is not a valid decimal string or quantity is negative.
 */
export function usdDecimalTimesToBigMicros(usd: string, quantity: bigint = 1n): bigint | undefined {
  const parsed = parseDecimalString(usd);
  if (parsed === undefined || quantity < 0n) return undefined;
  return ceilDivBigInt(quantity * parsed.units * MICROS_PER_USD_BIG, 10n ** BigInt(parsed.scale));
}

/**
 * A USD decimal string ("0.0083") to micro-USD, exactly, rounding UP any fraction of a micro-USD
 * ("0.0000001" -> 1). Throws RangeError on a malformed string or an unsafe result: table values are
 * validated by the table parsers first, so a throw here is a programming error.
 */
export function usdDecimalToMicros(usd: string, quantity: number | bigint = 1): MicroUsd {
  const q = typeof quantity === 'bigint' ? quantity : Number.isSafeInteger(quantity) ? BigInt(quantity) : -1n;
  const big = usdDecimalTimesToBigMicros(usd, q);
  if (big === undefined) throw new RangeError(`not a non-negative USD decimal string or quantity: ${JSON.stringify(usd)} x ${String(quantity)}`);
  const micros = bigMicrosToSafe(big);
  if (micros === undefined) throw new RangeError(`USD amount too large: ${usd} x ${String(quantity)}`);
  return micros;
}
