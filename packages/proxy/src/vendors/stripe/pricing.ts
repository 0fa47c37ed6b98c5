/**
 * What a Stripe request costs before it is sent, and what it cost once Stripe answered.
 *
 * Counting rule: one payment is counted once per key tree, at the most it can move. The ledger
 * remembers, per key tree and payment object (a PaymentIntent; a Charge made without one), the
 * amount already counted for it. Every step that can make the object move money says what the
 * object can move once the step has run (its *ceiling*); the step costs what that ceiling exceeds
 * what the tree already counted, decided atomically in the store (`AdmitRequest.object`), so
 * concurrent steps on one object are each counted exactly once:
 * - creating a PaymentIntent (also with `confirm=true`) or a Charge counts its amount, and the
 *   object is remembered at that amount once Stripe answers with its id;
 * - updating a PaymentIntent's `amount` or `currency`: the ceiling is the new amount (the field not
 *   sent is looked up); an update that sets neither costs 0 and changes nothing;
 * - confirm: the ceiling is the intent's current amount, looked up with the real key (it may have
 *   been changed anywhere since);
 * - `increment_authorization`: the ceiling is the new total `amount`, in the intent's currency;
 * - capture (PaymentIntent or Charge): the ceiling is `amount_to_capture` / `amount`, or what is
 *   capturable; a Charge that belongs to a PaymentIntent is counted as that PaymentIntent;
 * - an object never counted in this tree (created elsewhere: the dashboard, another tree) is thus
 *   counted in full at its first step through the tree;
 * - a ceiling at or below what was counted costs 0; lowering an amount gives nothing back;
 * - a refund counts its amount, whichever path creates it (`POST /v1/refunds`, the legacy
 *   `/v1/charges/{charge}/refund` and `/v1/charges/{charge}/refunds`); without `amount` it counts
 *   the whole refundable remainder, looked up before deciding;
 * - transfers and payouts count their amount.
 * All amounts are converted to micro-USD with Stripe's currency exponents and the FX table,
 * rounding up.
 */
import { formatUsd, minorAmountToMicros, type FxTable } from '@keyleash/core';
import type { InboundRequest, Pricing, PricingContext, SettledCost, UpstreamAnswer, VendorRoute } from '../vendor.ts';
import { integerParam, parseStripeForm, scalarParam, type FormParams } from './form-body.ts';
import { ambiguous, lookupFailed } from './pricing-refusals.ts';

type PriceRequest = (params: FormParams, route: VendorRoute, context: PricingContext) => Promise<Pricing>;

interface PricedOperation {
  method: string;
  /** path shape with `*` for one id segment */
  shape: string;
  label: string;
  price: PriceRequest;
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

function stringField(json: unknown, field: string): string | undefined {
  const value = (json as Record<string, unknown> | null)?.[field];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A Stripe object as looked up with the real key: its answer, or the refusal to send. */
type Found = { ok: true; json: unknown } | { ok: false; pricing: Pricing };

export class StripePricing {
  private readonly operations: PricedOperation[];

  constructor(private readonly fx: () => FxTable) {
    this.operations = [
      { method: 'POST', shape: 'v1/payment_intents', label: 'PaymentIntent create', price: (p) => this.fromParams(p, 'PaymentIntent') },
      { method: 'POST', shape: 'v1/payment_intents/*', label: 'PaymentIntent update', price: (p, r, c) => this.intentUpdate(p, r, c) },
      { method: 'POST', shape: 'v1/payment_intents/*/confirm', label: 'PaymentIntent confirm', price: (_p, r, c) => this.intentConfirm(r, c) },
      { method: 'POST', shape: 'v1/payment_intents/*/capture', label: 'PaymentIntent capture', price: (p, r, c) => this.intentCapture(p, r, c) },
      {
        method: 'POST',
        shape: 'v1/payment_intents/*/increment_authorization',
        label: 'PaymentIntent increment_authorization',
        price: (p, r, c) => this.intentIncrement(p, r, c),
      },
      { method: 'POST', shape: 'v1/charges', label: 'Charge create', price: (p) => this.fromParams(p, 'Charge') },
      { method: 'POST', shape: 'v1/charges/*/capture', label: 'Charge capture', price: (p, r, c) => this.chargeCapture(p, r, c) },
      { method: 'POST', shape: 'v1/refunds', label: 'Refund create', price: (p, _r, c) => this.refund(p, c) },
      { method: 'POST', shape: 'v1/charges/*/refund', label: 'Charge refund (legacy)', price: (p, r, c) => this.refund(p, c, r.segments[2]!) },
      { method: 'POST', shape: 'v1/charges/*/refunds', label: 'Charge refunds create (legacy)', price: (p, r, c) => this.refund(p, c, r.segments[2]!) },
      { method: 'POST', shape: 'v1/transfers', label: 'Transfer create', price: (p) => this.fromParams(p, 'Transfer') },
      { method: 'POST', shape: 'v1/payouts', label: 'Payout create', price: (p) => this.fromParams(p, 'Payout') },
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

  /** the settlement of a create: the answer's amount, and the object it created (counted at it from now on) */
  private settleFromAnswer(fallbackMicros: number) {
    return (answer: UpstreamAnswer): SettledCost => {
      const money = readMoney(answer.json);
      const converted = money ? this.toMicros(money) : undefined;
      const id = stringField(answer.json, 'id');
      return { micros: converted?.ok ? converted.micros : fallbackMicros, ...(id ? { paidObjectIds: [id] } : {}) };
    };
  }

  private async fromParams(params: FormParams, what: string): Promise<Pricing> {
    const amount = integerParam(params, 'amount');
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

  /**
   * A step on an existing object: the store reserves what `money` (the object's ceiling after the
   * step) exceeds what this key tree already counted for `objectId`.
   */
  private objectStep(objectId: string, step: string, money: Money): Pricing {
    const ceiling = this.toMicros(money);
    if (!ceiling.ok) return ambiguous(ceiling.reason);
    return {
      kind: 'priced',
      label: `${step} lets ${objectId} move up to ${money.amount} ${money.currency.toLowerCase()} (${formatUsd(ceiling.micros)}); it counts what that exceeds what this key tree already counted for ${objectId}`,
      micros: 0,
      object: { id: objectId, ceilingMicros: ceiling.micros },
    };
  }

  private async lookUp(context: PricingContext, host: string, resource: 'payment_intents' | 'charges', id: string): Promise<Found> {
    const found = await context.lookup({ method: 'GET', host, path: `/v1/${resource}/${encodeURIComponent(id)}` });
    if (found.status !== 200 || readMoney(found.json) === undefined) return { ok: false, pricing: lookupFailed(`${resource} ${id}`, found.status) };
    return { ok: true, json: found.json };
  }

  /** `POST /v1/payment_intents/{intent}`: priced only when it sets `amount` or `currency` */
  private async intentUpdate(params: FormParams, route: VendorRoute, context: PricingContext): Promise<Pricing> {
    const id = route.segments[2]!;
    const amount = integerParam(params, 'amount');
    if (!amount.ok) return ambiguous(amount.reason);
    const currency = scalarParam(params, 'currency');
    if (!currency.ok) return ambiguous(currency.reason);
    if (amount.value === undefined && currency.value === undefined) {
      return { kind: 'priced', label: `PaymentIntent ${id} update without "amount" or "currency" (moves nothing more)`, micros: 0 };
    }
    let money: Money;
    if (amount.value !== undefined && currency.value !== undefined) {
      money = { amount: amount.value, currency: currency.value };
    } else {
      const found = await this.lookUp(context, route.upstreamHost, 'payment_intents', id);
      if (!found.ok) return found.pricing;
      const current = readMoney(found.json)!;
      money = { amount: amount.value ?? current.amount, currency: currency.value ?? current.currency };
    }
    return this.objectStep(id, `PaymentIntent ${id} update`, money);
  }

  private async intentConfirm(route: VendorRoute, context: PricingContext): Promise<Pricing> {
    const id = route.segments[2]!;
    const found = await this.lookUp(context, route.upstreamHost, 'payment_intents', id);
    if (!found.ok) return found.pricing;
    return this.objectStep(id, `PaymentIntent ${id} confirm`, readMoney(found.json)!);
  }

  private async intentCapture(params: FormParams, route: VendorRoute, context: PricingContext): Promise<Pricing> {
    const id = route.segments[2]!;
    const explicit = integerParam(params, 'amount_to_capture');
    if (!explicit.ok) return ambiguous(explicit.reason);
    const found = await this.lookUp(context, route.upstreamHost, 'payment_intents', id);
    if (!found.ok) return found.pricing;
    const money = readMoney(found.json, 'amount_capturable') ?? readMoney(found.json)!;
    return this.objectStep(id, `PaymentIntent ${id} capture`, { amount: explicit.value ?? money.amount, currency: money.currency });
  }

  /** `amount` is the new total the intent may capture, in its own currency */
  private async intentIncrement(params: FormParams, route: VendorRoute, context: PricingContext): Promise<Pricing> {
    const id = route.segments[2]!;
    const amount = integerParam(params, 'amount');
    if (!amount.ok) return ambiguous(amount.reason);
    if (amount.value === undefined) return ambiguous('increment_authorization needs "amount", the new total, for keyleash to price it');
    const found = await this.lookUp(context, route.upstreamHost, 'payment_intents', id);
    if (!found.ok) return found.pricing;
    return this.objectStep(id, `PaymentIntent ${id} increment_authorization`, { amount: amount.value, currency: readMoney(found.json)!.currency });
  }

  /** a Charge that belongs to a PaymentIntent is that PaymentIntent's money: counted as it */
  private async chargeCapture(params: FormParams, route: VendorRoute, context: PricingContext): Promise<Pricing> {
    const id = route.segments[2]!;
    const explicit = integerParam(params, 'amount');
    if (!explicit.ok) return ambiguous(explicit.reason);
    const found = await this.lookUp(context, route.upstreamHost, 'charges', id);
    if (!found.ok) return found.pricing;
    const money = readMoney(found.json)!;
    const objectId = stringField(found.json, 'payment_intent') ?? id;
    return this.objectStep(objectId, `Charge ${id} capture`, { amount: explicit.value ?? money.amount, currency: money.currency });
  }

  /**
   * A refund is in the currency of its charge, so the charge is always looked up. `pathCharge`: the
   * legacy paths name the charge in the path (`/v1/charges/{charge}/refund(s)`).
   */
  private async refund(params: FormParams, context: PricingContext, pathCharge?: string): Promise<Pricing> {
    const charge = scalarParam(params, 'charge');
    const intent = scalarParam(params, 'payment_intent');
    const amount = integerParam(params, 'amount');
    const currency = scalarParam(params, 'currency');
    for (const parsed of [charge, intent, amount, currency]) if (!parsed.ok) return ambiguous(parsed.reason);
    if (!charge.ok || !intent.ok || !amount.ok || !currency.ok) throw new Error('unreachable');
    if (pathCharge !== undefined && intent.value !== undefined) {
      return ambiguous(`this refund names charge ${pathCharge} in the path and a "payment_intent" too; name only the charge`);
    }
    if (pathCharge === undefined && (charge.value === undefined) === (intent.value === undefined)) {
      return ambiguous('a refund names exactly one of "charge" or "payment_intent"');
    }
    let chargeId = pathCharge ?? charge.value;
    if (intent.value !== undefined) {
      const found = await context.lookup({ method: 'GET', host: 'api.stripe.com', path: `/v1/payment_intents/${encodeURIComponent(intent.value)}` });
      const latest = stringField(found.json, 'latest_charge');
      if (found.status !== 200 || latest === undefined) return lookupFailed(`payment_intent ${intent.value} (or its latest charge)`, found.status);
      chargeId = latest;
    }
    const found = await context.lookup({ method: 'GET', host: 'api.stripe.com', path: `/v1/charges/${encodeURIComponent(chargeId!)}` });
    const chargeMoney = readMoney(found.json);
    const alreadyRefunded = (found.json as { amount_refunded?: unknown } | null)?.amount_refunded;
    if (found.status !== 200 || !chargeMoney || typeof alreadyRefunded !== 'number') return lookupFailed(`charge ${chargeId}`, found.status);
    // what can be refunded is what was captured (a partial capture releases the rest)
    const captured = readMoney(found.json, 'amount_captured')?.amount ?? chargeMoney.amount;
    if (currency.value !== undefined && currency.value.toLowerCase() !== chargeMoney.currency.toLowerCase()) {
      return ambiguous(`this refund says "currency" ${currency.value} but charge ${chargeId} is in ${chargeMoney.currency}; leave "currency" out`);
    }
    const refundable = Math.max(captured - alreadyRefunded, 0);
    const refundAmount = amount.value ?? refundable;
    const micros = this.toMicros({ amount: refundAmount, currency: chargeMoney.currency });
    if (!micros.ok) return ambiguous(micros.reason);
    const label = amount.value === undefined ? `Refund of the full remainder ${refundAmount} ${chargeMoney.currency}` : `Refund ${refundAmount} ${chargeMoney.currency}`;
    // a legacy `/refund` answers with the charge, not the refund: only /v1/refunds' answer is the refund's amount
    return { kind: 'priced', label, micros: micros.micros, ...(pathCharge === undefined ? { settle: this.refundSettle(micros.micros) } : {}) };
  }

  private refundSettle(fallbackMicros: number) {
    return (answer: UpstreamAnswer): SettledCost => {
      const money = readMoney(answer.json);
      const converted = money ? this.toMicros(money) : undefined;
      return { micros: converted?.ok ? converted.micros : fallbackMicros };
    };
  }
}
