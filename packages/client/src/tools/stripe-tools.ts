import type Stripe from 'stripe';
import { z } from 'zod';
import { defineTool } from './define-tool.ts';

/** Ready-made tools, so a user can start without writing any. Each is one small definition. */
export const createPaymentIntent = defineTool({
  name: 'create_payment_intent',
  description:
    "Charge a customer: create a Stripe PaymentIntent, confirmed at once when payment_method is given (e.g. pm_card_visa in test mode). amount is in the currency's smallest unit (cents for USD).",
  input: z.object({
    amount: z.number().int().positive(),
    currency: z.string().length(3),
    customer: z.string().optional(),
    description: z.string().optional(),
    payment_method: z.string().optional(),
  }),
  // the declared result keeps the emitted .d.ts free of paths into stripe's internals
  async run(input, { clients }): Promise<{ id: string; amount: number; currency: string; status: Stripe.PaymentIntent.Status }> {
    const intent = await clients.stripe.paymentIntents.create({
      amount: input.amount,
      currency: input.currency,
      ...(input.customer ? { customer: input.customer } : {}),
      ...(input.description ? { description: input.description } : {}),
      // confirmed server-side, without redirect-based methods: no return_url needed
      ...(input.payment_method ? { payment_method: input.payment_method, confirm: true, automatic_payment_methods: { enabled: true, allow_redirects: 'never' as const } } : {}),
    });
    return { id: intent.id, amount: intent.amount, currency: intent.currency, status: intent.status };
  },
});

export const createRefund = defineTool({
  name: 'create_refund',
  description: 'Refund a payment, fully or partly. Give the PaymentIntent id; omit amount to refund what remains.',
  input: z.object({ payment_intent: z.string(), amount: z.number().int().positive().optional() }),
  async run(input, { clients }) {
    const refund = await clients.stripe.refunds.create({ payment_intent: input.payment_intent, ...(input.amount ? { amount: input.amount } : {}) });
    return { id: refund.id, amount: refund.amount, currency: refund.currency, status: refund.status };
  },
});

export const retrieveCustomer = defineTool({
  name: 'retrieve_customer',
  description: 'Look up a Stripe customer by id.',
  input: z.object({ customer: z.string() }),
  async run(input, { clients }) {
    const customer = await clients.stripe.customers.retrieve(input.customer);
    if ('deleted' in customer && customer.deleted) return { id: customer.id, deleted: true };
    return { id: customer.id, email: customer.email, name: customer.name };
  },
});
