/**
 * The example's tools. Two ways to bring tools under keyleash:
 * - define them once, framework-neutral, with `defineTool` (like the ready-made `createPaymentIntent`);
 * - keep your existing LangChain tools, written against a Stripe client, and run them through
 *   `wrapToolFactory` (see `refundTools` below: it knows nothing about keyleash).
 */
import { defineTool } from '@keyleash/client';
import { tool } from '@langchain/core/tools';
import type Stripe from 'stripe';
import { z } from 'zod';

/** A neutral tool: the refund agent checks a payment before refunding it. */
export const lookupPayment = defineTool({
  name: 'lookup_payment',
  description: 'Look up a payment (a Stripe PaymentIntent) by its id: amount, currency, status, description.',
  input: z.object({ payment_intent: z.string().describe('the PaymentIntent id, pi_…') }),
  async run(input, { clients }) {
    const intent = await clients.stripe.paymentIntents.retrieve(input.payment_intent);
    return { id: intent.id, amount: intent.amount, currency: intent.currency, status: intent.status, description: intent.description };
  },
});

/** "Your existing code": LangChain tools closing over a Stripe client, unchanged. */
export function refundTools(stripe: Stripe) {
  return [
    tool(
      async ({ payment_intent, amount }) => {
        const refund = await stripe.refunds.create({ payment_intent, ...(amount ? { amount } : {}), reason: 'requested_by_customer' });
        return `refund ${refund.id}: ${refund.amount} ${refund.currency} ${refund.status} on ${payment_intent}`;
      },
      {
        name: 'refund_payment',
        description: "Refund a payment, fully or partly. amount is in the currency's smallest unit (cents); omit it to refund what remains.",
        schema: z.object({ payment_intent: z.string(), amount: z.number().int().positive().optional() }),
      },
    ),
  ];
}
