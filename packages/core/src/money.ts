/**
 * Money inside keyleash is an integer number of micro-USD (1e-6 USD), never a float.
 * A JS number holds integers exactly up to 2^53, i.e. about 9 billion USD in micro-USD,
 * which is far beyond any cap; every constructor below checks it stays a safe integer.
 */
export type MicroUsd = number;

export const MICROS_PER_USD = 1_000_000;

/** USD as written in a policy (e.g. 5000, 12.5, 0.000001) to micro-USD, exactly. */
export function usdToMicros(usd: number): MicroUsd {
  if (!Number.isFinite(usd) || usd < 0) throw new RangeError(`not a non-negative USD amount: ${usd}`);
  // Go through the decimal string so 0.1 + 0.2 style float noise cannot leak in.
  const [whole = '0', frac = ''] = usd.toFixed(7).split('.');
  const fraction7 = frac.padEnd(7, '0');
  if (fraction7[6] !== '0') throw new RangeError(`USD amounts have at most 6 decimals: ${usd}`);
  const micros = Number(whole) * MICROS_PER_USD + Number(fraction7.slice(0, 6));
  if (!Number.isSafeInteger(micros)) throw new RangeError(`USD amount too large: ${usd}`);
  return micros;
}

/** micro-USD to USD for display and JSON (never used for arithmetic). */
export function microsToUsd(micros: MicroUsd): number {
  return micros / MICROS_PER_USD;
}

/** "$1,234.56" style rendering for messages a human or a model reads. */
export function formatUsd(micros: MicroUsd): string {
  const usd = micros / MICROS_PER_USD;
  const digits = micros % 10_000 === 0 ? 2 : 6;
  return `$${usd.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: digits })}`;
}
