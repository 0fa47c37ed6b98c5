import type { IncomingMessage, ServerResponse } from 'node:http';
import { approvalToJson, type ApprovalStatus, type Store } from '@keyleash/core';
import { decideApproval } from '../approvals/approval-decisions.ts';
import { ApiError, sendJson } from './http-json.ts';

const STATUSES: ApprovalStatus[] = ['pending', 'approved', 'forwarded', 'denied', 'timed_out', 'abandoned'];

/**
 * `GET /api/approvals[?status=pending]`, `POST /api/approvals/{id}/approve`, `POST /api/approvals/{id}/deny`
 * (the caller has checked the admin token). Returns false for any other path.
 */
export async function handleApprovalRoutes(req: IncomingMessage, res: ServerResponse, parts: string[], url: URL, store: Store, now: number): Promise<boolean> {
  const method = req.method ?? 'GET';
  if (parts.length === 1 && method === 'GET') {
    const status = url.searchParams.get('status');
    if (status !== null && !STATUSES.includes(status as ApprovalStatus)) throw new ApiError(400, 'invalid_filter', `"status" is one of ${STATUSES.join(', ')}`);
    const approvals = await store.approvals.listApprovals({ ...(status ? { status: status as ApprovalStatus } : {}), limit: 1000 });
    sendJson(res, 200, { data: approvals.map(approvalToJson) });
    return true;
  }
  if (parts.length === 3 && method === 'POST' && (parts[2] === 'approve' || parts[2] === 'deny')) {
    const decision = await decideApproval(store, parts[1]!, parts[2] === 'approve' ? 'approved' : 'denied', now);
    if (!decision.ok) {
      const code = decision.status === 404 ? 'approval_not_found' : 'approval_already_decided';
      sendJson(res, decision.status, { error: { code, message: decision.message }, ...(decision.approval ? { approval: approvalToJson(decision.approval) } : {}) });
      return true;
    }
    sendJson(res, 200, approvalToJson(decision.approval));
    return true;
  }
  return false;
}
