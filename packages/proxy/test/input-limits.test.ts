import { describe, expect, it } from 'vitest';
import { resolveServeConfig } from '../src/config.ts';
import { describeBytes, parseBodyLimits, parseByteSize } from '../src/pipeline/body-limits.ts';
import { conflictingCredentials } from '../src/pipeline/credential-headers.ts';

const MIB = 1024 * 1024;

describe('body limits', () => {
  it('default to 1 MiB per vendor host and 32 MiB for files.stripe.com uploads', () => {
    const limits = parseBodyLimits([]);
    expect(limits.forHost('api.stripe.com')).toBe(MIB);
    expect(limits.forHost('api.twilio.com')).toBe(MIB);
    expect(limits.forHost('FILES.stripe.com')).toBe(32 * MIB);
    expect(limits.forHost(undefined)).toBe(MIB);
  });

  it('take a default and per-host sizes, later entries winning, in bytes or binary units', () => {
    const limits = parseBodyLimits(['2MiB', 'files.stripe.com=64m', 'verify.twilio.com=512KiB', '3m']);
    expect(limits.forHost('api.stripe.com')).toBe(3 * MIB);
    expect(limits.forHost('files.stripe.com')).toBe(64 * MIB);
    expect(limits.forHost('verify.twilio.com')).toBe(512 * 1024);
    expect(parseByteSize('1048576')).toBe(MIB);
    expect(parseByteSize('1 k')).toBe(1024);
  });

  it('refuse what is not a size, naming the accepted forms', () => {
    expect(() => parseByteSize('lots')).toThrow(/write bytes \(1048576\) or a binary unit/);
    expect(() => parseByteSize('0')).toThrow(/at least 1 byte/);
    expect(() => parseBodyLimits(['api stripe=1m'])).toThrow(/not a host name/);
    expect(() => resolveServeConfig({ maxBody: ['1.5m'] }, {})).toThrow(/--max-body \/ KEYLEASH_MAX_BODY: "1.5m" is not a size/);
  });

  it('come from KEYLEASH_MAX_BODY and --max-body, the flags last', () => {
    const config = resolveServeConfig({ maxBody: ['api.stripe.com=4KiB'] }, { KEYLEASH_MAX_BODY: '2KiB,api.stripe.com=8KiB' });
    expect(config.bodyLimits.forHost('api.stripe.com')).toBe(4096);
    expect(config.bodyLimits.forHost('api.twilio.com')).toBe(2048);
  });

  it('are described in the unit an operator writes back', () => {
    expect(describeBytes(MIB)).toBe('1 MiB (1048576 bytes)');
    expect(describeBytes(2048)).toBe('2 KiB (2048 bytes)');
    expect(describeBytes(1000)).toBe('1000 bytes');
  });
});

describe('conflicting credentials', () => {
  const auth = (...values: string[]) => values.flatMap((value) => ['Authorization', value]);

  it('accept one credential in one header', () => {
    expect(conflictingCredentials(['Host', 'x', ...auth('Bearer vk_a_b')])).toBeUndefined();
    expect(conflictingCredentials(auth('Basic dms6eA=='))).toBeUndefined();
    expect(conflictingCredentials(['Host', 'x'])).toBeUndefined();
  });

  it('refuse the header twice, whatever its case or schemes, and two schemes in one header', () => {
    expect(conflictingCredentials(['authorization', 'Bearer vk_a_b', 'AUTHORIZATION', 'Bearer vk_a_b'])).toMatch(/2 Authorization headers \(Bearer, Bearer\)/);
    expect(conflictingCredentials(auth('Bearer vk_a_b', 'Basic dms6eA=='))).toMatch(/\(Bearer, Basic\)/);
    expect(conflictingCredentials(auth('Bearer vk_a_b, Basic dms6eA=='))).toMatch(/holds 2 credentials \(Bearer, Basic\)/);
  });
});
