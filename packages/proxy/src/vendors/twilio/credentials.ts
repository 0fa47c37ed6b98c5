/**
 * The real Twilio credentials (from the proxy's environment, never logged) and the vault key as
 * twilio-node presents it (HTTP Basic: username `vk_<id>`, password `<secret>`; see
 * @keyleash/core twilio-credentials.ts).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { vaultKeyFromTwilioBasic } from '@keyleash/core';
import type { VendorSecrets } from '../vendor.ts';

export const TWILIO_SECRET_ENV = ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_API_KEY_SID', 'TWILIO_API_KEY_SECRET'] as const;

const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;

/**
 * TWILIO_ACCOUNT_SID (always: it goes in the paths) and either an API key
 * (TWILIO_API_KEY_SID + TWILIO_API_KEY_SECRET, preferred when both are set: it can be revoked on
 * its own) or TWILIO_AUTH_TOKEN. Anything less is "not configured".
 */
export function readTwilioSecrets(env: Readonly<Record<string, string | undefined>>): VendorSecrets | undefined {
  const accountSid = env.TWILIO_ACCOUNT_SID?.trim();
  if (!accountSid || !ACCOUNT_SID.test(accountSid)) return undefined;
  const keySid = env.TWILIO_API_KEY_SID?.trim();
  const keySecret = env.TWILIO_API_KEY_SECRET;
  if (keySid && keySecret) return { TWILIO_ACCOUNT_SID: accountSid, TWILIO_API_KEY_SID: keySid, TWILIO_API_KEY_SECRET: keySecret };
  const token = env.TWILIO_AUTH_TOKEN;
  if (token) return { TWILIO_ACCOUNT_SID: accountSid, TWILIO_AUTH_TOKEN: token };
  return undefined;
}

export function twilioAuthorization(secrets: VendorSecrets): string {
  const username = secrets.TWILIO_API_KEY_SID ?? secrets.TWILIO_ACCOUNT_SID!;
  const password = secrets.TWILIO_API_KEY_SECRET ?? secrets.TWILIO_AUTH_TOKEN!;
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** the secret values an answer must never show an agent */
export function secretValues(secrets: VendorSecrets): string[] {
  return [secrets.TWILIO_AUTH_TOKEN, secrets.TWILIO_API_KEY_SECRET].filter((value): value is string => value !== undefined);
}

export function vaultKeyFromBasic(headers: IncomingHttpHeaders): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(headers.authorization ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return vaultKeyFromTwilioBasic(decoded.slice(0, colon), decoded.slice(colon + 1));
}
