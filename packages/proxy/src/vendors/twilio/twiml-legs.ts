/**
 * Can a new call (CreateCall) dial a second, separately billed leg? Its TwiML decides: `<Dial>` a
 * number, SIP address, client, queue or conference, `<Enqueue>`, `<Connect>`, `<Refer>`, or a verb
 * that fetches more TwiML (`<Redirect>`, `<Gather action>`, `<Record action>`…). TwiML fetched from
 * `Url`, `FallbackUrl` or an `ApplicationSid` is read by Twilio when the call connects, out of
 * keyleash's sight: such a call may dial. Only an inline `Twiml` made entirely of verbs that stay
 * inside the call and fetch nothing (`<Say>` and its SSML, `<Play>`, `<Pause>`, `<Hangup>`,
 * `<Reject>`) is one leg.
 *
 * The check is a conservative scan, not a parse: every `<name` anywhere in the text counts (also
 * inside comments or CDATA, where a parser would skip it), names are compared case-sensitively, and
 * anything that lets an XML parser produce markup keyleash did not see (a DOCTYPE or entity
 * declaration, an entity reference other than the five predefined ones and character references,
 * an encoding other than UTF-8) counts as "may dial". A scan can only over-count.
 */
import { single, type TwilioParams } from './form-body.ts';
import { COSTLY_PARAM } from './operations.ts';

const ONE_LEG_ELEMENTS = new Set([
  'Response',
  'Say',
  'Play',
  'Pause',
  'Hangup',
  'Reject',
  // SSML inside <Say>
  'break',
  'emphasis',
  'lang',
  'p',
  'phoneme',
  'prosody',
  's',
  'say-as',
  'sub',
  'w',
  'amazon:effect',
  'amazon:domain',
]);

const ELEMENT = /<\s*\/?\s*([^\s/>!?]+)/g;
const ENTITY = /&([^;\s&]*);?/g;
const PREDEFINED_ENTITY = /^(amp|lt|gt|quot|apos|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6})$/;
const XML_DECLARATION = /^\s*<\?xml(\s+(version|encoding|standalone)\s*=\s*("[^"]*"|'[^']*'))*\s*\?>/;

/** why this TwiML may start another leg, or undefined when it provably stays one leg */
export function twimlMayDial(twiml: string): string | undefined {
  let text = twiml;
  const declaration = XML_DECLARATION.exec(text);
  if (declaration) {
    const encoding = /encoding\s*=\s*["']([^"']*)["']/.exec(declaration[0])?.[1]?.toLowerCase();
    if (encoding !== undefined && encoding !== 'utf-8' && encoding !== 'utf8') return `its TwiML declares encoding="${encoding.slice(0, 20)}"`;
    text = text.slice(declaration[0].length);
  }
  if (/<\?/.test(text)) return 'its TwiML holds a processing instruction';
  if (/<!(?!--|\[CDATA\[)/.test(text)) return 'its TwiML holds a DOCTYPE or other declaration, which can define markup keyleash does not see';
  for (const [, name = ''] of text.matchAll(ENTITY)) {
    if (!PREDEFINED_ENTITY.test(name)) return `its TwiML refers to an entity "&${name.slice(0, 20)};"`;
  }
  for (const [, name = ''] of text.matchAll(ELEMENT)) {
    if (!ONE_LEG_ELEMENTS.has(name)) return `its TwiML has <${name.slice(0, 30)}>`;
  }
  return undefined;
}

/**
 * Why a CreateCall may dial a second leg, or undefined when it is one leg for sure: inline `Twiml`,
 * given once, scanned above, and no other parameter that names TwiML (Url, FallbackUrl,
 * ApplicationSid, … anything COSTLY_PARAM matches).
 */
export function callMayDial(params: TwilioParams): string | undefined {
  const elsewhere = [...params.keys()].find((name) => name !== 'Twiml' && COSTLY_PARAM.test(name));
  if (elsewhere) return `its TwiML comes from ${elsewhere}, which Twilio fetches when the call connects`;
  const twiml = single(params, 'Twiml');
  if (!twiml.ok) return twiml.reason;
  if (twiml.value === undefined) return 'it names no TwiML keyleash can read';
  return twimlMayDial(twiml.value);
}
