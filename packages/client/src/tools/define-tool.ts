import type { z } from 'zod';
import { keyleashRefusalOf, type KeyleashRefusal } from '../refusal.ts';
import { vendorClientsFor, type AgentCredentials, type VendorClients } from './credentials.ts';

export interface ToolRunContext {
  clients: VendorClients;
  credentials: AgentCredentials;
  toolCallId?: string;
}

/**
 * A tool defined once, framework-neutral: its name, what it does (for the model), its zod input,
 * and a function that receives the vendor clients of whichever agent runs it. Adapters turn it
 * into a LangChain or OpenAI Agents tool in a few lines.
 */
export interface KeyleashTool<Input extends z.ZodType = z.ZodType, Output = unknown> {
  name: string;
  description: string;
  input: Input;
  run(input: z.infer<Input>, context: ToolRunContext): Promise<Output>;
}

export function defineTool<Input extends z.ZodType, Output>(tool: KeyleashTool<Input, Output>): KeyleashTool<Input, Output> {
  return tool;
}

export type ToolOutcome<Output> = { ok: true; output: Output } | { ok: false; refusal: KeyleashRefusal };

/**
 * Runs a tool under an agent's credentials. A keyleash refusal (cap reached, endpoint not
 * allowed, key revoked…) comes back as a value the adapter shows the model; any other error
 * propagates: it is a bug or an outage, not a policy decision.
 */
export async function runTool<Input extends z.ZodType, Output>(
  tool: KeyleashTool<Input, Output>,
  credentials: AgentCredentials,
  input: z.infer<Input>,
  call: { toolCallId?: string } = {},
): Promise<ToolOutcome<Output>> {
  const clients = vendorClientsFor(credentials, { tool: tool.name, ...(call.toolCallId ? { toolCallId: call.toolCallId } : {}) });
  try {
    return { ok: true, output: await tool.run(input, { clients, credentials, ...(call.toolCallId ? { toolCallId: call.toolCallId } : {}) }) };
  } catch (error) {
    const refusal = keyleashRefusalOf(error);
    if (refusal) return { ok: false, refusal };
    throw error;
  }
}

/** The text a model reads when keyleash refused: what happened and that retrying will not help. */
export function refusalToolResult(tool: string, refusal: KeyleashRefusal): string {
  const retry = refusal.code === 'keyleash_rate_limited' ? 'Wait a minute before retrying.' : 'Do not retry this call.';
  const message = refusal.message.includes('etry') ? refusal.message : `${refusal.message} ${retry}`;
  return `refused by keyleash (${refusal.code}) in tool ${tool}: ${message}`;
}

/** A tool's output as the text a model reads. */
export function toolOutputText(output: unknown): string {
  return typeof output === 'string' ? output : JSON.stringify(output);
}
