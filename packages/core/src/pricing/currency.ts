/**
 * Stripe currency exponents, dated FX tables, and Stripe minor-unit amounts -> micro-USD.
 *
 * Exponents follow Stripe's API (https://docs.stripe.com/currencies), not ISO 4217, because the
 * amounts we price are the `amount` fields of Stripe requests:
 *
 * - zero-decimal: bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf
 * - three-decimal: bhd jod kwd omr tnd (Stripe requires the last digit to be 0; not our concern)
 * - everything else: two-decimal.
 *
 * Special cases, and what keyleash chose:
 * - ISK: ISO says 0 decimals, but Stripe's API keeps it two-decimal for backwards compatibility
 *   ("to charge 5 ISK, provide an amount value of 500"). We use 2, as the API does.
 * - HUF, TWD: two-decimal for charges; zero-decimal only for payout amounts, which must be
 *   divisible by 100 but are still written in the two-decimal minor unit. We use 2.
 * - UGX: Stripe's page lists UGX as zero-decimal AND, in its special cases, says it is written
 *   two-decimal like ISK. The two readings differ by 100x. keyleash reserves before the vendor
 *   answers and must never under-count, so it uses 0 (an `amount` of N is valued as N UGX): if
 *   Stripe reads it two-decimal, we over-reserve 100x (a refusal at worst, never an overspend);
 *   settlement uses Stripe's answer.
 */
import { z } from 'zod';
import type { MicroUsd } from '../money.ts';
import { bigMicrosToSafe, ceilDivBigInt, parseDecimalString } from './decimal.ts';
import { asOfSchema, decimalStringSchema, keyedRecord, sourceSchema, tableProblems } from './table-schema.ts';

export const STRIPE_ZERO_DECIMAL_CURRENCIES: ReadonlySet<string> = new Set([
  'bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf',
]);

export const STRIPE_THREE_DECIMAL_CURRENCIES: ReadonlySet<string> = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);

/** Decimal places of a currency's minor unit as Stripe's API writes amounts (case-insensitive). */
export function currencyExponent(currency: string): number {
  const code = currency.toLowerCase();
  if (STRIPE_ZERO_DECIMAL_CURRENCIES.has(code)) return 0;
  if (STRIPE_THREE_DECIMAL_CURRENCIES.has(code)) return 3;
  return 2;
}

/**
 * A dated FX table: the USD value of ONE major unit of each currency, as a decimal string
 * (jpy "0.0066", kwd "3.25", eur "1.08"). Codes are lowercase ISO 4217, as Stripe writes them.
 * USD is always worth exactly 1 and need not be listed.
 */
export interface FxTable {
  readonly as_of: string;
  readonly source: string;
  readonly usd_per_unit: Readonly<Record<string, string>>;
  readonly notes?: string;
}

const CURRENCY_CODE = /^[a-z]{3}$/;

const fxTableSchema = z.strictObject({
  as_of: asOfSchema,
  source: sourceSchema,
  usd_per_unit: keyedRecord(
    decimalStringSchema('an FX rate (USD per one major unit)', { positive: true }),
    CURRENCY_CODE,
    'currency codes are lowercase 3-letter ISO 4217 codes, e.g. "eur"',
  ),
  notes: z.string().optional(),
});

/** USD is worth 1 USD: a table that says otherwise is refused (checked even when other fields fail). */
function usdRateProblems(json: unknown): string[] {
  if (typeof json !== 'object' || json === null) return [];
  const rates: unknown = (json as { usd_per_unit?: unknown }).usd_per_unit;
  if (typeof rates !== 'object' || rates === null || !Object.hasOwn(rates, 'usd')) return [];
  const usd: unknown = (rates as Record<string, unknown>)['usd'];
  const d = typeof usd === 'string' ? parseDecimalString(usd) : undefined;
  if (d === undefined || d.units === 10n ** BigInt(d.scale)) return [];
  return ['fx_table.usd_per_unit.usd: must be "1" (or be left out): 1 USD is worth 1 USD'];
}

export type ParseTableResult<T> = { ok: true; table: T } | { ok: false; problems: string[] };

/** Validate an operator-supplied FX table (parsed JSON). */
export function parseFxTable(json: unknown): ParseTableResult<FxTable> {
  const result = fxTableSchema.safeParse(json);
  const problems = [...(result.success ? [] : tableProblems(result.error, 'fx_table')), ...usdRateProblems(json)];
  if (!result.success || problems.length > 0) return { ok: false, problems };
  return { ok: true, table: result.data };
}

/** Same as parseFxTable (the name the loaders use). */
export const loadFxTable = parseFxTable;

export type MicrosResult = { ok: true; micros: MicroUsd } | { ok: false; reason: string };

/**
 * A Stripe `amount` (minor units of `currency`) in micro-USD:
 * ceil(amountMinor x usd_per_unit / 10^exponent x 1e6), exact BigInt arithmetic, rounded UP.
 * 2000 usd -> 20_000_000; 1000 jpy at "0.0066" -> 6_600_000; 1500 kwd at "3.25" -> 4_875_000.
 */
export function minorAmountToMicros(amountMinor: number | bigint, currency: string, fx: FxTable): MicrosResult {
  let amount: bigint;
  if (typeof amountMinor === 'bigint') {
    amount = amountMinor;
  } else if (typeof amountMinor === 'number' && Number.isSafeInteger(amountMinor)) {
    amount = BigInt(amountMinor);
  } else {
    return { ok: false, reason: `amount must be a whole number of the currency's minor unit, got ${String(amountMinor)}` };
  }
  if (amount < 0n) return { ok: false, reason: `amount must not be negative, got ${amount}` };

  const code = typeof currency === 'string' ? currency.toLowerCase() : '';
  if (!CURRENCY_CODE.test(code)) {
    return { ok: false, reason: `currency ${JSON.stringify(currency)} is not a 3-letter ISO 4217 code` };
  }
  const rate = code === 'usd' ? '1' : Object.hasOwn(fx.usd_per_unit, code) ? fx.usd_per_unit[code] : undefined;
  if (rate === undefined) {
    return {
      ok: false,
      reason: `currency "${code}" is not in the FX table (as_of ${fx.as_of}); the operator can add it to the FX table's usd_per_unit`,
    };
  }
  const parsed = parseDecimalString(rate);
  if (parsed === undefined) {
    return { ok: false, reason: `the FX table's rate for "${code}" is not a decimal string: ${JSON.stringify(rate)}` };
  }
  const exponent = currencyExponent(code);
  const big = ceilDivBigInt(amount * parsed.units * 1_000_000n, 10n ** BigInt(exponent + parsed.scale));
  const micros = bigMicrosToSafe(big);
  if (micros === undefined) return { ok: false, reason: `amount ${amount} ${code} is too large to price` };
  return { ok: true, micros };
}
