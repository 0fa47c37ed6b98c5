/**
 * The issue form's state and its translation into the API's request body. Validation is NOT done
 * here: the body goes through `IssueKeyRequest`, the very zod schema the API parses it with.
 */
import { describeIssues, IssueKeyRequest } from '@keyleash/core';

export interface IssueForm {
  vendor: 'stripe' | 'twilio';
  dailyCap: string;
  noDailyCap: boolean;
  totalCap: string;
  endpoints: string;
  expiryMode: 'in' | 'at';
  expiresIn: string;
  expiresAt: string;
  rateLimit: string;
  metadata: { name: string; value: string }[];
  unpriced: string;
  stripeAccounts: string;
  /** twilio keys only: see `twilio` in the policy schema */
  twilio: { callTimeLimitSeconds: string; smsPerSegment: string; mmsPerMessage: string; voicePerMinute: string };
}

export const EMPTY_FORM: IssueForm = {
  vendor: 'stripe',
  dailyCap: '',
  noDailyCap: false,
  totalCap: '',
  endpoints: '',
  expiryMode: 'in',
  expiresIn: '24h',
  expiresAt: '',
  rateLimit: '',
  metadata: [
    { name: 'role', value: '' },
    { name: 'customer_id', value: '' },
    { name: 'run_id', value: '' },
  ],
  unpriced: '',
  stripeAccounts: '',
  twilio: { callTimeLimitSeconds: '', smsPerSegment: '', mmsPerMessage: '', voicePerMinute: '' },
};

/** a number when the text is one; otherwise the text itself, so the schema names the problem */
function amount(text: string): number | string {
  const trimmed = text.trim();
  return trimmed !== '' && Number.isFinite(Number(trimmed)) ? Number(trimmed) : trimmed;
}

const lines = (text: string) => text.split('\n').map((l) => l.trim()).filter(Boolean);

/** Problems the form itself finds before the schema can see the field (e.g. an unreadable line). */
export interface FormBody {
  body: Record<string, unknown>;
  formProblems: { field: string; message: string }[];
}

export function formToBody(form: IssueForm): FormBody {
  const formProblems: FormBody['formProblems'] = [];
  const body: Record<string, unknown> = {
    vendor: form.vendor,
    daily_usd_cap: form.noDailyCap ? null : form.dailyCap.trim() === '' ? undefined : amount(form.dailyCap),
    allowed_endpoints: lines(form.endpoints),
  };
  if (form.totalCap.trim() !== '') body.total_usd_cap = amount(form.totalCap);
  if (form.expiryMode === 'in') body.expires_in = form.expiresIn.trim();
  else if (form.expiresAt) {
    const at = new Date(form.expiresAt); // datetime-local: the browser's local time
    body.expires_at = Number.isNaN(at.getTime()) ? form.expiresAt : at.toISOString();
  } else body.expires_at = '';
  if (form.rateLimit.trim() !== '') body.rate_limit = { requests_per_minute: amount(form.rateLimit) };

  const metadata: Record<string, string> = {};
  for (const { name, value } of form.metadata) {
    if (name.trim() === '' && value.trim() === '') continue;
    if (value.trim() === '' && EMPTY_FORM.metadata.some((m) => m.name === name.trim())) continue; // an unused suggested field
    if (name.trim() === '') formProblems.push({ field: 'metadata', message: `metadata: the value "${value}" needs a field name` });
    else metadata[name.trim()] = value.trim();
  }
  if (Object.keys(metadata).length > 0) body.metadata = metadata;

  const unpriced: Record<string, 'free' | number | string> = {};
  for (const line of lines(form.unpriced)) {
    const at = line.lastIndexOf('=');
    if (at === -1) {
      formProblems.push({ field: 'unpriced', message: `unpriced: "${line}" is not "METHOD /path = free" or "METHOD /path = 0.50"` });
      continue;
    }
    const price = line.slice(at + 1).trim();
    unpriced[line.slice(0, at).trim()] = price === 'free' ? 'free' : amount(price);
  }
  if (Object.keys(unpriced).length > 0) body.unpriced = unpriced;

  if (form.vendor === 'twilio') {
    const twilio: Record<string, number | string> = {};
    const t = form.twilio;
    if (t.callTimeLimitSeconds.trim()) twilio.default_call_time_limit_seconds = amount(t.callTimeLimitSeconds);
    if (t.smsPerSegment.trim()) twilio.fallback_sms_usd_per_segment = amount(t.smsPerSegment);
    if (t.mmsPerMessage.trim()) twilio.fallback_mms_usd_per_message = amount(t.mmsPerMessage);
    if (t.voicePerMinute.trim()) twilio.fallback_voice_usd_per_minute = amount(t.voicePerMinute);
    if (Object.keys(twilio).length > 0) body.twilio = twilio;
  }

  const accounts = form.stripeAccounts.split(/[\s,]+/).filter(Boolean);
  if (form.vendor === 'stripe' && accounts.length > 0) body.stripe_accounts = accounts;
  return { body, formProblems };
}

export interface Validation {
  ok: boolean;
  /** top-level field -> its problems, as sentences */
  byField: Map<string, string[]>;
  all: string[];
  body: Record<string, unknown>;
}

export function validate(form: IssueForm): Validation {
  const { body, formProblems } = formToBody(form);
  const parsed = IssueKeyRequest.safeParse(body);
  const byField = new Map<string, string[]>();
  const add = (field: string, message: string) => byField.set(field, [...(byField.get(field) ?? []), message]);
  for (const p of formProblems) add(p.field, p.message);
  const all = formProblems.map((p) => p.message);
  if (!parsed.success) {
    const sentences = describeIssues(parsed.error);
    parsed.error.issues.forEach((issue, i) => add(String(issue.path[0] ?? 'body'), sentences[i]!));
    all.push(...sentences);
  }
  return { ok: all.length === 0, byField, all, body };
}
