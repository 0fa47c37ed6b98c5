/**
 * The policy's `approval`: a priced call costing more than `above_usd` waits, with its cost reserved,
 * until a human approves or denies it or `timeout` passes. A child may lower the threshold and
 * shorten the timeout, never drop the approval or raise either.
 */
import { z } from 'zod';
import { parseDuration } from '../duration.ts';
import { formatUsd, microsToUsd, usdToMicros, type MicroUsd } from '../money.ts';
import { usdAmount } from '../usd-schema.ts';

/** The longest a call may wait: beyond it no SDK or load balancer keeps a request open. */
export const MAX_APPROVAL_TIMEOUT_MS = 3_600_000;

export const ApprovalSettingsSchema = z
  .object({
    above_usd: usdAmount,
    timeout: z.string().refine((text) => {
      const ms = parseDuration(text);
      return ms !== undefined && ms <= MAX_APPROVAL_TIMEOUT_MS;
    }, 'timeout is a duration like "60s" or "5m", at most 1h'),
  })
  .strict();
export type ApprovalSettingsJson = z.infer<typeof ApprovalSettingsSchema>;

export interface ApprovalSettings {
  aboveMicros: MicroUsd;
  timeoutMs: number;
}

export function approvalSettingsFromJson(json: ApprovalSettingsJson): ApprovalSettings {
  return { aboveMicros: usdToMicros(json.above_usd), timeoutMs: parseDuration(json.timeout)! };
}

export function approvalSettingsToJson(settings: ApprovalSettings): { above_usd: number; timeout: string } {
  return { above_usd: microsToUsd(settings.aboveMicros), timeout: `${Math.round(settings.timeoutMs / 1000)}s` };
}

/** Why a child's approval settings are looser than its parent's, if they are. */
export function approvalWidenings(parent: ApprovalSettings | undefined, child: ApprovalSettings | undefined): string[] {
  if (!parent) return [];
  if (!child) return ['approval: the parent holds calls for approval, so a child cannot drop it; omit "approval" to inherit it'];
  const problems: string[] = [];
  if (child.aboveMicros > parent.aboveMicros) problems.push(`approval.above_usd: ${formatUsd(child.aboveMicros)} is above the parent's ${formatUsd(parent.aboveMicros)}`);
  if (child.timeoutMs > parent.timeoutMs) problems.push(`approval.timeout: ${child.timeoutMs / 1000}s is longer than the parent's ${parent.timeoutMs / 1000}s`);
  return problems;
}
