import { alertToJson, type AlertJson, type Store } from '@keyleash/core';
import { ApiError } from './http-json.ts';

/** `GET /api/alerts?vault_key_id=&kind=&limit=`: recorded alerts, newest first. */
export async function listAlertsJson(store: Store, query: URLSearchParams): Promise<{ data: AlertJson[] }> {
  const limit = Number(query.get('limit') ?? 100);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new ApiError(400, 'invalid_filter', '"limit" is a whole number from 1 to 10000');
  const kind = query.get('kind');
  if (kind !== null && kind !== 'spend_threshold' && kind !== 'approval_pending') throw new ApiError(400, 'invalid_filter', '"kind" is spend_threshold or approval_pending');
  const alerts = await store.alerts.listAlerts({ ...(query.get('vault_key_id') ? { keyId: query.get('vault_key_id')! } : {}), ...(kind ? { kind } : {}), limit });
  return { data: alerts.map(alertToJson) };
}
