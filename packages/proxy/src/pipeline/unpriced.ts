import { anyPatternMatches, formatUsd, refusal, type EndpointPattern, type Refusal, type VaultKeyRecord } from '@keyleash/core';

export type UnpricedDecision = { ok: true; micros: number; label: string } | { ok: false; refusal: Refusal };

/**
 * An endpoint that can move money but has no formula: counted at the policy's fixed price, or
 * as free if the policy says so, or at zero under a key tree with no cap anywhere (its spend is
 * unbounded by choice); refused under any capped key otherwise.
 */
export function decideUnpriced(
  chain: readonly VaultKeyRecord[],
  unpricedPatterns: readonly { pattern: EndpointPattern; price: 'free' | number }[],
  method: string,
  segments: readonly string[],
  label: string,
  policyPattern?: string,
): UnpricedDecision {
  for (const { pattern, price } of unpricedPatterns) {
    if (anyPatternMatches([pattern], method, segments)) {
      return { ok: true, micros: price === 'free' ? 0 : price, label: `${label} (policy: ${price === 'free' ? 'free' : formatUsd(price)} per call)` };
    }
  }
  const capped = chain.find((key) => key.policy.dailyCapMicros !== null || key.policy.totalCapMicros !== null);
  if (!capped) return { ok: true, micros: 0, label: `${label} (unpriced, key tree has no cap)` };
  return {
    ok: false,
    refusal: refusal(
      'keyleash_unpriced_endpoint',
      `Refused: ${label} can move money but keyleash has no price for it, and vault key ${capped.id} has a spend cap. Do not retry; ${howToAllow(policyPattern)}`,
    ),
  };
}

function howToAllow(policyPattern: string | undefined): string {
  if (policyPattern === undefined) return 'an operator can allow it by adding it to the key\'s "unpriced" policy with a fixed price or "free".';
  const entry = JSON.stringify({ [policyPattern]: 'free' });
  return `an operator can allow it by adding "unpriced": ${entry} to the key's policy (or a fixed USD price per call in place of "free", e.g. 25, to count each call at that price).`;
}
