/**
 * Prices for the Stripe operations that move money outside PaymentIntents and Charges (top-ups,
 * customer balance, transfer and payout reversals, application fee refunds, Treasury money
 * movement, invoice pay): from the request's parameters, and where they do not say how much,
 * from the object looked up with the real key before anything is sent.
 *
 * Each counts the money the call moves, in whichever direction (a credit to a customer is money
 * given away; a reversal or top-up moves money as surely as a payout does). Nothing here settles
 * from Stripe's answer: the amount is fixed before the call, so the reservation is the cost.
 */
import { minorAmountToMicros, type FxTable } from '@keyleash/core';
import type { InboundRequest, Pricing, PricingContext, VendorRoute } from '../vendor.ts';
import { integerParam, scalarParam, signedIntegerParam, type FormParams, type IntegerParam } from './form-body.ts';
import type { IndirectPricerName } from './operation-kinds.ts';
import { ambiguous, lookupFailed } from './pricing-refusals.ts';

export type IndirectPricer = (params: FormParams, request: InboundRequest, route: VendorRoute, context: PricingContext) => Promise<Pricing>;

interface Money {
  amount: number;
  currency: string;
}

/** the whole-number fields of a looked-up object, or undefined when one is missing */
function readFields<K extends string>(json: unknown, fields: readonly K[]): (Record<K, number> & { currency: string }) | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const record = json as Record<string, unknown>;
  if (typeof record.currency !== 'string') return undefined;
  const out: Record<string, number | string> = { currency: record.currency };
  for (const field of fields) {
    const value = record[field];
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) return undefined;
    out[field] = value;
  }
  return out as Record<K, number> & { currency: string };
}

export function createIndirectPricers(fx: () => FxTable): Record<IndirectPricerName, IndirectPricer> {
  function priced(what: string, money: Money): Pricing {
    const micros = minorAmountToMicros(money.amount, money.currency, fx());
    if (!micros.ok) return ambiguous(micros.reason);
    return { kind: 'priced', label: `${what} ${money.amount} ${money.currency.toLowerCase()}`, micros: micros.micros };
  }

  /** `amount` and `currency`, both required: the request alone says what moves */
  function fromParams(what: string, params: FormParams, amount: IntegerParam): Pricing {
    const currency = scalarParam(params, 'currency');
    if (!amount.ok) return ambiguous(amount.reason);
    if (!currency.ok) return ambiguous(currency.reason);
    if (amount.value === undefined || currency.value === undefined) return ambiguous(`${what} needs "amount" and "currency" for keyleash to price it`);
    return priced(what, { amount: Math.abs(amount.value), currency: currency.value });
  }

  /** the object the path names (segment 2), looked up on the account the request acts for */
  async function lookUp(request: InboundRequest, route: VendorRoute, context: PricingContext, resource: string) {
    const id = route.segments[2]!;
    const account = request.headers['stripe-account'];
    const found = await context.lookup({
      method: 'GET',
      host: 'api.stripe.com',
      path: `/v1/${resource}/${encodeURIComponent(id)}`,
      ...(typeof account === 'string' ? { headers: { 'stripe-account': account } } : {}),
    });
    return { id, ...found };
  }

  /** a partial or full reversal/refund of a looked-up object: `amount`, or all that is left of it */
  async function remainder(
    what: string,
    params: FormParams,
    request: InboundRequest,
    route: VendorRoute,
    context: PricingContext,
    resource: string,
    doneField: 'amount_reversed' | 'amount_refunded',
  ): Promise<Pricing> {
    const amount = integerParam(params, 'amount');
    if (!amount.ok) return ambiguous(amount.reason);
    const found = await lookUp(request, route, context, resource);
    const object = found.status === 200 ? readFields(found.json, ['amount', doneField]) : undefined;
    if (!object) return lookupFailed(`${resource} ${found.id}`, found.status);
    const left = Math.max(object.amount - object[doneField], 0);
    if (amount.value !== undefined) return priced(`${what} of ${found.id}`, { amount: amount.value, currency: object.currency });
    return priced(`${what} of all that is left of ${found.id}`, { amount: left, currency: object.currency });
  }

  return {
    topup: async (params) => fromParams('Top-up', params, integerParam(params, 'amount')),
    // negative is a credit to the customer, positive a debit they will be charged: both count
    customer_balance_transaction: async (params) => fromParams('Customer balance adjustment', params, signedIntegerParam(params, 'amount')),
    treasury_money: async (params, _request, route) => fromParams(`Treasury ${route.segments[2]!.replaceAll('_', ' ')}`, params, integerParam(params, 'amount')),
    transfer_reversal: (params, request, route, context) => remainder('Transfer reversal', params, request, route, context, 'transfers', 'amount_reversed'),
    application_fee_refund: (params, request, route, context) => remainder('Application fee refund', params, request, route, context, 'application_fees', 'amount_refunded'),

    // a reversal pulls the whole payout back from the bank account
    async payout_reversal(_params, request, route, context) {
      const found = await lookUp(request, route, context, 'payouts');
      const payout = found.status === 200 ? readFields(found.json, ['amount']) : undefined;
      if (!payout) return lookupFailed(`payouts ${found.id}`, found.status);
      return priced(`Payout reversal of ${found.id}`, payout);
    },

    // paying charges what the invoice still owes (an out-of-band payment is counted too: keyleash cannot tell)
    async invoice_pay(_params, request, route, context) {
      const found = await lookUp(request, route, context, 'invoices');
      const invoice = found.status === 200 ? readFields(found.json, ['amount_remaining']) : undefined;
      if (!invoice) return lookupFailed(`invoices ${found.id}`, found.status);
      return priced(`Invoice ${found.id} paid: amount remaining`, { amount: invoice.amount_remaining, currency: invoice.currency });
    },
  };
}
