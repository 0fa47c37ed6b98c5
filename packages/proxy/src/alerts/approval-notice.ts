import { approvalToJson, utcDay, type AlertSettings, type ApprovalRecord, type Store, type VaultKeyRecord } from '@keyleash/core';

/**
 * A call waiting for approval is announced on the same webhook as the key's spend alerts (its
 * policy's, else the server-wide one), once per approval, through the same signed, retried outbox.
 */
export async function recordApprovalNotice(
  store: Store,
  defaults: AlertSettings | undefined,
  key: VaultKeyRecord,
  approval: ApprovalRecord,
  wake: () => void,
): Promise<void> {
  const webhookUrl = (key.policy.alerts ?? defaults)?.webhookUrl ?? null;
  const id = `alt_${approval.id.slice(4)}`;
  const recorded = await store.alerts.recordAlerts([
    {
      id,
      dedupeKey: `approval:${approval.id}`,
      kind: 'approval_pending',
      keyId: key.id,
      day: utcDay(approval.createdAt),
      threshold: null,
      webhookUrl,
      createdAt: approval.createdAt,
      payload: {
        id,
        type: 'approval.pending',
        created_at: new Date(approval.createdAt).toISOString(),
        data: { ...approvalToJson(approval), approve: `POST /api/approvals/${approval.id}/approve`, deny: `POST /api/approvals/${approval.id}/deny` },
      },
    },
  ]);
  if (recorded.some((alert) => alert.webhookUrl !== null)) wake();
}
