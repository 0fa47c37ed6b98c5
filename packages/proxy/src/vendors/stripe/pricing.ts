/**
 * What a Stripe request costs before it is sent, and what it cost once Stripe answered.
 *
 * Counting rule (one payment is counted exactly once per key tree):
 * - creating a PaymentIntent or a Charge counts its amount, and remembers the object as paid
 *   for in the key's tree;
 * - confirming or capturing an object already paid for in the same tree costs nothing;
 *   one created elsewhere (the dashboard, another tree) is looked up with the real key and
 *   counted at its amount, then remembered;
 * - a refund counts its amount; a refund without `amount` counts the whole refundable remainder,
 *   looked up upstream before deciding;
 * - transfers and payouts count their amount.
 * All amounts are converted to micro-USD with Stripe's currency exponents and the FX table,
 * rounding up.
 */
import { minorAmountToMicros, refusal, type FxTable } from '@keyleash/core';
import type { InboundRequest, Pricing, PricingContext, SettledCost, UpstreamAnswer, VendorRoute } from '../vendor.ts';
import { integerParam, parseStripeForm, scalarParam, type FormParams } from './form-body.ts';

type PriceRequest = (params: FormParams, route: VendorRoute, context: PricingContext) => Promise<Pricing>;

interface PricedOperation {
  method: string;
  /** path shape with `*` for one id segment */
  shape: string;
  label: string;
  price: PriceRequest;
}

function ambiguous(reason: string): Pricing {
  return { kind: 'refused', refusal: refusal('keyleash_ambiguous_request', `Refused: ${reason}. Nothing was sent to Stripe; fix the request before retrying.`) };
}

function lookupFailed(what: string, status: number): Pricing {
  return {
    kind: 'refused',
    refusal: refusal(
      'keyleash_ambiguous_request',
      `Refused: keyleash could not look up ${what} to price this request (Stripe answered ${status}). Nothing was sent; check the id.`,
    ),
  };
}

interface Money {
  amount: number;
  currency: string;
}

function readMoney(json: unknown, amountField = 'amount'): Money | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const record = json as Record<string, unknown>;
  const amount = record[amountField];
  const currency = record.currency;
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || typeof currency !== 'string') return undefined;
  return { amount, currency };
}

function objectId(json: unknown): string | undefined {
  const id = (json as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id : undefined;
}

export class StripePricing {
  private readonly operations: PricedOperation[];

  constructor(private readonly fx: () => FxTable) {
    this.operations = [
      { method: 'POST', shape: 'v1/payment_intents', label: 'PaymentIntent create', price: (p) => this.fromParams(p, 'amount', 'PaymentIntent') },
      { method: 'POST', shape: 'v1/payment_intents/*/confirm', label: 'PaymentIntent confirm', price: (p, r, c) => this.existingObject(p, r, c, 'payment_intents', 'amount') },
      { method: 'POST', shape: 'v1/payment_intents/*/capture', label: 'PaymentIntent capture', price: (p, r, c) => this.existingObject(p, r, c, 'payment_intents', 'amount_capturable', 'amount_to_capture') },
      { method: 'POST', shape: 'v1/charges', label: 'Charge create', price: (p) => this.fromParams(p, 'amount', 'Charge') },
      { method: 'POST', shape: 'v1/charges/*/capture', label: 'Charge capture', price: (p, r, c) => this.existingObject(p, r, c, 'charges', 'amount', 'amount') },
      { method: 'POST', shape: 'v1/refunds', label: 'Refund create', price: (p, _r, c) => this.refund(p, c) },
      { method: 'POST', shape: 'v1/transfers', label: 'Transfer create', price: (p) => this.fromParams(p, 'amount', 'Transfer') },
      { method: 'POST', shape: 'v1/payouts', label: 'Payout create', price: (p) => this.fromParams(p, 'amount', 'Payout') },
    ];
  }

  /** the priced operation this request is, if any */
  find(method: string, segments: readonly string[]): PricedOperation | undefined {
    return this.operations.find((op) => {
      if (op.method !== method) return false;
      const shape = op.shape.split('/');
      return shape.length === segments.length && shape.every((part, i) => part === '*' || part === segments[i]);
    });
  }

  async price(op: PricedOperation, request: InboundRequest, route: VendorRoute, context: PricingContext): Promise<Pricing> {
    // Stripe also reads parameters from the query string; two places to say `amount` is one too many.
    if (request.rawQuery !== '') return ambiguous('a money-moving Stripe request must carry its parameters in the form body, not the query string');
    const form = parseStripeForm(request.headers, request.body);
    if (!form.ok) return ambiguous(form.reason);
    return op.price(form.params, route, context);
  }

  private toMicros(money: Money): { ok: true; micros: number } | { ok: false; reason: string } {
    return minorAmountToMicros(money.amount, money.currency, this.fx());
  }

  /** the settlement for objects whose answer carries `amount` and `currency` */
  private settleFromAnswer(fallbackMicros: number, amountField = 'amount') {
    return (answer: UpstreamAnswer): SettledCost => {
      const money = readMoney(answer.json, amountField);
      const converted = money ? this.toMicros(money) : undefined;
      const id = objectId(answer.json);
      return { micros: converted?.ok ? converted.micros : fallbackMicros, ...(id ? { paidObjectIds: [id] } : {}) };
    };
  }

  private async fromParams(params: FormParams, amountParam: string, what: string): Promise<Pricing> {
    const amount = integerParam(params, amountParam);
    if (!amount.ok) return ambiguous(amount.reason);
    const currency = scalarParam(params, 'currency');
    if (!currency.ok) return ambiguous(currency.reason);
    if (amount.value === undefined || currency.value === undefined) {
      return ambiguous(`a ${what} needs "amount" and "currency" for keyleash to price it`);
    }
    const micros = this.toMicros({ amount: amount.value, currency: currency.value });
    if (!micros.ok) return ambiguous(micros.reason);
    return { kind: 'priced', label: `${what} ${amount.value} ${currency.value.toLowerCase()}`, micros: micros.micros, settle: this.settleFromAnswer(micros.micros) };
  }

  /** confirm/capture: free when this tree already paid for the object, else priced by lookup */
  private async existingObject(
    params: FormParams,
    route: VendorRoute,
    context: PricingContext,
    resource: 'payment_intents' | 'charges',
    amountField: string,
    amountParam?: string,
  ): Promise<Pricing> {
    const id = route.segments[2]!;
    if ((await context.store.countedForObject(context.key.rootId, id)) !== undefined) {
      return { kind: 'priced', label: `${resource} ${id} (already counted in this key tree)`, micros: 0 };
    }
    const found = await context.lookup({ method: 'GET', host: route.upstreamHost, path: `/v1/${resource}/${id}` });
    if (found.status !== 200) return lookupFailed(`${resource} ${id}`, found.status);
    const money = readMoney(found.json, amountField) ?? readMoney(found.json);
    if (!money) return lookupFailed(`${resource} ${id}`, found.status);
    if (amountParam) {
      const explicit = integerParam(params, amountParam);
      if (!explicit.ok) return ambiguous(explicit.reason);
      if (explicit.value !== undefined) money.amount = explicit.value;
    }
    const micros = this.toMicros(money);
    if (!micros.ok) return ambiguous(micros.reason);
    return {
      kind: 'priced',
      label: `${resource} ${id} ${money.amount} ${money.currency} (created outside this key tree)`,
      micros: micros.micros,
      settle: () => ({ micros: micros.micros, paidObjectIds: [id] }),
    };
  }

  /** a refund is in the currency of its charge, so the charge is always looked up */
  private async refund(params: FormParams, context: PricingContext): Promise<Pricing> {
    const charge = scalarParam(params, 'charge');
    const intent = scalarParam(params, 'payment_intent');
    const amount = integerParam(params, 'amount');
    for (const parsed of [charge, intent, amount]) if (!parsed.ok) return ambiguous(parsed.reason);
    if (!charge.ok || !intent.ok || !amount.ok) throw new Error('unreachable');
    if ((charge.value === undefined) === (intent.value === undefined)) {
      return ambiguous('a refund names exactly one of "charge" or "payment_intent"');
    }
    let chargeId = charge.value;
    if (intent.value !== undefined) {
      const found = await context.lookup({ method: 'GET', host: 'api.stripe.com', path: `/v1/payment_intents/${encodeURIComponent(intent.value)}` });
      const latest = (found.json as { latest_charge?: unknown } | null)?.latest_charge;
      if (found.status !== 200 || typeof latest !== 'string') return lookupFailed(`payment_intent ${intent.value} (or its latest charge)`, found.status);
      chargeId = latest;
    }
    const found = await context.lookup({ method: 'GET', host: 'api.stripe.com', path: `/v1/charges/${encodeURIComponent(chargeId!)}` });
    const chargeMoney = readMoney(found.json);
    const alreadyRefunded = (found.json as { amount_refunded?: unknown } | null)?.amount_refunded;
    if (found.status !== 200 || !chargeMoney || typeof alreadyRefunded !== 'number') return lookupFailed(`charge ${chargeId}`, found.status);
    const refundable = Math.max(chargeMoney.amount - alreadyRefunded, 0);
    const refundAmount = amount.value ?? refundable;
    const micros = this.toMicros({ amount: refundAmount, currency: chargeMoney.currency });
    if (!micros.ok) return ambiguous(micros.reason);
    const label = amount.value === undefined ? `Refund of the full remainder ${refundAmount} ${chargeMoney.currency}` : `Refund ${refundAmount} ${chargeMoney.currency}`;
    return { kind: 'priced', label, micros: micros.micros, settle: this.settleFromAnswer(micros.micros) };
  }
}
