import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  DEFAULT_TWILIO_PRICE_TABLE as T,
  TWILIO_DEFAULT_CALL_TIME_LIMIT_SECONDS,
  UNKNOWN_COUNTRY,
  countSmsSegments,
  countriesOfE164,
  countryOfE164,
  isE164,
  loadTwilioPriceTable,
  parseTwilioPriceTable,
  priceCall,
  priceSms,
  priceVerification,
  type TwilioPriceTable,
} from '../../src/pricing/index.ts';

const US = '+15551230000';

describe('default Twilio price table', () => {
  it('is dated, says it must be replaced, validates, and is frozen', () => {
    expect(T.as_of).toBe('2026-11-01');
    expect(T.currency).toBe('usd');
    expect(T.source).toMatch(/approximate/i);
    expect(T.source).toMatch(/replace/i);
    expect(parseTwilioPriceTable(JSON.parse(JSON.stringify(T)))).toEqual({ ok: true, table: T });
    expect(Object.isFrozen(T.calling_codes)).toBe(true);
  });

  it('carries the reference US prices', () => {
    expect(T.sms['US']).toBe('0.0083');
    expect(T.mms['US']).toBe('0.0220');
    expect(T.voice_per_minute['US']).toBe('0.0140');
    expect(T.verify_per_verification).toBe('0.05');
  });

  it('prices SMS and calls for every country it maps a calling code to, except listed NANP islands', () => {
    const mapped = new Set(Object.values(T.calling_codes).flat());
    const unpriced = [...mapped].filter((c) => !(c in T.sms) || !(c in T.voice_per_minute)).sort();
    // These share +1 and are deliberately left unpriced: refused unless the operator adds them or a fallback.
    expect(unpriced).toEqual(['AG', 'AI', 'AS', 'BB', 'BM', 'BS', 'DM', 'GD', 'GU', 'KN', 'KY', 'LC', 'MP', 'MS', 'SX', 'TC', 'TT', 'VC', 'VG', 'VI']);
  });
});

describe('countryOfE164', () => {
  it.each([
    ['+15551230000', 'US'], ['+18005551234', 'US'], ['+12045551234', 'CA'], ['+14165551234', 'CA'],
    ['+16045551234', 'CA'], ['+18765551234', 'JM'], ['+17875551234', 'PR'], ['+18095551234', 'DO'],
    ['+447911123456', 'GB'], ['+353861234567', 'IE'], ['+4915112345678', 'DE'], ['+33612345678', 'FR'],
    ['+919812345678', 'IN'], ['+61412345678', 'AU'], ['+819012345678', 'JP'], ['+5511912345678', 'BR'],
    ['+5215512345678', 'MX'], ['+34612345678', 'ES'], ['+393123456789', 'IT'], ['+31612345678', 'NL'],
    ['+46701234567', 'SE'], ['+6591234567', 'SG'], ['+8613812345678', 'CN'], ['+79161234567', 'RU'],
    ['+77011234567', 'KZ'], ['+27821234567', 'ZA'], ['+2348031234567', 'NG'], ['+971501234567', 'AE'],
    ['+64211234567', 'NZ'], ['+41791234567', 'CH'], ['+85291234567', 'HK'], ['+972501234567', 'IL'],
    ['+351912345678', 'PT'], ['+358401234567', 'FI'], ['+886912345678', 'TW'], ['+966501234567', 'SA'],
  ])('maps %s to %s by longest calling-code prefix', (number, country) => {
    expect(countryOfE164(number, T)).toBe(country);
  });

  it('refuses anything that is not E.164', () => {
    for (const bad of ['15551230000', '+05551230000', '+1 555 123 0000', '+1-555-123-0000', '+1234567890123456', '+', '+1', 'whatsapp:+15551230000', '']) {
      expect(isE164(bad), bad).toBe(false);
      expect(countryOfE164(bad, T), bad).toBeUndefined();
    }
  });

  it('gives undefined for a number no calling code matches', () => {
    expect(countryOfE164('+99912345678', T)).toBeUndefined();
  });

  it('reports every country of a shared prefix, first one as the country', () => {
    const t: TwilioPriceTable = { ...T, calling_codes: { '1': ['US', 'CA'] } };
    expect(countriesOfE164(US, t)).toEqual(['US', 'CA']);
    expect(countryOfE164(US, t)).toBe('US');
  });
});

describe('priceSms', () => {
  it('prices an SMS as segments x the per-segment price', () => {
    expect(priceSms(T, { to: US, body: 'hello', mediaCount: 0 })).toEqual({
      ok: true, micros: 8_300, country: 'US', segments: 1, encoding: 'GSM-7', kind: 'sms', usedFallback: false,
    });
    expect(priceSms(T, { to: US, body: 'a'.repeat(161), mediaCount: 0 })).toMatchObject({ ok: true, micros: 16_600, segments: 2 });
    expect(priceSms(T, { to: US, body: '😀'.repeat(36), mediaCount: 0 })).toMatchObject({ ok: true, micros: 16_600, segments: 2, encoding: 'UCS-2' });
    expect(priceSms(T, { to: '+447911123456', body: 'hi', mediaCount: 0 })).toMatchObject({ ok: true, micros: 52_400, country: 'GB' });
  });

  it('prices an MMS per message at the MMS price whatever the body length', () => {
    expect(priceSms(T, { to: US, body: 'a'.repeat(500), mediaCount: 2 })).toEqual({
      ok: true, micros: 22_000, country: 'US', segments: 1, encoding: 'GSM-7', kind: 'mms', usedFallback: false,
    });
  });

  it('refuses a country without a price, naming it and its calling code and saying how to fix it', () => {
    const r = priceSms(T, { to: '+12425551234', body: 'hi', mediaCount: 0 });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toContain('BS');
      expect(r.reason).toContain('+1242');
      expect(r.reason).toMatch(/add sms\.BS to the table or set a fallback SMS price/);
    }
    const mms = priceSms(T, { to: '+447911123456', body: 'pic', mediaCount: 1 });
    expect(!mms.ok && mms.reason).toMatch(/no MMS price for GB .*mms\.GB/);
  });

  it('refuses a number no calling code matches, naming its leading digits but not the whole number', () => {
    const r = priceSms(T, { to: '+99912345678', body: 'hi', mediaCount: 0 });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toContain('+999');
      expect(r.reason).not.toContain('12345678');
      expect(r.reason).toMatch(/add the country's calling code .* or set a fallback SMS price/);
    }
  });

  it('uses the fallback per segment (SMS) or per message (MMS) when the table has no price', () => {
    expect(priceSms(T, { to: '+12425551234', body: 'a'.repeat(200), mediaCount: 0, fallbackMicros: 100_000 })).toEqual({
      ok: true, micros: 200_000, country: 'BS', segments: 2, encoding: 'GSM-7', kind: 'sms', usedFallback: true,
    });
    expect(priceSms(T, { to: '+99912345678', body: 'hi', mediaCount: 0, fallbackMicros: 100_000 })).toMatchObject({
      ok: true, micros: 100_000, country: UNKNOWN_COUNTRY, usedFallback: true,
    });
    expect(priceSms(T, { to: '+447911123456', body: 'x', mediaCount: 3, fallbackMicros: 300_000 })).toMatchObject({
      ok: true, micros: 300_000, kind: 'mms', usedFallback: true,
    });
  });

  it('ignores the fallback when the table has a price', () => {
    expect(priceSms(T, { to: US, body: 'hi', mediaCount: 0, fallbackMicros: 1 })).toMatchObject({ micros: 8_300, usedFallback: false });
  });

  it('prices a prefix shared by several countries at the dearest, and refuses if one has no price', () => {
    const t: TwilioPriceTable = { ...T, calling_codes: { '1': ['US', 'JM'] } };
    expect(priceSms(t, { to: US, body: 'hi', mediaCount: 0 })).toMatchObject({ ok: true, micros: 160_000, country: 'JM' });
    const t2: TwilioPriceTable = { ...T, calling_codes: { '1': ['US', 'BS'] } };
    expect(priceSms(t2, { to: US, body: 'hi', mediaCount: 0 }).ok).toBe(false);
    expect(priceSms(t2, { to: US, body: 'hi', mediaCount: 0, fallbackMicros: 5 })).toMatchObject({ ok: true, micros: 8_300, country: 'US' });
  });

  it('refuses bad input: non-E.164 numbers, bad media counts, bad fallbacks', () => {
    expect(priceSms(T, { to: '5551230000', body: 'hi', mediaCount: 0 })).toMatchObject({ ok: false, reason: expect.stringMatching(/E\.164/) });
    for (const mediaCount of [-1, 1.5, Number.NaN]) {
      expect(priceSms(T, { to: US, body: 'hi', mediaCount }).ok, String(mediaCount)).toBe(false);
    }
    expect(priceSms(T, { to: '+12425551234', body: 'hi', mediaCount: 0, fallbackMicros: -1 }).ok).toBe(false);
    expect(priceSms(T, { to: '+12425551234', body: 'hi', mediaCount: 0, fallbackMicros: 0.5 }).ok).toBe(false);
  });

  it('always charges exactly segments x price for SMS, and never less for a longer body', () => {
    const alphabet = fc.constantFrom('a', '€', 'ж', '😀', ' ');
    const body = fc.array(alphabet, { maxLength: 400 }).map((c) => c.join(''));
    fc.assert(
      fc.property(body, body, fc.constantFrom('+15551230000', '+447911123456', '+919812345678', '+2348031234567'), (a, b, to) => {
        const r1 = priceSms(T, { to, body: a, mediaCount: 0 });
        const r2 = priceSms(T, { to, body: a + b, mediaCount: 0 });
        expect(r1.ok && r2.ok).toBe(true);
        if (!r1.ok || !r2.ok) return;
        const perSegment = r1.micros / r1.segments;
        expect(Number.isInteger(perSegment)).toBe(true);
        expect(r1.segments).toBe(countSmsSegments(a).segments);
        expect(r2.micros).toBeGreaterThanOrEqual(r1.micros);
      }),
    );
  });
});

describe('priceCall', () => {
  it('charges per started minute of the time limit', () => {
    expect(priceCall(T, { to: US, timeLimitSeconds: 60 })).toEqual({ ok: true, micros: 14_000, country: 'US', minutes: 1, usedFallback: false });
    expect(priceCall(T, { to: US, timeLimitSeconds: 61 })).toMatchObject({ ok: true, micros: 28_000, minutes: 2 });
    expect(priceCall(T, { to: US, timeLimitSeconds: 1 })).toMatchObject({ ok: true, micros: 14_000, minutes: 1 });
    expect(priceCall(T, { to: '+819012345678', timeLimitSeconds: 300 })).toMatchObject({ ok: true, micros: 750_000, country: 'JP', minutes: 5 });
  });

  it("reserves Twilio's default 4-hour limit when the request sets none", () => {
    expect(TWILIO_DEFAULT_CALL_TIME_LIMIT_SECONDS).toBe(14_400);
    expect(priceCall(T, { to: US, timeLimitSeconds: TWILIO_DEFAULT_CALL_TIME_LIMIT_SECONDS })).toMatchObject({ ok: true, micros: 3_360_000, minutes: 240 });
  });

  it('uses the per-minute fallback for a country without a voice price, else refuses saying how to fix it', () => {
    expect(priceCall(T, { to: '+12425551234', timeLimitSeconds: 120, fallbackPerMinuteMicros: 500_000 })).toEqual({
      ok: true, micros: 1_000_000, country: 'BS', minutes: 2, usedFallback: true,
    });
    const r = priceCall(T, { to: '+12425551234', timeLimitSeconds: 120 });
    expect(!r.ok && r.reason).toMatch(/no per-minute voice price for BS \(calling code \+1242\).*voice_per_minute\.BS.*fallback/);
  });

  it('refuses a time limit that is not a positive number of seconds', () => {
    for (const t of [0, -60, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(priceCall(T, { to: US, timeLimitSeconds: t }).ok, String(t)).toBe(false);
    }
  });

  it('never costs less for a longer time limit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 86_400 }), fc.integer({ min: 0, max: 86_400 }), (t, extra) => {
        const a = priceCall(T, { to: '+447911123456', timeLimitSeconds: t });
        const b = priceCall(T, { to: '+447911123456', timeLimitSeconds: t + extra });
        expect(a.ok && b.ok && a.micros <= b.micros && a.micros >= Math.ceil((40_000 * t) / 60)).toBe(true);
      }),
    );
  });
});

describe('priceVerification', () => {
  it('is the per-verification fee in micro-USD', () => {
    expect(priceVerification(T)).toBe(50_000);
    expect(priceVerification({ ...T, verify_per_verification: '0.0525' })).toBe(52_500);
  });
});

describe('parseTwilioPriceTable', () => {
  const minimal = {
    as_of: '2027-01-01', source: 'my Twilio account', currency: 'usd',
    sms: { US: '0.0079' }, mms: {}, voice_per_minute: { US: '0.013' }, verify_per_verification: '0.05',
    calling_codes: { '1': 'US', '44': ['GB', 'JE'] },
  };

  it('accepts a minimal operator table', () => {
    const r = loadTwilioPriceTable(minimal);
    expect(r.ok).toBe(true);
    if (r.ok) expect(priceSms(r.table, { to: US, body: 'x', mediaCount: 0 })).toMatchObject({ ok: true, micros: 7_900 });
  });

  it('explains each problem with its path', () => {
    const r = parseTwilioPriceTable({
      ...minimal,
      currency: 'eur',
      sms: { us: '0.1', GB: 0.05 },
      verify_per_verification: '5e-2',
      calling_codes: { '+44': 'GB', '1': ['US', 'ca'], '7': [], '33': 5 },
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = r.problems.join('\n');
    expect(text).toMatch(/twilio_price_table\.currency: .*"usd"/);
    expect(text).toMatch(/twilio_price_table\.sms\.us: key "us" is not allowed: .*uppercase/);
    expect(text).toMatch(/twilio_price_table\.sms\.GB: .*JSON number is refused/);
    expect(text).toMatch(/twilio_price_table\.verify_per_verification: .*plain decimal string/);
    expect(text).toMatch(/twilio_price_table\.calling_codes\.\+44: key "\+44" is not allowed: .*digits without "\+"/);
    expect(text).toMatch(/twilio_price_table\.calling_codes\.1\.1: .*country code/);
    expect(text).toMatch(/twilio_price_table\.calling_codes\.7: must list at least one country/);
    expect(text).toMatch(/twilio_price_table\.calling_codes\.33: /);
  });

  it('refuses missing fields and unknown ones', () => {
    const { sms: _sms, ...withoutSms } = minimal;
    const r = parseTwilioPriceTable({ ...withoutSms, whatsapp: {} });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problems.join('\n')).toMatch(/twilio_price_table\.sms: /);
      expect(r.problems.join('\n')).toMatch(/whatsapp/);
    }
  });
});
