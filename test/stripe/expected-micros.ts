import { DEFAULT_FX_TABLE } from '../../packages/core/src/pricing/default-fx-table.ts';

/**
 * micro-USD of a Stripe amount, computed independently of keyleash: amount / 10^exponent major
 * units x the table's USD rate, rounded up to a whole micro-USD, all in exact integers.
 */
export function expectedMicros(amountMinor: number, currency: string, exponent: number): bigint {
  const rate = DEFAULT_FX_TABLE.usd_per_unit[currency as keyof typeof DEFAULT_FX_TABLE.usd_per_unit];
  const [whole, fraction = ''] = rate.split('.');
  const rateScaled = BigInt(`${whole}${fraction}`); // rate x 10^fraction.length
  const numerator = BigInt(amountMinor) * rateScaled * 1_000_000n;
  const denominator = 10n ** BigInt(exponent + fraction.length);
  return (numerator + denominator - 1n) / denominator;
}
