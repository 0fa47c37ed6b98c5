import { describe, expect, it } from 'vitest';
import {
  DeriveKeyRequest,
  deriveChildPolicy,
  generateVaultKey,
  hashSecret,
  IssueKeyRequest,
  policyFromIssueRequest,
  policyToJson,
  twilioBasicCredentials,
  vaultKeyFromTwilioBasic,
  type VaultKeyRecord,
} from '../src/index.ts';

const NOW = Date.UTC(2030, 0, 15, 12);

function issue(body: Record<string, unknown>) {
  const parsed = IssueKeyRequest.safeParse({ vendor: 'twilio', daily_usd_cap: 5, allowed_endpoints: ['POST /api.twilio.com/**'], expires_in: '1h', ...body });
  if (!parsed.success) throw new Error(parsed.error.message);
  return policyFromIssueRequest(parsed.data, NOW);
}

function parentWith(twilio: Record<string, unknown> | undefined): VaultKeyRecord[] {
  const generated = generateVaultKey();
  const policy = issue(twilio ? { twilio } : {});
  return [{ id: generated.id, parentId: null, rootId: generated.id, depth: 0, secretHash: hashSecret(generated.secret), policy, createdAt: NOW, revokedAt: null }];
}

function derive(chain: VaultKeyRecord[], twilio: Record<string, unknown>) {
  return deriveChildPolicy(chain, DeriveKeyRequest.parse({ parent_vault_key: 'vk_x', twilio }), NOW);
}

describe('twilio policy settings', () => {
  it('are held in micro-USD and shown back in the shape they were given', () => {
    const policy = issue({ twilio: { default_call_time_limit_seconds: 600, fallback_sms_usd_per_segment: 0.05 } });
    expect(policy.twilio).toEqual({ defaultCallTimeLimitSeconds: 600, fallbackSmsMicrosPerSegment: 50_000, fallbackMmsMicrosPerMessage: null, fallbackVoiceMicrosPerMinute: null });
    expect(policyToJson(policy).twilio).toEqual({
      default_call_time_limit_seconds: 600,
      fallback_sms_usd_per_segment: 0.05,
      fallback_mms_usd_per_message: null,
      fallback_voice_usd_per_minute: null,
    });
    expect(policyToJson(issue({})).twilio).toBeUndefined();
  });

  it('are refused on a key of another vendor, and when malformed', () => {
    const stripe = IssueKeyRequest.safeParse({ vendor: 'stripe', daily_usd_cap: 5, allowed_endpoints: ['POST /v1/charges'], expires_in: '1h', twilio: { fallback_sms_usd_per_segment: 0.05 } });
    expect(stripe.success).toBe(false);
    for (const twilio of [{ default_call_time_limit_seconds: 0 }, { default_call_time_limit_seconds: 1.5 }, { fallback_sms_usd_per_segment: -1 }, { surprise: 1 }]) {
      expect(IssueKeyRequest.safeParse({ vendor: 'twilio', daily_usd_cap: 5, allowed_endpoints: ['POST /api.twilio.com/**'], expires_in: '1h', twilio }).success, JSON.stringify(twilio)).toBe(false);
    }
  });
});

describe('a child’s twilio settings are never wider than its parent’s', () => {
  it('inherits omitted fields, and may shorten the default call TimeLimit but not lengthen or drop it', () => {
    const parent = parentWith({ default_call_time_limit_seconds: 600, fallback_sms_usd_per_segment: 0.05 });
    const shorter = derive(parent, { default_call_time_limit_seconds: 60 });
    expect(shorter).toMatchObject({ ok: true, policy: { twilio: { defaultCallTimeLimitSeconds: 60, fallbackSmsMicrosPerSegment: 50_000 } } });
    expect(derive(parent, { default_call_time_limit_seconds: 601 })).toMatchObject({ ok: false, problems: [expect.stringContaining('longer than the parent')] });
    expect(derive(parent, { default_call_time_limit_seconds: null })).toMatchObject({ ok: false });
    expect(derive(parentWith(undefined), { default_call_time_limit_seconds: 900 }).ok).toBe(true);
  });

  it('may count a fallback destination dearer or refuse it, never cheaper, and never add a fallback the parent lacks', () => {
    const parent = parentWith({ fallback_sms_usd_per_segment: 0.05 });
    expect(derive(parent, { fallback_sms_usd_per_segment: 0.08 }).ok).toBe(true);
    expect(derive(parent, { fallback_sms_usd_per_segment: null })).toMatchObject({ ok: true, policy: { twilio: { fallbackSmsMicrosPerSegment: null } } });
    expect(derive(parent, { fallback_sms_usd_per_segment: 0.01 })).toMatchObject({ ok: false, problems: [expect.stringContaining('below the parent')] });
    expect(derive(parent, { fallback_voice_usd_per_minute: 1 })).toMatchObject({ ok: false, problems: [expect.stringContaining('parent prices no destination')] });
  });
});

describe('the vault key in twilio-node’s Basic auth', () => {
  it('splits into the public key id as username and the secret as password, and joins back', () => {
    const { vaultKey, id, secret } = generateVaultKey();
    expect(twilioBasicCredentials(vaultKey)).toEqual({ username: `vk_${id}`, password: secret });
    expect(vaultKeyFromTwilioBasic(`vk_${id}`, secret)).toBe(vaultKey);
    expect(twilioBasicCredentials('sk_live_nope')).toBeUndefined();
    expect(vaultKeyFromTwilioBasic(`AC${'1'.repeat(32)}`, 'token')).toBeUndefined();
  });
});
