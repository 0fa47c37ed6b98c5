import { defineTool } from '@keyleash/client';
import { z } from 'zod';

/**
 * The example's own tool, defined once with the framework-neutral layer: charge the card on
 * file now. Stripe test mode's `pm_card_visa` stands for the customer's saved card.
 */
export const chargeCard = defineTool({
  name: 'charge_card',
  description: "Charge the customer's card on file now (a confirmed Stripe PaymentIntent). amount is in cents.",
  input: z.object({
    customer: z.string().describe('Stripe customer id, cus_…'),
    amount: z.number().int().positive().describe('in cents: 6000 is $60.00'),
    currency: z.string().length(3),
    description: z.string().optional(),
  }),
  async run(input, { clients }) {
    const intent = await clients.stripe.paymentIntents.create({
      customer: input.customer,
      amount: input.amount,
      currency: input.currency,
      payment_method: 'pm_card_visa',
      // no redirect-based payment methods, so a server-side confirm needs no return_url
      automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
      confirm: true,
      ...(input.description ? { description: input.description } : {}),
    });
    return { id: intent.id, amount: intent.amount, currency: intent.currency, status: intent.status };
  },
});
