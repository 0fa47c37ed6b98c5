import type { ParameterRuleJson } from '@keyleash/core';
import { usd } from '../format.ts';

function constraintText(constraint: NonNullable<ParameterRuleJson['params']>[string]): string {
  if (typeof constraint === 'string') return `= ${constraint}`;
  if (Array.isArray(constraint)) return `one of ${constraint.join(', ')}`;
  return `starts with ${constraint.prefix.join(' or ')}`;
}

/** A key's parameter rules, one line per rule: its endpoint, then every constraint it holds a request to. */
export function RulesList({ rules }: { rules: ParameterRuleJson[] }) {
  return (
    <ul class="plain rules">
      {rules.map((rule, index) => (
        <li key={index} data-rule={index}>
          <span class="mono">{rule.endpoint}</span>
          {rule.max_usd_per_call !== undefined && <span> · at most {usd(rule.max_usd_per_call)} per call</span>}
          {rule.currencies && <span> · currency {rule.currencies.join(', ')}</span>}
          {Object.entries(rule.params ?? {}).map(([name, constraint]) => (
            <span key={name}> · <span class="mono">{name}</span> {constraintText(constraint)}</span>
          ))}
        </li>
      ))}
    </ul>
  );
}
