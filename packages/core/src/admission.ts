/**
 * The admission rule, shared by every store: given the current state of each key in a chain
 * (read under the store's lock), may a request costing `amountMicros` go ahead? Pure, so the
 * SQLite and PostgreSQL stores cannot disagree about it.
 */
import type { MicroUsd } from './money.ts';
import type { AdmissionRefusal } from './store.ts';

export interface ChainLinkState {
  id: string;
  revokedAt: number | null;
  expiresAt: number;
  dailyCapMicros: MicroUsd | null;
  totalCapMicros: MicroUsd | null;
  rateLimitPerMinute: number | null;
  /** spend counted today against this key (its own and its descendants') */
  dailySpentMicros: MicroUsd;
  totalSpentMicros: MicroUsd;
  /** requests admitted in the current fixed one-minute window */
  requestsThisMinute: number;
}

export const RATE_WINDOW_MS = 60_000;

export function rateWindowStart(now: number): number {
  return Math.floor(now / RATE_WINDOW_MS) * RATE_WINDOW_MS;
}

/** Checks every link (presenting key first); the first failing check names the key that refused. */
export function checkAdmission(chain: readonly ChainLinkState[], amountMicros: MicroUsd, now: number): AdmissionRefusal | undefined {
  for (const link of chain) {
    if (link.revokedAt !== null) return { kind: 'revoked', keyId: link.id };
    if (link.expiresAt <= now) return { kind: 'expired', keyId: link.id };
  }
  for (const link of chain) {
    if (link.rateLimitPerMinute !== null && link.requestsThisMinute + 1 > link.rateLimitPerMinute) {
      return { kind: 'rate_limited', keyId: link.id, limitPerMinute: link.rateLimitPerMinute };
    }
  }
  // A request that costs nothing (a read, an idempotent replay) is never refused for money, even
  // when settlement has pushed a key slightly past its cap.
  if (amountMicros === 0) return undefined;
  for (const link of chain) {
    if (link.dailyCapMicros !== null && link.dailySpentMicros + amountMicros > link.dailyCapMicros) {
      return { kind: 'daily_cap', keyId: link.id, capMicros: link.dailyCapMicros, spentMicros: link.dailySpentMicros, requestedMicros: amountMicros };
    }
    if (link.totalCapMicros !== null && link.totalSpentMicros + amountMicros > link.totalCapMicros) {
      return { kind: 'total_cap', keyId: link.id, capMicros: link.totalCapMicros, spentMicros: link.totalSpentMicros, requestedMicros: amountMicros };
    }
  }
  return undefined;
}
