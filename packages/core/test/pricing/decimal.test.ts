import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ceilDivBigInt, parseDecimalString, usdDecimalTimesToBigMicros, usdDecimalToMicros } from '../../src/pricing/index.ts';

describe('decimal strings', () => {
  it('parses plain non-negative decimals exactly', () => {
    expect(parseDecimalString('0.0083')).toEqual({ units: 83n, scale: 4 });
    expect(parseDecimalString('3.25')).toEqual({ units: 325n, scale: 2 });
    expect(parseDecimalString('12')).toEqual({ units: 12n, scale: 0 });
    expect(parseDecimalString('0')).toEqual({ units: 0n, scale: 0 });
  });

  it('refuses signs, exponents, separators, leading zeros and bare points', () => {
    for (const bad of ['-1', '+1', '1e3', '1,000', '01', '.5', '1.', ' 1', '1 ', '', 'NaN', '0x10', '1.0000000000000000001']) {
      expect(parseDecimalString(bad), bad).toBeUndefined();
    }
  });

  it('converts USD decimal strings to micro-USD, rounding any fraction of a micro-USD up', () => {
    expect(usdDecimalToMicros('0.0083')).toBe(8_300);
    expect(usdDecimalToMicros('0.05')).toBe(50_000);
    expect(usdDecimalToMicros('0')).toBe(0);
    expect(usdDecimalToMicros('0.0000001')).toBe(1);
    expect(usdDecimalToMicros('1.0000011')).toBe(1_000_002);
    expect(usdDecimalToMicros('0.0083', 3)).toBe(24_900);
    expect(usdDecimalToMicros('0.00000033', 3)).toBe(1); // 0.99 micro-USD in total -> 1, not 3
  });

  it('throws on malformed input or an unsafe result instead of guessing', () => {
    expect(() => usdDecimalToMicros('1e3')).toThrow(RangeError);
    expect(() => usdDecimalToMicros('1', 1.5)).toThrow(RangeError);
    expect(() => usdDecimalToMicros('1', -1)).toThrow(RangeError);
    expect(() => usdDecimalToMicros('1000000000000')).toThrow(RangeError);
  });

  it('ceilDivBigInt rounds up and rejects a non-positive denominator', () => {
    expect(ceilDivBigInt(10n, 5n)).toBe(2n);
    expect(ceilDivBigInt(11n, 5n)).toBe(3n);
    expect(ceilDivBigInt(0n, 5n)).toBe(0n);
    expect(() => ceilDivBigInt(1n, 0n)).toThrow(RangeError);
  });

  it('never gives less than the exact value, and never a whole micro-USD more', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 15n }), fc.integer({ min: 0, max: 18 }), fc.bigInt({ min: 0n, max: 10_000n }), (units, scale, qty) => {
        const s = scale === 0 ? units.toString() : `${units / 10n ** BigInt(scale)}.${(units % 10n ** BigInt(scale)).toString().padStart(scale, '0')}`;
        const micros = usdDecimalTimesToBigMicros(s, qty);
        expect(micros).toBeDefined();
        const exactTimesDen = qty * units * 1_000_000n; // exact value x 10^scale
        const den = 10n ** BigInt(scale);
        expect(micros! * den >= exactTimesDen).toBe(true);
        expect((micros! - 1n) * den < exactTimesDen).toBe(true);
      }),
    );
  });
});
