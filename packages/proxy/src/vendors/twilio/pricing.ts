/**
 * What a Twilio request costs before it is sent, and what it cost once Twilio answered.
 *
 * Priced (a dated price table the operator can replace, `--twilio-price-table`):
 * - a message (POST api …/Messages.json): SMS = segments (GSM-7 160/153, UCS-2 70/67) x the
 *   destination's per-segment price; MMS (a MediaUrl, or SendAsMms=true) = the per-message MMS
 *   price. The country comes from `To` (longest calling-code prefix). A MessagingServiceSid send is
 *   priced the same way: the cost depends on the destination, not the sender.
 * - a call (POST api …/Calls.json): per-minute price to `To` x ceil(TimeLimit / 60). Without a
 *   TimeLimit a call may last 4 hours, so keyleash adds the key's
 *   `twilio.default_call_time_limit_seconds` to the forwarded request, or (no default) treats the call
 *   as unpriced: refused under a capped key.
 * - a verification (POST verify …/Services/{VA}/Verifications): Verify's fee per verification plus
 *   the channel it sends: one SMS segment to `To` (sms, auto), one minute of voice (call), nothing
 *   (email: billed by SendGrid). Other channels (whatsapp, sna, …) are unpriced.
 * A destination the table has no price for uses the key's `twilio.fallback_*` price, or is unpriced.
 * A `To` with a channel prefix (whatsapp:, messenger:, rcs:, client:, sip:) or a Content template
 * (ContentSid: the body, hence the segments, is unknown here) is unpriced too.
 *
 * Settlement: Twilio almost always answers a create with `price: null`; the estimate is kept and the
 * message / call SID remembered. A later fetch of that message or call through keyleash (GET
 * …/Messages/SM….json, …/Calls/CA….json) that shows a real USD `price` corrects the count
 * (`Store.reprice`), in either direction.
 *
 * Which POST or DELETE is priced, free, unpriced or a credential is ONE table, operations.ts; a
 * free one with a parameter that makes it cost is unpriced. Reads (GET, HEAD) are free except paid
 * Lookup data. Endpoints that mint (or destroy) Twilio credentials are refused for every key: a
 * vault key must never become a real Twilio credential.
 */
import {
  formatUsd,
  isE164,
  NO_TWILIO_SETTINGS,
  parseDecimalString,
  priceCall,
  priceDialedLeg,
  priceSms,
  priceVerification,
  refusal,
  usdDecimalToMicros,
  type MicroUsd,
  type TwilioPriceTable,
  type TwilioSettings,
  type VaultKeyRecord,
} from '@keyleash/core';
import type { InboundRequest, Pricing, RevealedPrice, SettledCost, UpstreamAnswer, VendorRoute } from '../vendor.ts';
import { parseTwilioForm, single, type TwilioParams } from './form-body.ts';
import { bareSegment, TwilioOperationIndex } from './operation-index.ts';
import { COSTLY_PARAM, type TwilioCost, type TwilioOperation } from './operations.ts';
import { callMayDial } from './twiml-legs.ts';

/** Verify's voice channel is reserved at one minute (a code read out, repeated). */
const VERIFY_CALL_SECONDS = 60;

function ambiguous(reason: string): Pricing {
  return { kind: 'refused', refusal: refusal('keyleash_ambiguous_request', `Refused: ${reason}. Nothing was sent to Twilio; fix the request before retrying.`) };
}

function unpriced(label: string): Pricing {
  return { kind: 'unpriced', label };
}

const CHANNEL_PREFIX = /^([a-z][a-z0-9-]*):/i;

/** A USD price from a Twilio answer (`"price": "-0.00750", "price_unit": "USD"`), or undefined when absent. */
export function priceFromAnswer(json: unknown): MicroUsd | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const record = json as { price?: unknown; price_unit?: unknown };
  if (typeof record.price_unit !== 'string' || record.price_unit.toUpperCase() !== 'USD') return undefined;
  const text = typeof record.price === 'number' ? String(record.price) : record.price;
  if (typeof text !== 'string') return undefined;
  const magnitude = text.trim().replace(/^[-+]/, '');
  if (parseDecimalString(magnitude) === undefined) return undefined;
  try {
    return usdDecimalToMicros(magnitude);
  } catch {
    return undefined;
  }
}

function sidOf(json: unknown): string | undefined {
  const sid = (json as { sid?: unknown } | null)?.sid;
  return typeof sid === 'string' && /^[A-Z]{2}[0-9a-fA-F]{32}$/.test(sid) ? sid : undefined;
}

/** keep the estimate unless the answer carries the real price; remember the object either way */
function settleFromAnswer(estimate: MicroUsd) {
  return (answer: UpstreamAnswer): SettledCost => {
    const sid = sidOf(answer.json);
    return { micros: priceFromAnswer(answer.json) ?? estimate, ...(sid ? { paidObjectIds: [sid] } : {}) };
  };
}

/** Lookup query parameters that buy data (line type, caller name, add-ons…); a plain lookup is free. */
const PAID_LOOKUP_PARAMS = /^(Fields|Type|AddOns)(\.|$)/;

/** does this parameter make a free operation cost? (see operations.ts) */
function costsWith(cost: Extract<TwilioCost, { kind: 'free' }>, name: string): boolean {
  const lower = name.toLowerCase();
  if (cost.costlyParams?.some((param) => param.toLowerCase() === lower)) return true;
  return COSTLY_PARAM.test(name) && !cost.harmlessParams?.some((param) => param.toLowerCase() === lower);
}

/** `SM….json` -> `SM…` */
function bareSid(segment: string): string {
  return segment.replace(/\.(?:json|xml|csv)$/i, '');
}

export class TwilioPricing {
  private readonly operations = new TwilioOperationIndex();

  constructor(private readonly table: () => TwilioPriceTable) {}

  price(request: InboundRequest, route: VendorRoute, key: VaultKeyRecord): Pricing {
    const [host = '', ...path] = route.segments;
    const product = host.slice(0, -'.twilio.com'.length);
    const label = `${request.method} ${route.segments.join('/')}`;
    const settings = key.policy.twilio ?? NO_TWILIO_SETTINGS;

    if (request.method === 'POST' || request.method === 'DELETE') {
      const operation = this.operations.find(request.method, host, path);
      if (!operation) return request.method === 'DELETE' ? { kind: 'free', label } : unpriced(label);
      return this.classified(operation, request, label, settings);
    }
    if (request.method === 'GET' || request.method === 'HEAD') {
      if (product === 'lookups') {
        const paid = [...new URLSearchParams(request.rawQuery).keys()].find((name) => PAID_LOOKUP_PARAMS.test(name));
        if (paid) return unpriced(`${label} with ${paid} (a paid Lookup data package)`);
      }
      const bare = path.map(bareSegment);
      const fetchesPaidObject = bare.length === 5 && bare[0] === '2010-04-01' && bare[1] === 'accounts' && (bare[3] === 'messages' || bare[3] === 'calls');
      if (request.method === 'GET' && product === 'api' && fetchesPaidObject) {
        const objectId = bareSid(path[4]!);
        return { kind: 'free', label, revealsPrice: (answer) => this.revealed(objectId, answer) };
      }
      return { kind: 'free', label };
    }
    return unpriced(label);
  }

  /** what the table says, applied to this request */
  private classified(operation: TwilioOperation, request: InboundRequest, label: string, settings: TwilioSettings): Pricing {
    const cost = operation.cost;
    switch (cost.kind) {
      case 'credential':
        return {
          kind: 'refused',
          refusal: refusal(
            'keyleash_endpoint_not_allowed',
            `Refused: ${label} ${operation.why}: keyleash never lets an agent mint or destroy a Twilio credential, or suspend or close the account, whatever the key allows. Do not retry.`,
          ),
        };
      case 'unpriced':
        return unpriced(`${label} (${operation.why})`);
      case 'priced': {
        // Twilio may read parameters from the query string too: two places to say `To` is one too many
        if (request.rawQuery !== '') return ambiguous('a Twilio request that costs money must carry its parameters in the form body, not the query string');
        const form = parseTwilioForm(request.headers, request.body);
        if (!form.ok) return ambiguous(form.reason);
        const pricer = cost.pricer === 'message' ? this.message(settings) : cost.pricer === 'call' ? this.call(settings, request) : this.verification(settings);
        return pricer(form.params);
      }
      case 'free': {
        if (request.method === 'DELETE') return { kind: 'free', label };
        // the parameters, wherever Twilio may read them: the form body and the query string
        const form = parseTwilioForm(request.headers, request.body);
        if (!form.ok) return ambiguous(form.reason);
        const names = [...form.params.keys(), ...new URLSearchParams(request.rawQuery).keys()];
        const costly = names.find((name) => costsWith(cost, name));
        if (costly) return unpriced(`${label} with ${costly} (${operation.why})`);
        return { kind: 'free', label };
      }
    }
  }

  private revealed(objectId: string, answer: UpstreamAnswer): RevealedPrice | undefined {
    if (!/^(SM|MM|CA)[0-9a-fA-F]{32}$/.test(objectId)) return undefined;
    const micros = priceFromAnswer(answer.json);
    return micros === undefined ? undefined : { objectId, micros };
  }

  /** `To` as a priceable phone number, or the Pricing that says why not */
  private destination(params: TwilioParams, what: string): { ok: true; to: string } | { ok: false; pricing: Pricing } {
    const to = single(params, 'To');
    if (!to.ok) return { ok: false, pricing: ambiguous(to.reason) };
    if (to.value === undefined) return { ok: false, pricing: ambiguous(`${what} needs "To" for keyleash to price it`) };
    const channel = CHANNEL_PREFIX.exec(to.value);
    if (channel) return { ok: false, pricing: unpriced(`${what} over the "${channel[1]}:" channel (keyleash prices phone numbers only)`) };
    if (!isE164(to.value)) {
      return { ok: false, pricing: ambiguous(`"To" must be an E.164 phone number such as +15551230000 for keyleash to price ${what}; got "${to.value.slice(0, 20)}"`) };
    }
    return { ok: true, to: to.value };
  }

  private message(settings: TwilioSettings) {
    return (params: TwilioParams): Pricing => {
      for (const name of ['From', 'MessagingServiceSid', 'Body', 'ContentSid', 'SendAsMms']) {
        const checked = single(params, name);
        if (!checked.ok) return ambiguous(checked.reason);
      }
      const destination = this.destination(params, 'a message');
      if (!destination.ok) return destination.pricing;
      if (params.has('ContentSid')) return unpriced(`a message from a Content template (ContentSid) to ${destination.to.slice(0, 5)}… (its body, hence its segments, is not in the request)`);
      const media = params.get('MediaUrl')?.length ?? 0;
      const sendAsMms = params.get('SendAsMms')?.[0]?.toLowerCase() === 'true';
      const mediaCount = media > 0 ? media : sendAsMms ? 1 : 0;
      const fallback = mediaCount > 0 ? settings.fallbackMmsMicrosPerMessage : settings.fallbackSmsMicrosPerSegment;
      const priced = priceSms(this.table(), {
        to: destination.to,
        body: params.get('Body')?.[0] ?? '',
        mediaCount,
        ...(fallback !== null ? { fallbackMicros: fallback } : {}),
      });
      if (!priced.ok) return unpriced(`a message to ${destination.to.slice(0, 5)}…: ${priced.reason}`);
      const what =
        priced.kind === 'mms'
          ? `MMS to ${priced.country} (${mediaCount} media)`
          : `SMS to ${priced.country}: ${priced.segments} ${priced.encoding} segment${priced.segments === 1 ? '' : 's'}`;
      return {
        kind: 'priced',
        label: `${what}, ${formatUsd(priced.micros)}${priced.usedFallback ? ' (policy fallback price)' : ''}`,
        micros: priced.micros,
        settle: settleFromAnswer(priced.micros),
      };
    };
  }

  private call(settings: TwilioSettings, request: InboundRequest) {
    return (params: TwilioParams): Pricing => {
      for (const name of ['From', 'TimeLimit']) {
        const checked = single(params, name);
        if (!checked.ok) return ambiguous(checked.reason);
      }
      const destination = this.destination(params, 'a call');
      if (!destination.ok) return destination.pricing;
      const given = params.get('TimeLimit')?.[0];
      let seconds: number;
      let upstreamBody: Buffer | undefined;
      if (given !== undefined) {
        if (!/^[1-9][0-9]{0,5}$/.test(given)) return ambiguous(`"TimeLimit" must be a whole number of seconds, got "${given.slice(0, 20)}"`);
        seconds = Number(given);
      } else if (settings.defaultCallTimeLimitSeconds !== null) {
        // the bound keyleash prices is the bound Twilio enforces
        seconds = settings.defaultCallTimeLimitSeconds;
        upstreamBody = Buffer.concat([request.body, Buffer.from(`${request.body.length > 0 ? '&' : ''}TimeLimit=${seconds}`)]);
      } else {
        return unpriced(
          `a call to ${destination.to.slice(0, 5)}… without "TimeLimit" (it could last 4 hours; set TimeLimit, or give the key twilio.default_call_time_limit_seconds)`,
        );
      }
      const fallback = settings.fallbackVoiceMicrosPerMinute;
      const fallbackPrice = fallback !== null ? { fallbackPerMinuteMicros: fallback } : {};
      const priced = priceCall(this.table(), { to: destination.to, timeLimitSeconds: seconds, ...fallbackPrice });
      if (!priced.ok) return unpriced(`a call to ${destination.to.slice(0, 5)}…: ${priced.reason}`);
      const toLeg = `Call to ${priced.country}: up to ${priced.minutes} min, ${formatUsd(priced.micros)}${priced.usedFallback ? ' (policy fallback price)' : ''}`;
      const timeLimitNote = upstreamBody ? ' (TimeLimit from the key policy)' : '';
      const mayDial = callMayDial(params);
      if (mayDial === undefined) {
        return { kind: 'priced', label: `${toLeg}${timeLimitNote}`, micros: priced.micros, settle: settleFromAnswer(priced.micros), ...(upstreamBody ? { upstreamBody } : {}) };
      }
      // a <Dial>ed leg is a call of its own, to a number keyleash never sees: counted at the dearest voice price
      const dialed = priceDialedLeg(this.table(), { timeLimitSeconds: seconds, ...fallbackPrice });
      if (!dialed.ok) return unpriced(`a call to ${destination.to.slice(0, 5)}… that may dial a second leg (${mayDial}): ${dialed.reason}`);
      const micros = priced.micros + dialed.micros;
      const where = dialed.usedFallback ? 'the policy fallback voice price' : `the dearest voice price in the table (${dialed.country})`;
      return {
        kind: 'priced',
        label: `${toLeg} + a dialed leg at ${where}, ${formatUsd(dialed.perMinuteMicros)}/min: ${formatUsd(dialed.micros)} (${mayDial}); ${formatUsd(micros)} in all${timeLimitNote}`,
        micros,
        // no settlement from the answer and no object remembered: the parent call's price (now or
        // fetched later) does not include its dialed legs, so it must not lower the count
        ...(upstreamBody ? { upstreamBody } : {}),
      };
    };
  }

  private verification(settings: TwilioSettings) {
    return (params: TwilioParams): Pricing => {
      const channelParam = single(params, 'Channel');
      if (!channelParam.ok) return ambiguous(channelParam.reason);
      const channel = channelParam.value?.toLowerCase();
      if (channel === undefined) return ambiguous('a verification needs "Channel" for keyleash to price it');
      const table = this.table();
      const fee = priceVerification(table);
      if (channel === 'email') {
        const to = single(params, 'To');
        if (!to.ok) return ambiguous(to.reason);
        return { kind: 'priced', label: `Verification by email, ${formatUsd(fee)}`, micros: fee };
      }
      if (channel !== 'sms' && channel !== 'auto' && channel !== 'call') {
        return unpriced(`a verification over the "${channel.slice(0, 20)}" channel (keyleash prices sms, call and email)`);
      }
      const destination = this.destination(params, 'a verification');
      if (!destination.ok) return destination.pricing;
      let channelCost;
      if (channel === 'call') {
        const fallback = settings.fallbackVoiceMicrosPerMinute;
        channelCost = priceCall(table, { to: destination.to, timeLimitSeconds: VERIFY_CALL_SECONDS, ...(fallback !== null ? { fallbackPerMinuteMicros: fallback } : {}) });
      } else {
        const fallback = settings.fallbackSmsMicrosPerSegment;
        channelCost = priceSms(table, { to: destination.to, body: '', mediaCount: 0, ...(fallback !== null ? { fallbackMicros: fallback } : {}) });
      }
      if (!channelCost.ok) return unpriced(`a verification to ${destination.to.slice(0, 5)}…: ${channelCost.reason}`);
      const micros = fee + channelCost.micros;
      return {
        kind: 'priced',
        label: `Verification by ${channel} to ${channelCost.country}: ${formatUsd(fee)} + ${channel === 'call' ? 'one minute of voice' : 'one SMS segment'} ${formatUsd(channelCost.micros)}`,
        micros,
      };
    };
  }
}
