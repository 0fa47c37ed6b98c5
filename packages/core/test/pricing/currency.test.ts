import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  DEFAULT_FX_TABLE,
  STRIPE_THREE_DECIMAL_CURRENCIES,
  STRIPE_ZERO_DECIMAL_CURRENCIES,
  currencyExponent,
  loadFxTable,
  minorAmountToMicros,
  parseDecimalString,
  parseFxTable,
  type FxTable,
} from '../../src/pricing/index.ts';

describe('currencyExponent', () => {
  it('gives 0 for every Stripe zero-decimal currency', () => {
    const expected = ['bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf'];
    expect([...STRIPE_ZERO_DECIMAL_CURRENCIES].sort()).toEqual(expected);
    for (const c of expected) expect(currencyExponent(c), c).toBe(0);
  });

  it('gives 3 for every Stripe three-decimal currency', () => {
    expect([...STRIPE_THREE_DECIMAL_CURRENCIES].sort()).toEqual(['bhd', 'jod', 'kwd', 'omr', 'tnd']);
    for (const c of STRIPE_THREE_DECIMAL_CURRENCIES) expect(currencyExponent(c), c).toBe(3);
  });

  it('gives 2 for everything else, including the ISK/HUF/TWD special cases Stripe writes two-decimal', () => {
    for (const c of ['usd', 'eur', 'gbp', 'isk', 'huf', 'twd', 'inr', 'idr']) expect(currencyExponent(c), c).toBe(2);
  });

  it('ignores case', () => {
    expect(currencyExponent('JPY')).toBe(0);
    expect(currencyExponent('Kwd')).toBe(3);
    expect(currencyExponent('USD')).toBe(2);
  });
});

describe('minorAmountToMicros', () => {
  it('prices the documented examples exactly', () => {
    expect(minorAmountToMicros(2000, 'usd', DEFAULT_FX_TABLE)).toEqual({ ok: true, micros: 20_000_000 });
    expect(minorAmountToMicros(1000, 'jpy', DEFAULT_FX_TABLE)).toEqual({ ok: true, micros: 6_600_000 });
    expect(minorAmountToMicros(1500, 'kwd', DEFAULT_FX_TABLE)).toEqual({ ok: true, micros: 4_875_000 });
    expect(minorAmountToMicros(1000, 'eur', DEFAULT_FX_TABLE)).toEqual({ ok: true, micros: 10_800_000 });
  });

  it('accepts bigint amounts and upper-case currency codes', () => {
    expect(minorAmountToMicros(2000n, 'USD', DEFAULT_FX_TABLE)).toEqual({ ok: true, micros: 20_000_000 });
    expect(minorAmountToMicros(1000n, 'JPY', DEFAULT_FX_TABLE)).toEqual({ ok: true, micros: 6_600_000 });
  });

  it('values USD at exactly 1 even when the table does not list it', () => {
    const fx: FxTable = { as_of: '2026-11-01', source: 'test', usd_per_unit: { eur: '1.08' } };
    expect(minorAmountToMicros(1, 'usd', fx)).toEqual({ ok: true, micros: 10_000 });
  });

  it('rounds a fraction of a micro-USD up, never down', () => {
    // 1 IDR cent at 0.000063 USD/IDR = 0.63 micro-USD
    expect(minorAmountToMicros(1, 'idr', DEFAULT_FX_TABLE)).toEqual({ ok: true, micros: 1 });
    // 3 JPY at 0.0066 = 19800 micro-USD exactly
    expect(minorAmountToMicros(3, 'jpy', DEFAULT_FX_TABLE)).toEqual({ ok: true, micros: 19_800 });
    const fx: FxTable = { as_of: '2026-11-01', source: 'test', usd_per_unit: { eur: '1.0000001' } };
    // 100 cents = 1.0000001 USD = 1_000_000.1 micro-USD -> 1_000_001
    expect(minorAmountToMicros(100, 'eur', fx)).toEqual({ ok: true, micros: 1_000_001 });
  });

  it('values UGX as zero-decimal (the conservative reading of Stripe docs)', () => {
    expect(minorAmountToMicros(10_000, 'ugx', DEFAULT_FX_TABLE)).toEqual({ ok: true, micros: 2_700_000 });
  });

  it('refuses a currency missing from the FX table, naming it and saying the operator can add it', () => {
    const r = minorAmountToMicros(100, 'XYZ', DEFAULT_FX_TABLE);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toContain('"xyz"');
      expect(r.reason).toMatch(/operator can add it to the FX table/);
      expect(r.reason).toContain('2026-11-01');
    }
  });

  it('refuses codes that are not three letters, and does not read inherited object keys', () => {
    expect(minorAmountToMicros(1, 'us', DEFAULT_FX_TABLE).ok).toBe(false);
    expect(minorAmountToMicros(1, 'constructor', DEFAULT_FX_TABLE).ok).toBe(false);
    const fx = { as_of: '2026-11-01', source: 't', usd_per_unit: Object.create({ abc: '1' }) as Record<string, string> };
    expect(minorAmountToMicros(1, 'abc', fx).ok).toBe(false);
  });

  it('refuses negative, fractional, non-finite and unsafe amounts', () => {
    for (const bad of [-1, -1n, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      const r = minorAmountToMicros(bad, 'usd', DEFAULT_FX_TABLE);
      expect(r.ok, String(bad)).toBe(false);
    }
    const neg = minorAmountToMicros(-5, 'usd', DEFAULT_FX_TABLE);
    expect(!neg.ok && neg.reason).toMatch(/negative/);
  });

  it('refuses an amount whose micro-USD value is not a safe integer', () => {
    const r = minorAmountToMicros(10n ** 20n, 'usd', DEFAULT_FX_TABLE);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/too large/);
  });

  it('never counts below the exact USD value and never a whole micro-USD above it', () => {
    const codes = Object.keys(DEFAULT_FX_TABLE.usd_per_unit);
    fc.assert(
      fc.property(fc.constantFrom(...codes), fc.bigInt({ min: 0n, max: 10n ** 12n }), (code, amount) => {
        const r = minorAmountToMicros(amount, code, DEFAULT_FX_TABLE);
        if (!r.ok) return; // only "too large" can fail here
        const rate = parseDecimalString((DEFAULT_FX_TABLE.usd_per_unit as Record<string, string>)[code]!)!;
        const den = 10n ** BigInt(currencyExponent(code) + rate.scale);
        const exact = amount * rate.units * 1_000_000n; // exact micros x den
        const micros = BigInt(r.micros);
        expect(micros * den >= exact).toBe(true);
        expect((micros - 1n) * den < exact).toBe(true);
      }),
    );
  });

  it('is monotone: a bigger amount never costs less', () => {
    fc.assert(
      fc.property(fc.constantFrom('usd', 'jpy', 'kwd', 'eur', 'idr'), fc.nat(10 ** 9), fc.nat(10 ** 9), (code, a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const rl = minorAmountToMicros(lo, code, DEFAULT_FX_TABLE);
        const rh = minorAmountToMicros(hi, code, DEFAULT_FX_TABLE);
        expect(rl.ok && rh.ok && rl.micros <= rh.micros).toBe(true);
      }),
    );
  });
});

describe('FX tables', () => {
  it('ships a dated default table of about 40+ currencies that validates and says it must be replaced', () => {
    expect(DEFAULT_FX_TABLE.as_of).toBe('2026-11-01');
    expect(Object.keys(DEFAULT_FX_TABLE.usd_per_unit).length).toBeGreaterThanOrEqual(40);
    expect(DEFAULT_FX_TABLE.source).toMatch(/approximate/i);
    expect(DEFAULT_FX_TABLE.source).toMatch(/replace/i);
    expect(parseFxTable(JSON.parse(JSON.stringify(DEFAULT_FX_TABLE)))).toEqual({ ok: true, table: DEFAULT_FX_TABLE });
  });

  it('freezes the default table so nobody edits the shared copy in place', () => {
    expect(Object.isFrozen(DEFAULT_FX_TABLE)).toBe(true);
    expect(Object.isFrozen(DEFAULT_FX_TABLE.usd_per_unit)).toBe(true);
  });

  it('accepts a minimal operator table, with optional notes', () => {
    const r = loadFxTable({ as_of: '2027-01-15', source: 'ECB via ops', usd_per_unit: { eur: '1.1' }, notes: 'weekly' });
    expect(r.ok).toBe(true);
  });

  it('explains each problem in an invalid table with its path', () => {
    const r = parseFxTable({
      as_of: '2026-02-30',
      source: '',
      usd_per_unit: { EUR: '1.08', jpy: 0.0066, gbp: '0', chf: '-1', usd: '2' },
      extra: true,
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = r.problems.join('\n');
    expect(text).toMatch(/fx_table\.as_of: .*calendar date/);
    expect(text).toMatch(/fx_table\.source: /);
    expect(text).toMatch(/fx_table\.usd_per_unit\.EUR: .*lowercase/);
    expect(text).toMatch(/fx_table\.usd_per_unit\.jpy: .*decimal string.*JSON number is refused/);
    expect(text).toMatch(/fx_table\.usd_per_unit\.gbp: .*greater than zero/);
    expect(text).toMatch(/fx_table\.usd_per_unit\.chf: .*plain decimal string/);
    expect(text).toMatch(/fx_table\.usd_per_unit\.usd: .*"1"/);
    expect(text).toMatch(/extra/);
  });

  it('refuses input that is not an object at all', () => {
    for (const bad of [null, 42, 'table', []]) {
      const r = parseFxTable(bad);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.problems.length).toBeGreaterThan(0);
    }
  });
});
