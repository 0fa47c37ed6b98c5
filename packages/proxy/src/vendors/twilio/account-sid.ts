/**
 * The account SID an agent never needs nor learns. The 2010 API names the account in every path
 * (`/2010-04-01/Accounts/{AC…}/Messages.json`); agents use the placeholder `AC` + 32 zeros (the real
 * SID works too), keyleash forwards the real one, and every answer names the placeholder again.
 * Any other account in a path (a subaccount, someone else's) is refused: a vault key acts for the
 * operator's account only.
 */
import { TWILIO_PLACEHOLDER_ACCOUNT_SID } from '@keyleash/core';

const ACCOUNT_SEGMENT = /^(AC[0-9a-f]{32})(\.(?:json|xml|csv))?$/i;

export type AccountPaths = { ok: true; canonical: string[]; upstream: string[] } | { ok: false; account: string };

/**
 * `segments` with each `Accounts/{sid}` segment as the allowlist sees it (the placeholder) and as
 * Twilio must receive it (the real SID). Segments are compared case-insensitively (hex SIDs).
 */
export function resolveAccountSegments(segments: readonly string[], realSid: string): AccountPaths {
  const canonical = [...segments];
  const upstream = [...segments];
  for (let i = 1; i < segments.length; i++) {
    // compared without case: a server that matched paths case-insensitively must not open another account
    if (segments[i - 1]!.toLowerCase() !== 'accounts') continue;
    const match = ACCOUNT_SEGMENT.exec(segments[i]!);
    if (!match) continue;
    const sid = match[1]!.toUpperCase();
    const extension = match[2] ?? '';
    if (sid !== TWILIO_PLACEHOLDER_ACCOUNT_SID.toUpperCase() && sid !== realSid.toUpperCase()) return { ok: false, account: match[1]! };
    canonical[i] = `${TWILIO_PLACEHOLDER_ACCOUNT_SID}${extension}`;
    upstream[i] = `${realSid}${extension}`;
  }
  return { ok: true, canonical, upstream };
}

const TEXTUAL = /^(application\/(?:[a-z.+-]*\+)?(?:json|xml)|text\/[a-z.+-]+)$/;
const REDACTED = '[redacted by keyleash]';

/**
 * An answer's body as the agent may see it: the real account SID replaced by the placeholder (in
 * `uri`, `next_page_uri`, `subresource_uris`, `account_sid`, error messages, …), and no secret:
 * the configured auth token / API key secret wherever it appears, and every `auth_token` field (the
 * Account resource and subaccount listings carry one). Bodies that are not text pass unchanged.
 */
export function rewriteTwilioBody(body: Buffer, contentType: string | undefined, realSid: string, secrets: readonly string[]): Buffer {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (!TEXTUAL.test(type) || body.length === 0) return body;
  let text = body.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(body)) return body;
  text = text.replace(new RegExp(realSid, 'gi'), TWILIO_PLACEHOLDER_ACCOUNT_SID);
  for (const secret of secrets) if (secret.length >= 8) text = text.split(secret).join(REDACTED);
  text = text.replace(/("auth_token"\s*:\s*)"[^"]*"/g, `$1"${REDACTED}"`).replace(/<AuthToken>[^<]*<\/AuthToken>/g, `<AuthToken>${REDACTED}</AuthToken>`);
  return Buffer.from(text, 'utf8');
}
