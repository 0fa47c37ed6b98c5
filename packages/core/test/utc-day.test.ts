import { describe, expect, it } from 'vitest';
import { utcDay } from '../src/duration.ts';

describe('utcDay', () => {
  it('names the UTC day of each instant, also right around midnight and going back in time (it remembers the last day)', () => {
    const midnight = Date.UTC(2026, 11, 5);
    expect(utcDay(midnight - 1)).toBe('2026-12-04');
    expect(utcDay(midnight)).toBe('2026-12-05');
    expect(utcDay(midnight + 86_399_999)).toBe('2026-12-05');
    expect(utcDay(midnight + 86_400_000)).toBe('2026-12-06');
    expect(utcDay(midnight - 1)).toBe('2026-12-04');
    expect(utcDay(-1)).toBe('1969-12-31');
    expect(utcDay(0)).toBe('1970-01-01');
    expect(() => utcDay(Number.NaN)).toThrow(RangeError);
  });
});
