import { z } from 'zod';
import type { VendorClients } from './credentials.ts';
import { defineTool } from './define-tool.ts';

const e164 = z.string().regex(/^\+[1-9][0-9]{1,14}$/, 'an E.164 phone number such as +15551230000');

async function send(
  clients: VendorClients,
  message: { to: string; body: string; from?: string | undefined; messagingServiceSid?: string | undefined; mediaUrl?: string[] | undefined },
) {
  const sent = await clients.twilio.messages.create({
    to: message.to,
    body: message.body,
    ...(message.from ? { from: message.from } : {}),
    ...(message.messagingServiceSid ? { messagingServiceSid: message.messagingServiceSid } : {}),
    ...(message.mediaUrl?.length ? { mediaUrl: message.mediaUrl } : {}),
  });
  return { sid: sent.sid, status: sent.status, to: sent.to, segments: sent.numSegments, price: sent.price, price_unit: sent.priceUnit };
}

/**
 * Text someone: an SMS (or an MMS with media) through Twilio. The model picks the sender; use
 * `sendSmsFrom` to fix the sender in code instead.
 */
export const sendSms = defineTool({
  name: 'send_sms',
  description:
    'Send a text message (SMS, or MMS when media_url is given) with Twilio. Give the recipient and sender as E.164 numbers (+15551230000), or a messaging_service_sid instead of from.',
  input: z
    .object({
      to: e164,
      body: z.string().min(1).max(1600),
      from: e164.optional(),
      messaging_service_sid: z.string().regex(/^MG[0-9a-fA-F]{32}$/).optional(),
      media_url: z.array(z.url()).max(10).optional(),
    })
    .refine((input) => (input.from === undefined) !== (input.messaging_service_sid === undefined), { message: 'give exactly one of from or messaging_service_sid' }),
  async run(input, { clients }) {
    return send(clients, { to: input.to, body: input.body, from: input.from, messagingServiceSid: input.messaging_service_sid, mediaUrl: input.media_url });
  },
});

/** `send_sms` with the sender fixed in code: the model gives only the recipient and the text. */
export function sendSmsFrom(sender: { from: string } | { messagingServiceSid: string }) {
  return defineTool({
    name: 'send_sms',
    description: 'Send a text message (SMS) with Twilio to an E.164 phone number (+15551230000).',
    input: z.object({ to: e164, body: z.string().min(1).max(1600) }),
    async run(input, { clients }) {
      return send(clients, { to: input.to, body: input.body, ...('from' in sender ? { from: sender.from } : { messagingServiceSid: sender.messagingServiceSid }) });
    },
  });
}
