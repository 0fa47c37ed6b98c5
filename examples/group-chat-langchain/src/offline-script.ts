/**
 * What the scripted model server answers offline, per agent (the `model` name each agent's chat
 * model sends). Each turn is a tool call or a final text; later turns read the conversation they
 * are sent (tool results, ids), as a model would, so nothing in the outcome is hard-coded.
 */
import type { ModelRequest, Script, Turn } from '../../../test/upstreams/openai/server.ts';

export const MODEL_NAMES = { supervisor: 'supervisor', billing: 'billing_agent', fees: 'fees_agent', refunds: 'refund_agent' } as const;

export const CARD = 'pm_card_visa';

export const REQUEST =
  'Order 1001 for Ada Lovelace, card pm_card_visa (Stripe test mode). Charge the 49.00 USD order total. ' +
  'Have the fees agent charge 12.00 USD shipping and 5.00 USD express handling. ' +
  'Then Ada asked for 10.00 USD back for the late delivery: refund it on the order-total payment.';

const paymentIntents = (text: string) => text.match(/pi_[A-Za-z0-9]+/g) ?? [];

/** the agents' final answers, as the supervisor sees them */
function agentAnswers(request: ModelRequest): string[] {
  return (request.body.messages as { role: string; content: unknown }[])
    .filter((m) => m.role === 'assistant' && typeof m.content === 'string' && m.content !== '' && !m.content.startsWith('Transferring back'))
    .map((m) => m.content as string);
}

const call = (name: string, args: Record<string, unknown>): Turn => ({ toolCalls: [{ name, arguments: args }] });

export function offlineScript(): Script {
  return {
    [MODEL_NAMES.supervisor]: [
      call('transfer_to_billing_agent', {}),
      call('transfer_to_refund_agent', {}),
      (request) => ({ text: `Order 1001 handled.\n${agentAnswers(request).join('\n')}` }),
    ],
    [MODEL_NAMES.billing]: [
      call('create_payment_intent', { amount: 4900, currency: 'usd', description: 'Order 1001', payment_method: CARD }),
      call('collect_fees', { task: `Order 1001: charge 12.00 USD shipping and 5.00 USD express handling, card ${CARD}.` }),
      (request) => {
        const total = request.toolResults.find((r) => r.output.includes('"amount":4900'));
        return { text: `Billing: order total ${paymentIntents(total?.output ?? '')[0]} 49.00 USD. Fees agent: ${request.newToolResults[0]!.output}` };
      },
    ],
    [MODEL_NAMES.fees]: [
      call('create_payment_intent', { amount: 1200, currency: 'usd', description: 'Order 1001 shipping', payment_method: CARD }),
      call('create_payment_intent', { amount: 500, currency: 'usd', description: 'Order 1001 express handling', payment_method: CARD }),
      (request) => {
        const [shipping, handling] = request.toolResults.filter((r) => !r.output.startsWith('Successfully transferred')).map((r) => r.output);
        const line = (what: string, output = '') => (output.startsWith('refused by keyleash') ? `${what} not charged (${output})` : `${what} ${paymentIntents(output)[0]} charged`);
        return { text: `${line('shipping', shipping)}; ${line('express handling', handling)}` };
      },
    ],
    [MODEL_NAMES.refunds]: [
      // the order-total payment is the first one the billing agent reported
      (request) => call('lookup_payment', { payment_intent: paymentIntents(request.transcript)[0] }),
      (request) => {
        const payment = JSON.parse(request.newToolResults[0]!.output) as { id: string; amount: number };
        return call('refund_payment', { payment_intent: payment.id, amount: Math.min(1000, payment.amount) });
      },
      (request) => ({ text: `Refunds: ${request.newToolResults[0]!.output}` }),
    ],
  };
}
