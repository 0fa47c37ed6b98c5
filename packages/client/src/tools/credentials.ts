import type Stripe from 'stripe';
import type twilio from 'twilio';
import type { Attribution } from '../attribution.ts';
import { stripeFor } from '../stripe.ts';
import { twilioFor } from '../twilio.ts';

/** One agent role's identity towards keyleash: its vault key and who it is, for attribution. */
export interface AgentCredentials {
  /** the agent role, recorded as `agent` in every audit row */
  role: string;
  vaultKey: string;
  /** default env KEYLEASH_URL */
  proxyUrl?: string;
  /** the run this agent belongs to, recorded as `run_id` */
  runId?: string;
}

/** The vendor clients a tool receives: bound to the calling agent's key, attributed to the call. */
export interface VendorClients {
  readonly stripe: Stripe;
  readonly twilio: twilio.Twilio;
}

export interface ToolCall {
  tool: string;
  toolCallId?: string;
}

/**
 * Vendor clients for one tool call. Built per call (cheap: the SDK client is a thin object) so
 * two agents with two keys in the same process can never share a client by accident.
 */
export function vendorClientsFor(credentials: AgentCredentials, call: ToolCall): VendorClients {
  const attribution: Attribution = {
    agent: credentials.role,
    tool: call.tool,
    ...(credentials.runId ? { runId: credentials.runId } : {}),
    ...(call.toolCallId ? { toolCallId: call.toolCallId } : {}),
  };
  let stripe: Stripe | undefined;
  let twilioClient: twilio.Twilio | undefined;
  return {
    get stripe() {
      stripe ??= stripeFor({ vaultKey: credentials.vaultKey, ...(credentials.proxyUrl ? { proxyUrl: credentials.proxyUrl } : {}), attribution });
      return stripe;
    },
    get twilio() {
      twilioClient ??= twilioFor({ vaultKey: credentials.vaultKey, ...(credentials.proxyUrl ? { proxyUrl: credentials.proxyUrl } : {}), attribution });
      return twilioClient;
    },
  };
}
