/**
 * Money moved outside PaymentIntents and Charges, priced through the official SDK, a real keyleash
 * and the fake Stripe: from the request's amount, or from the object looked up with the real key
 * before anything is sent. Each is counted, and refused over the cap without reaching Stripe.
 */
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { auditOf, directSdk, sdk, sdkError, useStripeStack } from './harness.ts';

const stack = useStripeStack({ label: 'indirect' });

const ENDPOINTS = [
  'POST /v1/topups',
  'POST /v1/customers/*/balance_transactions',
  'POST /v1/transfers/*/reversals',
  'POST /v1/payouts/*/reverse',
  'POST /v1/application_fees/*/refunds',
  'POST /v1/application_fees/*/refund',
  'POST /v1/treasury/outbound_payments',
  'POST /v1/treasury/outbound_transfers',
  'POST /v1/treasury/inbound_transfers',
  'POST /v1/invoices/*/pay',
];

async function keyWithCap(dailyUsd: number, policy: Record<string, unknown> = {}) {
  const key = await stack.api.issue({ vendor: 'stripe', daily_usd_cap: dailyUsd, allowed_endpoints: ENDPOINTS, expires_in: '1h', metadata: { role: 'indirect' }, ...policy });
  return { key, stripe: sdk(stack.keyleash.url, key.vault_key) };
}

/** The micro-USD each allowed call of the key reserved and settled, oldest first. */
async function counted(keyId: string) {
  return (await auditOf(stack, keyId)).filter((row) => row.decision === 'allowed').map((row) => [row.reserved_micros, row.settled_micros]);
}

/** Raises keyleash_daily_cap_reached, and no POST reached Stripe (a GET lookup may have). */
async function overCap(call: () => Promise<unknown>) {
  const before = stack.upstream.requests.length;
  const error = await sdkError(call());
  expect(error).toBeInstanceOf(Stripe.errors.StripePermissionError);
  expect(error.code).toBe('keyleash_daily_cap_reached');
  expect(stack.upstream.requests.slice(before).filter((r) => r.method !== 'GET')).toEqual([]);
}

describe('priced from the request', () => {
  it('a top-up counts its amount', async () => {
    const { key, stripe } = await keyWithCap(100);
    const topup = await stripe.topups.create({ amount: 2500, currency: 'usd' });
    expect(topup.amount).toBe(2500);
    expect(await counted(key.id)).toEqual([[25_000_000, 25_000_000]]);
    await overCap(() => stripe.topups.create({ amount: 8000, currency: 'usd' }));
  });

  it('a customer balance transaction counts the absolute amount: a $5,000 credit is refused under $100', async () => {
    const { key, stripe } = await keyWithCap(100);
    const customer = await directSdk(stack).customers.create({ email: 'credit@example.com' });
    await overCap(() => stripe.customers.createBalanceTransaction(customer.id, { amount: -500000, currency: 'usd' }));
    await stripe.customers.createBalanceTransaction(customer.id, { amount: -1500, currency: 'usd' });
    await stripe.customers.createBalanceTransaction(customer.id, { amount: 700, currency: 'eur' });
    const rows = await counted(key.id);
    expect(rows[0]).toEqual([15_000_000, 15_000_000]);
    // 7.00 EUR at the FX table's rate, rounded up: more than $7
    expect(rows[1]![0]).toBeGreaterThan(7_000_000);
  });

  it('Treasury outbound payments, outbound transfers and inbound transfers count their amount', async () => {
    const { key, stripe } = await keyWithCap(100);
    await stripe.treasury.outboundPayments.create({ financial_account: 'fa_1', amount: 1200, currency: 'usd', destination_payment_method: 'pm_1' });
    await stripe.treasury.outboundTransfers.create({ financial_account: 'fa_1', amount: 3000, currency: 'usd', destination_payment_method: 'pm_1' });
    await stripe.treasury.inboundTransfers.create({ financial_account: 'fa_1', amount: 500, currency: 'usd', origin_payment_method: 'pm_1' });
    expect(await counted(key.id)).toEqual([
      [12_000_000, 12_000_000],
      [30_000_000, 30_000_000],
      [5_000_000, 5_000_000],
    ]);
    await overCap(() => stripe.treasury.outboundPayments.create({ financial_account: 'fa_1', amount: 6000, currency: 'usd', destination_payment_method: 'pm_1' }));
  });

  it('concurrent customer credits fit the cap exactly: 14 of 40 simultaneous $7 credits under $100', async () => {
    const { key, stripe } = await keyWithCap(100);
    const customer = await directSdk(stack).customers.create({ email: 'burst@example.com' });
    const before = stack.upstream.requests.length;
    const results = await Promise.allSettled(Array.from({ length: 40 }, () => stripe.customers.createBalanceTransaction(customer.id, { amount: -700, currency: 'usd' })));
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(14);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as InstanceType<typeof Stripe.errors.StripeError>).code).toBe('keyleash_daily_cap_reached');
    expect(stack.upstream.requests.slice(before).filter((r) => r.method === 'POST').length).toBe(14);
    expect((await counted(key.id)).reduce((sum, [, settled]) => sum + settled, 0)).toBe(98_000_000);
  });

  it('a request that does not say how much is refused as ambiguous, not guessed', async () => {
    const { stripe } = await keyWithCap(100);
    const before = stack.upstream.requests.length;
    const error = await sdkError(stripe.customers.createBalanceTransaction('cus_1', { amount: 100 } as Stripe.CustomerCreateBalanceTransactionParams));
    expect(error.code).toBe('keyleash_ambiguous_request');
    expect(error.message).toContain('"currency"');
    expect(stack.upstream.requests.length).toBe(before);
  });
});

describe('priced by a lookup with the real key', () => {
  it('a transfer reversal counts its amount, or without one all that is left of the transfer', async () => {
    const { key, stripe } = await keyWithCap(100);
    const transfer = await directSdk(stack).transfers.create({ amount: 3000, currency: 'usd', destination: 'acct_1Destination' });
    const before = stack.upstream.requests.length;
    await stripe.transfers.createReversal(transfer.id, { amount: 1000 });
    const lookups = stack.upstream.requests.slice(before).filter((r) => r.method === 'GET');
    expect(lookups.map((r) => r.path)).toEqual([`/v1/transfers/${transfer.id}`]);
    expect(lookups[0]!.headers.authorization).toBe(`Bearer ${stack.secret}`);
    await stripe.transfers.createReversal(transfer.id);
    expect(await counted(key.id)).toEqual([
      [10_000_000, 10_000_000],
      [20_000_000, 20_000_000],
    ]);
    expect((await directSdk(stack).transfers.retrieve(transfer.id)).amount_reversed).toBe(3000);
  });

  it('a transfer reversal larger than the cap is refused before the reversal is sent', async () => {
    const { stripe } = await keyWithCap(10);
    const transfer = await directSdk(stack).transfers.create({ amount: 5000, currency: 'usd', destination: 'acct_1Destination' });
    await overCap(() => stripe.transfers.createReversal(transfer.id));
    expect((await directSdk(stack).transfers.retrieve(transfer.id)).amount_reversed).toBe(0);
  });

  it('looks the object up on the connected account the request acts for', async () => {
    const { stripe } = await keyWithCap(100, { stripe_accounts: ['acct_1Connected'] });
    const transfer = await directSdk(stack).transfers.create({ amount: 900, currency: 'usd', destination: 'acct_1Destination' });
    const before = stack.upstream.requests.length;
    await stripe.transfers.createReversal(transfer.id, {}, { stripeAccount: 'acct_1Connected' });
    const lookup = stack.upstream.requests.slice(before).find((r) => r.method === 'GET');
    expect(lookup?.headers['stripe-account']).toBe('acct_1Connected');
  });

  it('a payout reversal counts the payout', async () => {
    const { key, stripe } = await keyWithCap(100);
    const payout = await directSdk(stack).payouts.create({ amount: 4000, currency: 'usd' });
    await stripe.payouts.reverse(payout.id);
    expect(await counted(key.id)).toEqual([[40_000_000, 40_000_000]]);
  });

  it('an application fee refund counts its amount, or the unrefunded fee, by both paths', async () => {
    const { key, stripe } = await keyWithCap(100);
    const fee = (await directSdk(stack).applicationFees.retrieve('fee_1Lookup')) as Stripe.ApplicationFee;
    const left = fee.amount - fee.amount_refunded;
    expect(left).toBeGreaterThan(0);
    await stripe.applicationFees.createRefund('fee_1Lookup', { amount: 40 });
    await stripe.applicationFees.createRefund('fee_1Lookup');
    const legacy = await fetch(`${stack.keyleash.url}/v1/application_fees/fee_1Lookup/refund`, { method: 'POST', headers: { authorization: `Bearer ${key.vault_key}` } });
    expect(legacy.status).toBe(200);
    expect(await counted(key.id)).toEqual([
      [400_000, 400_000],
      [left * 10_000, left * 10_000],
      [left * 10_000, left * 10_000],
    ]);
  });

  it('paying an invoice counts what it still owes, and is refused over the cap', async () => {
    const { key, stripe } = await keyWithCap(100);
    const invoice = await directSdk(stack).invoices.retrieve('in_1Owed');
    expect(invoice.amount_remaining).toBeGreaterThan(0);
    const paid = await stripe.invoices.pay('in_1Owed');
    expect(paid.object).toBe('invoice');
    const owed = invoice.amount_remaining * 10_000;
    expect(await counted(key.id)).toEqual([[owed, owed]]);

    const small = await keyWithCap(owed / 1_000_000 - 0.01);
    await overCap(() => small.stripe.invoices.pay('in_1Owed'));
  });

  it('an id Stripe does not know is refused, naming it, and nothing is sent', async () => {
    const { stripe } = await keyWithCap(100);
    const before = stack.upstream.requests.length;
    const error = await sdkError(stripe.transfers.createReversal('tr_1Missing'));
    expect(error.code).toBe('keyleash_ambiguous_request');
    expect(error.message).toContain('tr_1Missing');
    expect(stack.upstream.requests.slice(before).filter((r) => r.method === 'POST')).toEqual([]);
  });
});
