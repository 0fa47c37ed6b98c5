import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GSM_7_BASIC_CHARS, GSM_7_EXTENSION_CHARS, countSmsSegments, isGsm7 } from '../../src/pricing/index.ts';

const gsm = (n: number) => 'a'.repeat(n);
const ucs = (n: number) => 'ж'.repeat(n); // Cyrillic: one UTF-16 unit, not GSM-7

describe('countSmsSegments: GSM-7', () => {
  it('fits 160 septets in one segment and splits at 161', () => {
    expect(countSmsSegments(gsm(160))).toEqual({ encoding: 'GSM-7', units: 160, segments: 1 });
    expect(countSmsSegments(gsm(161))).toEqual({ encoding: 'GSM-7', units: 161, segments: 2 });
  });

  it('puts 153 septets in each concatenated segment (306 -> 2, 307 -> 3)', () => {
    expect(countSmsSegments(gsm(306)).segments).toBe(2);
    expect(countSmsSegments(gsm(307)).segments).toBe(3);
    expect(countSmsSegments(gsm(459)).segments).toBe(3);
    expect(countSmsSegments(gsm(460)).segments).toBe(4);
  });

  it('counts extension characters (^ { } \\ [ ~ ] | € and form feed) as two septets', () => {
    for (const ch of GSM_7_EXTENSION_CHARS) {
      expect(countSmsSegments(ch), JSON.stringify(ch)).toEqual({ encoding: 'GSM-7', units: 2, segments: 1 });
    }
    expect(countSmsSegments(`${gsm(158)}€`)).toEqual({ encoding: 'GSM-7', units: 160, segments: 1 });
    expect(countSmsSegments(`${gsm(159)}€`)).toEqual({ encoding: 'GSM-7', units: 161, segments: 2 });
    expect(countSmsSegments(`[${gsm(158)}`)).toEqual({ encoding: 'GSM-7', units: 160, segments: 1 });
    expect(countSmsSegments('€'.repeat(80)).segments).toBe(1);
    expect(countSmsSegments('€'.repeat(81)).segments).toBe(2);
  });

  it('moves an escape pair that would straddle a segment boundary to the next segment', () => {
    // 152 septets + '€' (2) = 154 in the first segment would not fit in 153: '€' moves.
    // 152 + 2 + 152 = 306 septets, which would be 2 segments if the pair could split; it is 3.
    const body = `${gsm(152)}€${gsm(152)}`;
    expect(countSmsSegments(body)).toEqual({ encoding: 'GSM-7', units: 306, segments: 3 });
    // the same septets with the pair not on a boundary: 2 segments
    expect(countSmsSegments(`€${gsm(304)}`)).toEqual({ encoding: 'GSM-7', units: 306, segments: 2 });
  });

  it('treats every default-alphabet character, including newline and CR, as one septet', () => {
    expect([...GSM_7_BASIC_CHARS]).toHaveLength(127);
    expect(countSmsSegments(GSM_7_BASIC_CHARS)).toEqual({ encoding: 'GSM-7', units: 127, segments: 1 });
    expect(isGsm7('Hello, world!\r\n@£$¥ èéùìò Ç ÄÖÑÜ§ ¿äöñüà ΔΦΓΛΩΠΨΣΘΞ')).toBe(true);
  });

  it('counts an empty body as one segment (Twilio bills an empty message as one)', () => {
    expect(countSmsSegments('')).toEqual({ encoding: 'GSM-7', units: 0, segments: 1 });
  });
});

describe('countSmsSegments: UCS-2', () => {
  it('switches to UCS-2 for any character outside GSM-7 (emoji, accents GSM lacks, curly quotes, ESC)', () => {
    for (const body of ['hi 😀', 'ça va', 'Straße ê', '“quoted”', 'Ж', 'a\u001bb', 'ç']) {
      expect(countSmsSegments(body).encoding, body).toBe('UCS-2');
    }
  });

  it('fits 70 code units in one segment and splits at 71', () => {
    expect(countSmsSegments(ucs(70))).toEqual({ encoding: 'UCS-2', units: 70, segments: 1 });
    expect(countSmsSegments(ucs(71))).toEqual({ encoding: 'UCS-2', units: 71, segments: 2 });
  });

  it('puts 67 code units in each concatenated segment (134 -> 2, 135 -> 3)', () => {
    expect(countSmsSegments(ucs(134)).segments).toBe(2);
    expect(countSmsSegments(ucs(135)).segments).toBe(3);
  });

  it('counts an emoji as two code units and never splits its surrogate pair', () => {
    expect(countSmsSegments('😀')).toEqual({ encoding: 'UCS-2', units: 2, segments: 1 });
    expect(countSmsSegments('😀'.repeat(35))).toEqual({ encoding: 'UCS-2', units: 70, segments: 1 });
    // 66 units + emoji (2) would straddle the 67 boundary: the emoji moves; 66+2+66 = 134 units in 3 segments
    expect(countSmsSegments(`${ucs(66)}😀${ucs(66)}`)).toEqual({ encoding: 'UCS-2', units: 134, segments: 3 });
    expect(countSmsSegments(`😀${ucs(132)}`)).toEqual({ encoding: 'UCS-2', units: 134, segments: 2 });
  });

  it('counts GSM extension characters as one unit once the body is UCS-2', () => {
    expect(countSmsSegments('€😀')).toEqual({ encoding: 'UCS-2', units: 3, segments: 1 });
  });
});

describe('countSmsSegments: invariants', () => {
  const alphabet = fc.constantFrom('a', ' ', '\n', '€', '[', '^', 'é', 'ж', '😀', 'ç', '“');
  const body = fc.array(alphabet, { maxLength: 500 }).map((chars) => chars.join(''));

  it('never gives fewer segments when the body grows', () => {
    fc.assert(
      fc.property(body, body, (a, b) => {
        expect(countSmsSegments(a + b).segments).toBeGreaterThanOrEqual(countSmsSegments(a).segments);
      }),
    );
  });

  it('never gives fewer segments than the capacity bound, and one segment exactly when the units fit', () => {
    fc.assert(
      fc.property(body, (s) => {
        const c = countSmsSegments(s);
        const [single, multi] = c.encoding === 'GSM-7' ? [160, 153] : [70, 67];
        if (c.units <= single) expect(c.segments).toBe(1);
        else {
          expect(c.segments).toBeGreaterThanOrEqual(Math.ceil(c.units / multi));
          // splitting indivisible 1- or 2-unit items wastes at most one unit per segment
          expect(c.segments).toBeLessThanOrEqual(Math.ceil(c.units / (multi - 1)));
        }
      }),
    );
  });

  it('measures UCS-2 bodies in UTF-16 code units', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (s) => {
        const c = countSmsSegments(s);
        if (c.encoding === 'UCS-2') expect(c.units).toBe(s.length);
      }),
    );
  });
});
