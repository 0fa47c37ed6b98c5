import { createPaymentIntent, createRefund, retrieveCustomer, sendSms, type KeyleashTool } from '@keyleash/client';

/** The neutral tool definitions the framework adapters use, offered over MCP by default. */
export const DEFAULT_MCP_TOOLS: readonly KeyleashTool<any, any>[] = [createPaymentIntent, createRefund, retrieveCustomer, sendSms];

/** The tools named in `names` (all of `available` when none are named); an unknown name is an error. */
export function selectTools(names: readonly string[] | undefined, available: readonly KeyleashTool<any, any>[] = DEFAULT_MCP_TOOLS): KeyleashTool<any, any>[] {
  if (!names?.length) return [...available];
  return names.map((name) => {
    const tool = available.find((candidate) => candidate.name === name);
    if (!tool) throw new Error(`no tool "${name}": the MCP server offers ${available.map((t) => t.name).join(', ')}`);
    return tool;
  });
}
