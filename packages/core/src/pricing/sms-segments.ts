/**
 * How many SMS segments a body costs (GSM 03.38 / 3GPP TS 23.038 and 23.040).
 *
 * - GSM-7 when every character is in the default alphabet or its extension table. Extension
 *   characters (form feed ^ { } \ [ ~ ] | €) are sent as ESC + char and count 2 septets.
 *   One segment holds 160 septets; once concatenated each holds 153 (the rest is the UDH), and an
 *   escape pair is never split: a 2-septet character that would straddle a boundary moves whole
 *   to the next segment.
 * - Otherwise UCS-2: length in UTF-16 code units, 70 in one segment, 67 per concatenated segment,
 *   never splitting a surrogate pair (an emoji is 2 units and moves whole).
 * - An empty body counts as 1 segment: Twilio bills an empty-body SMS/MMS as one message.
 *
 * Twilio's optional "Smart Encoding" (replacing e.g. curly quotes with GSM look-alikes) is not
 * modelled: counting without it can only give as many segments or more, which is the safe side.
 * A literal ESC (U+001B) in a body is not treated as GSM-7 text, for the same reason.
 */

export type SmsEncoding = 'GSM-7' | 'UCS-2';

export interface SmsSegmentCount {
  readonly encoding: SmsEncoding;
  /** septets (GSM-7) or UTF-16 code units (UCS-2) */
  readonly units: number;
  readonly segments: number;
}

/** The GSM 03.38 default alphabet (127 printable/control characters; ESC 0x1B excluded). */
export const GSM_7_BASIC_CHARS =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';

/** The GSM 03.38 extension table characters (each ESC + char = 2 septets). */
export const GSM_7_EXTENSION_CHARS = '\f^{}\\[~]|€';

const BASIC = new Set(GSM_7_BASIC_CHARS);
const EXTENSION = new Set(GSM_7_EXTENSION_CHARS);

export const GSM_7_SINGLE_SEGMENT_SEPTETS = 160;
export const GSM_7_CONCATENATED_SEGMENT_SEPTETS = 153;
export const UCS_2_SINGLE_SEGMENT_UNITS = 70;
export const UCS_2_CONCATENATED_SEGMENT_UNITS = 67;

/** Septets per character, or undefined if the body is not entirely GSM-7. */
function gsm7Widths(body: string): number[] | undefined {
  const widths: number[] = [];
  for (const ch of body) {
    if (BASIC.has(ch)) widths.push(1);
    else if (EXTENSION.has(ch)) widths.push(2);
    else return undefined;
  }
  return widths;
}

/** Segments for indivisible items of the given widths. */
function pack(widths: readonly number[], single: number, concatenated: number): { units: number; segments: number } {
  let units = 0;
  for (const w of widths) units += w;
  if (units <= single) return { units, segments: 1 };
  let segments = 1;
  let used = 0;
  for (const w of widths) {
    if (used + w > concatenated) {
      segments += 1;
      used = 0;
    }
    used += w;
  }
  return { units, segments };
}

export function isGsm7(body: string): boolean {
  return gsm7Widths(body) !== undefined;
}

export function countSmsSegments(body: string): SmsSegmentCount {
  const gsm = gsm7Widths(body);
  if (gsm !== undefined) {
    return { encoding: 'GSM-7', ...pack(gsm, GSM_7_SINGLE_SEGMENT_SEPTETS, GSM_7_CONCATENATED_SEGMENT_SEPTETS) };
  }
  // for..of walks code points: a surrogate pair arrives as one 2-unit item (a lone surrogate as 1).
  const widths: number[] = [];
  for (const ch of body) widths.push(ch.length);
  return { encoding: 'UCS-2', ...pack(widths, UCS_2_SINGLE_SEGMENT_UNITS, UCS_2_CONCATENATED_SEGMENT_UNITS) };
}
