import { z } from 'zod';
import { usdToMicros } from './money.ts';

function isExactUsd(usd: number): boolean {
  try {
    usdToMicros(usd);
    return true;
  } catch {
    return false;
  }
}

/** A USD amount in a policy: non-negative, whole micro-USD. */
export const usdAmount = z.number().nonnegative().max(1e9).refine(isExactUsd, { message: 'USD amounts have at most 6 decimals' });
