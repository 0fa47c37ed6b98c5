import { formatUsd, microsToUsd, refusal, type AdmissionRefusal, type Refusal } from '@keyleash/core';

/**
 * The store's refusal, as a sentence a model can act on: what, the numbers, what to do. `label`:
 * what the request was priced as, when that explains its cost (e.g. the increase of an object).
 */
export function describeAdmissionRefusal(refused: AdmissionRefusal, presentingKeyId: string, label?: string): Refusal {
  const whose = refused.keyId === presentingKeyId ? `vault key ${refused.keyId}` : `its ancestor key ${refused.keyId}`;
  switch (refused.kind) {
    case 'unknown_key':
      return refusal('keyleash_unknown_key', `Refused: vault key ${refused.keyId} no longer exists. Do not retry.`);
    case 'revoked':
      return refusal('keyleash_key_revoked', `Refused: ${whose} has been revoked. Do not retry; ask for a new key.`, { key_id: refused.keyId });
    case 'expired':
      return refusal('keyleash_key_expired', `Refused: ${whose} has expired. Do not retry; ask for a new key.`, { key_id: refused.keyId });
    case 'rate_limited':
      return refusal(
        'keyleash_rate_limited',
        `Refused: ${whose} allows ${refused.limitPerMinute} requests per minute and that limit is reached. Wait for the next minute before trying again.`,
        { key_id: refused.keyId, requests_per_minute: refused.limitPerMinute },
      );
    case 'daily_cap':
    case 'total_cap': {
      const which = refused.kind === 'daily_cap' ? 'daily' : 'lifetime';
      const period = refused.kind === 'daily_cap' ? ' today (UTC)' : '';
      const remaining = Math.max(refused.capMicros - refused.spentMicros, 0);
      return refusal(
        refused.kind === 'daily_cap' ? 'keyleash_daily_cap_reached' : 'keyleash_total_cap_reached',
        `Refused: spend cap reached. This request${label ? ` (${label})` : ''} costs ${formatUsd(refused.requestedMicros)}, but ${whose} has a ${which} cap of ${formatUsd(refused.capMicros)} and has spent ${formatUsd(refused.spentMicros)}${period} (${formatUsd(remaining)} left). Nothing was sent. Do not retry.`,
        {
          key_id: refused.keyId,
          cap_usd: microsToUsd(refused.capMicros),
          spent_usd: microsToUsd(refused.spentMicros),
          requested_usd: microsToUsd(refused.requestedMicros),
          remaining_usd: microsToUsd(remaining),
        },
      );
    }
  }
}
