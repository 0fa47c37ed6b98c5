/**
 * How a vault key travels through the official `twilio` package, shared by the client (which
 * builds it) and the proxy (which reads it).
 *
 * twilio-node sends `username:password` as HTTP Basic and checks only that the account SID starts
 * with "AC" (SDK-FACTS §2.1). So a vault key `vk_<id>_<secret>` is presented the way a Twilio API
 * key is (`twilio(SKxxx, secret, { accountSid })`):
 *
 *   username  `vk_<id>`    the public key id: harmless if a tool logs it
 *   password  `<secret>`   the secret part, which only ever travels in the Authorization header
 *   accountSid            the placeholder `AC` + 32 zeros (or the real SID, if the agent knows it)
 *
 * The proxy puts the real account SID in every path it forwards and the placeholder in every
 * answer, so an agent never needs, nor learns, the real one.
 */
import { parseVaultKey } from './vault-key.ts';

/** The account SID agents use; keyleash swaps it for the real one on the way to Twilio. */
export const TWILIO_PLACEHOLDER_ACCOUNT_SID = `AC${'0'.repeat(32)}`;

const KEY_ID_USERNAME = /^vk_[a-z2-7]{16}$/;

/** The Basic-auth username and password that present `vaultKey` to keyleash's Twilio routes. */
export function twilioBasicCredentials(vaultKey: string): { username: string; password: string } | undefined {
  const parts = parseVaultKey(vaultKey);
  return parts ? { username: `vk_${parts.id}`, password: parts.secret } : undefined;
}

/**
 * The vault key a Basic-auth username and password present, if the username is a key id. A
 * username that merely starts with `vk_` (e.g. a whole vault key) gives a string that is not a
 * vault key, so the request is refused as an unknown key rather than as a missing one.
 */
export function vaultKeyFromTwilioBasic(username: string, password: string): string | undefined {
  if (KEY_ID_USERNAME.test(username)) return `${username}_${password}`;
  // a whole vault key as the username: answered as "not a vault key", never as "no key"
  if (username.startsWith('vk_')) return `${username}_`;
  return undefined;
}
