/**
 * The pipeline's two rule checks, over the presenting key and every ancestor (a child inherits its
 * parent's rules and derivation only lets it tighten them; judging the whole chain here means no
 * derivation slip could ever loosen one): parameters before pricing, the per-call maximum after it.
 */
import { findCostViolation, findParamViolation, refusal, type MicroUsd, type Refusal, type RuleViolation, type VaultKeyRecord } from '@keyleash/core';
import type { InboundRequest } from '../vendors/vendor.ts';
import { requestParamReader } from './request-params.ts';

function ruleRefusal(violation: RuleViolation, owner: VaultKeyRecord, presenting: VaultKeyRecord): Refusal {
  const whose = owner.id === presenting.id ? `vault key ${owner.id}` : `its ancestor key ${owner.id}`;
  return refusal(
    'keyleash_rule_violation',
    `Refused: ${violation.reason}, which breaks ${violation.rule} of ${whose}. Nothing was sent. Do not retry with this value; this key cannot make this call.`,
    { key_id: owner.id, rule: violation.rule, parameter: violation.subject, offending_value: violation.offending },
  );
}

export function checkParameterRules(chain: readonly VaultKeyRecord[], inbound: InboundRequest, segments: readonly string[]): Refusal | undefined {
  if (!chain.some((key) => key.policy.rules?.length)) return undefined;
  const read = requestParamReader(inbound);
  for (const key of chain) {
    const violation = findParamViolation(key.policy.rules ?? [], inbound.method, segments, read, key.policy.metadata);
    if (violation) return ruleRefusal(violation, key, chain[0]!);
  }
  return undefined;
}

export function checkCostRules(chain: readonly VaultKeyRecord[], method: string, segments: readonly string[], costMicros: MicroUsd): Refusal | undefined {
  for (const key of chain) {
    const violation = findCostViolation(key.policy.rules ?? [], method, segments, costMicros);
    if (violation) return ruleRefusal(violation, key, chain[0]!);
  }
  return undefined;
}
