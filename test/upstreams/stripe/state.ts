/**
 * In-memory Stripe state and the handful of money-moving behaviours that tests rely on being
 * consistent across calls: PaymentIntents (create/confirm/capture/cancel), Charges, Refunds,
 * Customers, Transfers and Payouts. Every other operation is answered statelessly from the fixtures
 * (see `statelessResponse`), the way stripe-mock does.
 */
import { randomBytes } from 'node:crypto';
import type { Fixture, RouteMatch } from './spec.ts';
import { isParam } from './spec.ts';

export type Obj = Record<string, unknown>;

export interface ApiResult {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface Call {
  method: string;
  pathname: string;
  match: RouteMatch;
  /** validated, type-coerced parameters (form body for POST, query for GET/DELETE) */
  input: Obj;
}

export function stripeError(
  status: number,
  message: string,
  extra: { type?: string; code?: string; param?: string; [k: string]: unknown } = {},
): ApiResult {
  const { type = 'invalid_request_error', ...rest } = extra;
  const error: Obj = { type, message, ...rest };
  if (typeof rest.code === 'string') error.doc_url = `https://stripe.com/docs/error-codes/${rest.code.replace(/_/g, '-')}`;
  return { status, body: { error } };
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export function newId(prefix: string, length = 24): string {
  const bytes = randomBytes(length);
  let out = prefix;
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return out;
}

const now = () => Math.floor(Date.now() / 1000);
const int = (v: unknown): number => (typeof v === 'number' ? v : 0);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** URL path segment → resource name for the collections that keep state. */
const COLLECTIONS: Record<string, string> = {
  payment_intents: 'payment_intent',
  charges: 'charge',
  refunds: 'refund',
  customers: 'customer',
  transfers: 'transfer',
  payouts: 'payout',
};

/** Test payment methods that decline, after Stripe's test-card catalogue. */
const DECLINES: Record<string, string> = {
  pm_card_chargeDeclined: 'generic_decline',
  pm_card_visa_chargeDeclined: 'generic_decline',
  pm_card_chargeDeclinedInsufficientFunds: 'insufficient_funds',
  pm_card_visa_chargeDeclinedInsufficientFunds: 'insufficient_funds',
  pm_card_chargeDeclinedLostCard: 'lost_card',
  tok_chargeDeclined: 'generic_decline',
  tok_chargeDeclinedInsufficientFunds: 'insufficient_funds',
};

export class StripeState {
  private readonly objects = new Map<string, Map<string, Obj>>();

  constructor(private readonly fixtures: Record<string, Fixture>) {}

  reset(): void {
    this.objects.clear();
  }

  get(resource: string, id: string): Obj | undefined {
    return this.objects.get(resource)?.get(id);
  }

  private put(resource: string, obj: Obj): Obj {
    let table = this.objects.get(resource);
    if (!table) this.objects.set(resource, (table = new Map()));
    table.set(String(obj.id), obj);
    return obj;
  }

  /** Newest first, as Stripe lists. */
  private all(resource: string): Obj[] {
    return [...(this.objects.get(resource)?.values() ?? [])].reverse();
  }

  /**
   * A deep copy of the resource's fixture. With `freshId`, the fixture's id is replaced everywhere it
   * occurs (nested list URLs, client_secret) by a new id with the same prefix (`pi_`, `cs_test_`, …).
   */
  fixture(resource: string, freshId: boolean): Obj {
    const base = this.fixtures[resource] ?? { object: resource };
    let text = JSON.stringify(base);
    const oldId = base.id;
    // Short ids without a prefix (country specs "US", coupons) are left alone.
    if (freshId && typeof oldId === 'string' && oldId.includes('_') && oldId.length >= 8) {
      const prefix = /^(.*_)[^_]*$/.exec(oldId)?.[1] ?? '';
      text = text.split(oldId).join(newId(prefix));
    }
    const obj = JSON.parse(text) as Obj;
    if (freshId && 'created' in obj) obj.created = now();
    return obj;
  }

  /** Handles the stateful operations; undefined means "not ours, answer from the fixtures". */
  handle(call: Call): ApiResult | undefined {
    const { method } = call;
    const tpl = call.match.route.segments; // ['v1', 'payment_intents', '{intent}', 'confirm']
    const resource = tpl[0] === 'v1' ? COLLECTIONS[tpl[1] ?? ''] : undefined;
    if (!resource) return undefined;
    const url = `/${tpl.slice(0, 2).join('/')}`;

    if (tpl.length === 2 && method === 'POST') return this.create(resource, call.input);
    if (tpl.length === 2 && method === 'GET') return this.list(resource, call.input, url);
    if (tpl.length === 3 && tpl[2] === 'search' && method === 'GET') return this.search(resource, call.input, call.pathname);

    const idParam = tpl[2];
    if (!idParam || !isParam(idParam)) return undefined;
    const id = call.match.params[idParam.slice(1, -1)] ?? '';
    const action = tpl[3];
    const response = call.match.route.response;
    // Reversals change the transfer they reverse, so a later lookup sees what is left.
    if (resource === 'transfer' && tpl.length === 4 && action === 'reversals' && method === 'POST') {
      const transfer = this.get('transfer', id);
      if (!transfer) return stripeError(404, `No such transfer: '${id}'`, { code: 'resource_missing', param: 'id' });
      return this.reverseTransfer(transfer, call.input);
    }
    // Sub-resources (/v1/customers/{customer}/tax_ids …) stay stateless, except a charge's refunds.
    const chargeRefunds = resource === 'charge' && action === 'refunds' && method === 'POST' && tpl.length === 4;
    if (!chargeRefunds && (tpl.length > 4 || (action !== undefined && (isParam(action) || response.kind !== 'object' || response.resource !== resource)))) {
      return undefined;
    }

    const obj = this.get(resource, id);
    if (!obj) return stripeError(404, `No such ${resource}: '${id}'`, { code: 'resource_missing', param: idParam.slice(1, -1) });
    // POST /v1/charges/{charge}/refunds creates a refund of that charge (answers with the refund)
    if (resource === 'charge' && action === 'refunds' && method === 'POST' && tpl.length === 4) {
      const { payment_intent: _ignored, ...rest } = call.input;
      return this.createRefund({ ...rest, charge: obj.id });
    }
    if (obj.deleted === true && !(method === 'GET' && action === undefined)) {
      return stripeError(404, `No such ${resource}: '${id}'`, { code: 'resource_missing', param: idParam.slice(1, -1) });
    }

    if (action === undefined) {
      if (method === 'GET') return { status: 200, body: obj };
      if (method === 'DELETE') {
        const tombstone = { id, object: resource, deleted: true };
        this.put(resource, tombstone);
        return { status: 200, body: tombstone };
      }
      if (resource === 'payment_intent') return this.updatePaymentIntent(obj, call.input);
      overlay(obj, call.input);
      return { status: 200, body: obj };
    }
    return this.act(resource, action, obj, call.input);
  }

  /**
   * Applies `expand[]` for fields that hold the id of a stored object (`latest_charge`,
   * `data.charge`, …). Returns a copy so stored objects keep ids. Unknown ids stay as they are.
   */
  expand(body: unknown, paths: unknown): unknown {
    if (!Array.isArray(paths) || typeof body !== 'object' || body === null || Buffer.isBuffer(body)) return body;
    const out = structuredClone(body) as Obj;
    for (const p of paths) {
      const parts = String(p).split('.');
      const targets = parts[0] === 'data' && Array.isArray(out.data) ? (out.data as Obj[]) : [out];
      const field = parts[0] === 'data' && Array.isArray(out.data) ? parts[1] : parts[0];
      if (field === undefined) continue;
      for (const target of targets) {
        const id = target[field];
        if (typeof id !== 'string') continue;
        for (const table of this.objects.values()) {
          const found = table.get(id);
          if (found) target[field] = structuredClone(found);
        }
      }
    }
    return out;
  }

  // ---- create / list -------------------------------------------------------------------------

  private create(resource: string, input: Obj): ApiResult {
    if (typeof input.currency === 'string') input.currency = input.currency.toLowerCase();
    if (resource === 'charge') return this.createCharge(input);
    if (resource === 'refund') return this.createRefund(input);
    const obj = this.fixture(resource, true);
    obj.livemode = false;
    overlay(obj, input);
    switch (resource) {
      case 'payment_intent':
        return this.createPaymentIntent(obj, input);
      case 'payout':
        obj.status = 'pending';
        break;
      case 'transfer':
        obj.amount_reversed = 0;
        obj.reversed = false;
        obj.destination_payment = newId('py_');
        obj.balance_transaction = newId('txn_');
        break;
    }
    return { status: 200, body: this.put(resource, obj) };
  }

  private list(resource: string, input: Obj, url: string): ApiResult {
    const paging = new Set(['limit', 'starting_after', 'ending_before', 'expand', 'created']);
    // Scalar filters that name a field of the object (customer=, payment_intent=, charge=, email=, status=).
    let data = this.all(resource).filter((o) =>
      Object.entries(input).every(([k, v]) => paging.has(k) || typeof v === 'object' || !Object.hasOwn(o, k) || o[k] === v),
    );
    if (typeof input.starting_after === 'string') {
      data = data.slice(data.findIndex((o) => o.id === input.starting_after) + 1);
    } else if (typeof input.ending_before === 'string') {
      const i = data.findIndex((o) => o.id === input.ending_before);
      data = i < 0 ? [] : data.slice(0, i);
    }
    const limit = typeof input.limit === 'number' ? input.limit : 10;
    return { status: 200, body: { object: 'list', data: data.slice(0, limit), has_more: data.length > limit, url } };
  }

  /** Understands `field:'value'` and `metadata['key']:'value'` clauses joined by AND; ignores the rest. */
  private search(resource: string, input: Obj, url: string): ApiResult {
    const clauses = [...String(input.query ?? '').matchAll(/(\w+)(?:\[['"]([^'"]+)['"]\])?:['"]([^'"]*)['"]/g)];
    const data = this.all(resource).filter((o) =>
      clauses.every(([, field = '', key, value]) => {
        const v = key !== undefined ? (o[field] as Obj | null | undefined)?.[key] : o[field];
        return String(v) === value;
      }),
    );
    const limit = typeof input.limit === 'number' ? input.limit : 10;
    return {
      status: 200,
      body: { object: 'search_result', data: data.slice(0, limit), has_more: data.length > limit, next_page: null, url },
    };
  }

  // ---- actions (POST /v1/<collection>/{id}/<action>) ------------------------------------------

  private act(resource: string, action: string, obj: Obj, input: Obj): ApiResult {
    const key = `${resource}.${action}`;
    if (key === 'payment_intent.confirm') return this.confirm(obj, input);
    if (key === 'payment_intent.capture') return this.capturePaymentIntent(obj, input);
    if (key === 'payment_intent.cancel') return this.cancelPaymentIntent(obj, input);
    if (key === 'payment_intent.increment_authorization') return this.incrementAuthorization(obj, input);
    if (key === 'charge.capture') return this.captureCharge(obj, input);
    if (key === 'charge.refund') {
      // Legacy POST /v1/charges/{charge}/refund: refunds, then answers with the charge.
      const { payment_intent: _ignored, ...rest } = input;
      const r = this.createRefund({ ...rest, charge: obj.id });
      return r.status === 200 ? { status: 200, body: this.get('charge', String(obj.id)) } : r;
    }
    // Unknown actions: keep the object consistent (same id), apply the parameters it has fields for.
    overlay(obj, input);
    if (action === 'cancel' && 'status' in obj) obj.status = 'canceled';
    return { status: 200, body: obj };
  }

  // ---- PaymentIntents ------------------------------------------------------------------------

  private createPaymentIntent(pi: Obj, input: Obj): ApiResult {
    const bad = checkAmount(input.amount, input.currency, 'amount');
    if (bad) return bad;
    Object.assign(pi, {
      status: str(input.payment_method) ? 'requires_confirmation' : 'requires_payment_method',
      amount_capturable: 0,
      amount_received: 0,
      canceled_at: null,
      cancellation_reason: null,
      latest_charge: null,
      last_payment_error: null,
    });
    this.put('payment_intent', pi);
    if (input.confirm === true) return this.confirm(pi, input);
    return { status: 200, body: pi };
  }

  private confirm(pi: Obj, input: Obj): ApiResult {
    const allowed = ['requires_payment_method', 'requires_confirmation', 'requires_action'];
    if (!allowed.includes(String(pi.status))) return unexpectedState(pi, 'confirm', allowed);
    overlay(pi, input);
    // Lenient on purpose: a missing payment method confirms as pm_card_visa so tests need not pass one.
    const pm = str(pi.payment_method) ?? 'pm_card_visa';
    pi.payment_method = pm;
    const manual = pi.capture_method === 'manual';
    const charge = this.newCharge({
      amount: pi.amount,
      currency: pi.currency,
      customer: pi.customer ?? null,
      description: pi.description ?? null,
      payment_intent: pi.id,
      payment_method: pm,
      captured: !manual,
    });
    pi.latest_charge = charge.id;

    const decline = DECLINES[pm];
    if (decline) {
      declineCharge(charge);
      const lastError = cardError(decline, charge, pm);
      Object.assign(pi, { status: 'requires_payment_method', last_payment_error: lastError });
      return { status: 402, body: { error: { ...lastError, payment_intent: pi } } };
    }
    Object.assign(pi, manual
      ? { status: 'requires_capture', amount_capturable: pi.amount, last_payment_error: null }
      : { status: 'succeeded', amount_received: pi.amount, last_payment_error: null });
    return { status: 200, body: pi };
  }

  /**
   * `amount` and `currency` may change only before the payment is authorised (Stripe: "You cannot
   * update the amount of a PaymentIntent with status …"); a held authorisation grows with
   * increment_authorization instead.
   */
  private updatePaymentIntent(pi: Obj, input: Obj): ApiResult {
    if (typeof input.currency === 'string') input.currency = input.currency.toLowerCase();
    if (input.amount !== undefined || input.currency !== undefined) {
      const allowed = ['requires_payment_method', 'requires_confirmation', 'requires_action'];
      if (!allowed.includes(String(pi.status))) return unexpectedState(pi, 'update', allowed);
      const bad = checkAmount(input.amount ?? pi.amount, input.currency ?? pi.currency, 'amount');
      if (bad) return bad;
    }
    overlay(pi, input);
    return { status: 200, body: pi };
  }

  /** `amount` is the new total; only a held (requires_capture) authorisation, and only upwards. */
  private incrementAuthorization(pi: Obj, input: Obj): ApiResult {
    if (pi.status !== 'requires_capture') return unexpectedState(pi, 'increment_authorization', ['requires_capture']);
    const amount = int(input.amount);
    if (amount <= int(pi.amount)) {
      return stripeError(400, `The amount must be greater than the currently authorized amount (${int(pi.amount)}).`, {
        code: 'parameter_invalid_integer',
        param: 'amount',
      });
    }
    const { amount: _a, ...rest } = input;
    overlay(pi, rest);
    const increase = amount - int(pi.amount);
    Object.assign(pi, { amount, amount_capturable: int(pi.amount_capturable) + increase });
    const charge = this.get('charge', String(pi.latest_charge));
    if (charge) charge.amount = amount;
    return { status: 200, body: pi };
  }

  private capturePaymentIntent(pi: Obj, input: Obj): ApiResult {
    if (pi.status !== 'requires_capture') return unexpectedState(pi, 'capture', ['requires_capture']);
    const capturable = int(pi.amount_capturable);
    const amount = typeof input.amount_to_capture === 'number' ? input.amount_to_capture : capturable;
    if (amount > capturable) {
      return stripeError(400, `The amount to capture (${amount}) must be less than or equal to the amount capturable (${capturable}).`, {
        code: 'amount_too_large',
        param: 'amount_to_capture',
      });
    }
    const { amount_to_capture: _a, ...rest } = input;
    overlay(pi, rest);
    Object.assign(pi, { status: 'succeeded', amount_received: amount, amount_capturable: 0 });
    const charge = this.get('charge', String(pi.latest_charge));
    if (charge) Object.assign(charge, { captured: true, amount_captured: amount });
    return { status: 200, body: pi };
  }

  private cancelPaymentIntent(pi: Obj, input: Obj): ApiResult {
    const allowed = ['requires_payment_method', 'requires_capture', 'requires_confirmation', 'requires_action', 'processing'];
    if (!allowed.includes(String(pi.status))) return unexpectedState(pi, 'cancel', allowed);
    Object.assign(pi, { status: 'canceled', canceled_at: now(), cancellation_reason: input.cancellation_reason ?? null, amount_capturable: 0 });
    // Canceling an uncaptured payment releases the authorisation, which Stripe shows as a refund.
    const charge = this.get('charge', String(pi.latest_charge));
    if (charge && charge.captured === false && charge.status === 'succeeded') {
      Object.assign(charge, { refunded: true, amount_refunded: charge.amount });
    }
    return { status: 200, body: pi };
  }

  // ---- Charges -------------------------------------------------------------------------------

  private newCharge(fields: Obj): Obj {
    const charge = this.fixture('charge', true);
    const captured = fields.captured !== false;
    Object.assign(charge, {
      livemode: false,
      metadata: {},
      status: 'succeeded',
      paid: true,
      refunded: false,
      amount_refunded: 0,
      amount_captured: captured ? fields.amount : 0,
      balance_transaction: captured ? newId('txn_') : null,
      failure_code: null,
      failure_message: null,
      ...fields,
      captured,
    });
    charge.refunds = { object: 'list', data: [], has_more: false, total_count: 0, url: `/v1/charges/${String(charge.id)}/refunds` };
    return this.put('charge', charge);
  }

  private createCharge(input: Obj): ApiResult {
    for (const p of ['amount', 'currency']) {
      if (input[p] === undefined) return stripeError(400, `Missing required param: ${p}.`, { code: 'parameter_missing', param: p });
    }
    const bad = checkAmount(input.amount, input.currency, 'amount');
    if (bad) return bad;
    const source = str(input.source) ?? 'tok_visa';
    const charge = this.newCharge({
      amount: input.amount,
      currency: input.currency,
      payment_method: source,
      captured: input.capture !== false,
    });
    overlay(charge, input);
    const decline = DECLINES[source];
    if (decline) {
      declineCharge(charge);
      return { status: 402, body: { error: { ...cardError(decline, charge, source) } } };
    }
    return { status: 200, body: charge };
  }

  private captureCharge(charge: Obj, input: Obj): ApiResult {
    if (charge.captured === true) {
      return stripeError(400, `Charge ${String(charge.id)} has already been captured.`, { code: 'charge_already_captured' });
    }
    const amount = typeof input.amount === 'number' ? input.amount : int(charge.amount);
    if (amount > int(charge.amount)) {
      return stripeError(400, `Amount to capture is greater than the charge amount.`, { code: 'amount_too_large', param: 'amount' });
    }
    const { amount: _a, ...rest } = input;
    overlay(charge, rest);
    Object.assign(charge, { captured: true, amount_captured: amount, balance_transaction: newId('txn_') });
    const pi = this.get('payment_intent', String(charge.payment_intent));
    if (pi && pi.status === 'requires_capture') Object.assign(pi, { status: 'succeeded', amount_received: amount, amount_capturable: 0 });
    return { status: 200, body: charge };
  }

  // ---- Transfer reversals --------------------------------------------------------------------

  private reverseTransfer(transfer: Obj, input: Obj): ApiResult {
    const remaining = int(transfer.amount) - int(transfer.amount_reversed);
    const amount = typeof input.amount === 'number' ? input.amount : remaining;
    if (remaining <= 0) return stripeError(400, `Transfer ${String(transfer.id)} has already been fully reversed.`, { code: 'transfer_already_reversed' });
    if (amount < 1 || amount > remaining) {
      return stripeError(400, `Reversal amount must be between 1 and the unreversed amount (${remaining}).`, { code: 'parameter_invalid_integer', param: 'amount' });
    }
    const reversal = this.fixture('transfer_reversal', true);
    overlay(reversal, input);
    Object.assign(reversal, { amount, currency: transfer.currency, transfer: transfer.id, balance_transaction: newId('txn_') });
    const reversed = int(transfer.amount_reversed) + amount;
    Object.assign(transfer, { amount_reversed: reversed, reversed: reversed >= int(transfer.amount) });
    return { status: 200, body: reversal };
  }

  // ---- Refunds -------------------------------------------------------------------------------

  private createRefund(input: Obj): ApiResult {
    let charge: Obj | undefined;
    const piId = str(input.payment_intent);
    const chargeId = str(input.charge);
    if (piId) {
      const pi = this.get('payment_intent', piId);
      if (!pi) return stripeError(404, `No such payment_intent: '${piId}'`, { code: 'resource_missing', param: 'payment_intent' });
      charge = pi.latest_charge ? this.get('charge', String(pi.latest_charge)) : undefined;
      if (!charge || charge.status !== 'succeeded') {
        return stripeError(400, `This PaymentIntent (${piId}) does not have a successful charge to refund.`, {
          code: 'charge_not_refundable',
          param: 'payment_intent',
        });
      }
    } else if (chargeId) {
      charge = this.get('charge', chargeId);
      if (!charge) return stripeError(404, `No such charge: '${chargeId}'`, { code: 'resource_missing', param: 'charge' });
    } else {
      return stripeError(400, 'One of the following params should be provided for this request: payment_intent or charge.', {
        code: 'parameter_missing',
      });
    }

    const id = String(charge.id);
    const remaining = int(charge.amount_captured) - int(charge.amount_refunded);
    if (charge.refunded === true || (remaining <= 0 && int(charge.amount_refunded) > 0)) {
      return stripeError(400, `Charge ${id} has already been refunded.`, { code: 'charge_already_refunded' });
    }
    if (remaining <= 0) {
      return stripeError(400, `Charge ${id} has not been captured; cancel the PaymentIntent to release it instead.`, {
        code: 'charge_not_refundable',
      });
    }
    const amount = typeof input.amount === 'number' ? input.amount : remaining;
    if (amount < 1) {
      return stripeError(400, 'This value must be greater than or equal to 1.', { code: 'parameter_invalid_integer', param: 'amount' });
    }
    if (amount > remaining) {
      const cur = String(charge.currency);
      return stripeError(
        400,
        `Refund amount (${money(amount, cur)}) is greater than unrefunded amount on charge (${money(remaining, cur)})`,
        { code: 'amount_too_large', param: 'amount' },
      );
    }

    const refund = this.fixture('refund', true);
    overlay(refund, input);
    Object.assign(refund, {
      amount,
      charge: id,
      payment_intent: charge.payment_intent ?? null,
      currency: charge.currency,
      status: 'succeeded',
      reason: input.reason ?? null,
      balance_transaction: newId('txn_'),
    });
    const refunded = int(charge.amount_refunded) + amount;
    Object.assign(charge, { amount_refunded: refunded, refunded: refunded >= int(charge.amount_captured) });
    const list = charge.refunds as { data?: unknown[]; total_count?: number } | undefined;
    if (list && Array.isArray(list.data)) {
      list.data.unshift(refund);
      list.total_count = list.data.length;
    }
    return { status: 200, body: this.put('refund', refund) };
  }
}

// ---- stateless answers -----------------------------------------------------------------------

/** stripe-mock style: the fixture of the response's resource, with ids and parameters filled in. */
export function statelessResponse(state: StripeState, call: Call): ApiResult {
  const { route, params } = call.match;
  const shape = route.response;
  if (shape.kind === 'binary') {
    return { status: 200, body: Buffer.from('%PDF-1.4\n% fake-stripe\n'), headers: { 'content-type': shape.contentType } };
  }
  if (shape.kind === 'list') {
    const data = shape.resource ? [state.fixture(shape.resource, false)] : [];
    const body: Obj = { object: shape.object, data, has_more: false, url: call.pathname };
    if (shape.object === 'search_result') body.next_page = null;
    return { status: 200, body };
  }
  const pathId = primaryId(route.segments, params, shape.resource);
  const obj = state.fixture(shape.resource, pathId === undefined && call.method === 'POST');
  if (pathId !== undefined && 'id' in obj) obj.id = pathId;
  if (call.method === 'POST') overlay(obj, call.input);
  return { status: 200, body: obj };
}

/**
 * The path parameter that is the id of the returned object, if any: the last `{param}` whose
 * collection segment names the resource (`/v1/invoices/{invoice}/pay` → invoice,
 * `/v1/customers/{customer}/sources/{id}` → id for payment_source).
 */
function primaryId(segments: string[], params: Record<string, string>, resource: string): string | undefined {
  const base = resource.replace(/^deleted_/, '').split('.').pop() ?? '';
  for (let i = segments.length - 1; i > 0; i--) {
    const seg = segments[i] as string;
    if (!isParam(seg)) continue;
    const single = singular(segments[i - 1] ?? '');
    if (single === base || base.endsWith(`_${single}`)) return params[seg.slice(1, -1)];
  }
  return undefined;
}

function singular(word: string): string {
  if (word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (/(ss|x|ch|sh)es$/.test(word)) return word.slice(0, -2);
  return word.endsWith('s') ? word.slice(0, -1) : word;
}

// ---- helpers -----------------------------------------------------------------------------------

/**
 * Copies request parameters onto the object where it has a field of that name (amount, currency,
 * customer, description, metadata, …). '' unsets, as in Stripe; metadata merges key by key.
 */
export function overlay(obj: Obj, input: Obj): void {
  for (const [key, value] of Object.entries(input)) {
    if (key === 'expand' || key === 'id' || key === 'object' || !Object.hasOwn(obj, key)) continue;
    if (key === 'metadata') obj.metadata = mergeMetadata(obj.metadata, value);
    else obj[key] = value === '' ? null : value;
  }
}

function mergeMetadata(current: unknown, update: unknown): Obj {
  if (update === '' || typeof update !== 'object' || update === null) return {};
  const out: Obj = { ...(typeof current === 'object' && current !== null ? (current as Obj) : {}) };
  for (const [k, v] of Object.entries(update as Obj)) {
    if (v === '') delete out[k];
    else out[k] = v;
  }
  return out;
}

function checkAmount(amount: unknown, currency: unknown, param: string): ApiResult | undefined {
  if (typeof amount !== 'number') return undefined;
  if (amount < 1) {
    return stripeError(400, 'This value must be greater than or equal to 1.', { code: 'parameter_invalid_integer', param });
  }
  // Stripe's minimum charge amount; other currencies have their own minimums, not modelled.
  if (currency === 'usd' && amount < 50) {
    return stripeError(400, 'Amount must be at least $0.50 usd', { code: 'amount_too_small', param });
  }
  return undefined;
}

function money(amount: number, currency: string): string {
  const major = (amount / 100).toFixed(2);
  return currency === 'usd' ? `$${major}` : `${major} ${currency.toUpperCase()}`;
}

function unexpectedState(pi: Obj, verb: string, allowed: string[]): ApiResult {
  const past = ({ confirm: 'confirmed', capture: 'captured', cancel: 'canceled', update: 'updated', increment_authorization: 'incremented' } as Record<string, string>)[verb] ?? verb;
  return stripeError(
    400,
    `You cannot ${verb} this PaymentIntent because it has a status of ${String(pi.status)}. ` +
      `Only a PaymentIntent with one of the following statuses may be ${past}: ${allowed.join(', ')}.`,
    { code: 'payment_intent_unexpected_state', payment_intent: pi },
  );
}

function declineCharge(charge: Obj): void {
  Object.assign(charge, {
    status: 'failed',
    paid: false,
    captured: false,
    amount_captured: 0,
    balance_transaction: null,
    failure_code: 'card_declined',
    failure_message: 'Your card was declined.',
  });
}

function cardError(declineCode: string, charge: Obj, paymentMethod: string): Obj {
  return {
    type: 'card_error',
    code: 'card_declined',
    decline_code: declineCode,
    message: declineCode === 'insufficient_funds' ? 'Your card has insufficient funds.' : 'Your card was declined.',
    charge: charge.id,
    doc_url: 'https://stripe.com/docs/error-codes/card-declined',
    payment_method: { id: paymentMethod, object: 'payment_method' },
  };
}
