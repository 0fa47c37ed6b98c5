import { keyleashRefusalOf, vendorClientsFor, type AgentCredentials, type VendorClients } from '@keyleash/client';
import { tool as langChainTool, type DynamicStructuredTool, type StructuredToolInterface, type ToolRuntime } from '@langchain/core/tools';
import { resolveCredentials, toolCallIdOf, type CredentialsSource } from './credentials.ts';
import { refusalOutcome, type OnRefusal } from './refusals.ts';

/** A user's existing code: builds LangChain tools around vendor clients it is given. */
export type LangChainToolFactory = (clients: VendorClients) => readonly StructuredToolInterface[];

export interface WrapToolFactoryOptions {
  onRefusal?: OnRefusal;
}

/** Only used when credentials are chosen per call: the factory is run once to learn its tools' names and schemas. */
const TEMPLATE_CREDENTIALS: AgentCredentials = { role: 'tool-factory-template', vaultKey: 'vk_toolfactorytemplate_notakey' };

/**
 * Runs a user's existing tool factory unchanged under a vault key: "zero code changes to the tool
 * implementations". The factory receives vendor clients bound to the agent's key instead of clients
 * holding the real secret.
 *
 * The factory is called once to learn its tools (names, descriptions, schemas), then again for each
 * tool call with clients attributed to that call (tool name, tool call id), so concurrent calls never
 * share attribution. Building LangChain tools is cheap; a factory with side effects runs them per call.
 * The factory should not call the vendor while building its tools.
 */
export function wrapToolFactory(factory: LangChainToolFactory, credentials: CredentialsSource, options: WrapToolFactoryOptions = {}): DynamicStructuredTool[] {
  const templateCredentials = typeof credentials === 'function' ? TEMPLATE_CREDENTIALS : credentials;
  const templates = factory(vendorClientsFor(templateCredentials, { tool: 'tool-factory' }));
  const names = new Set<string>();
  for (const template of templates) {
    if (names.has(template.name)) throw new Error(`keyleash: the tool factory returns two tools named "${template.name}"`);
    names.add(template.name);
  }
  return templates.map((template) => {
    const run = async (input: unknown, runtime: ToolRuntime): Promise<unknown> => {
      const agent = resolveCredentials(credentials, runtime);
      const toolCallId = toolCallIdOf(runtime);
      const clients = vendorClientsFor(agent, { tool: template.name, ...(toolCallId ? { toolCallId } : {}) });
      const bound = factory(clients).find((candidate) => candidate.name === template.name);
      if (!bound) throw new Error(`keyleash: the tool factory stopped returning a tool named "${template.name}"`);
      try {
        return await bound.invoke(input as never, runtime);
      } catch (error) {
        const refusal = keyleashRefusalOf(error);
        if (!refusal) throw error;
        return refusalOutcome(template.name, refusal, options.onRefusal);
      }
    };
    return langChainTool(run as never, {
      name: template.name,
      description: template.description,
      schema: template.schema as never,
      ...(template.returnDirect ? { returnDirect: true } : {}),
    }) as unknown as DynamicStructuredTool;
  });
}
