export { credentialsFromContext, resolveCredentials, toolCallIdOf, type CredentialsSource } from './credentials.ts';
export { KeyleashRefusalError, refusalOutcome, type OnRefusal } from './refusals.ts';
export { toLangChainTool, toLangChainTools, type KeyleashToolOptions } from './tools.ts';
export { wrapToolFactory, type LangChainToolFactory, type WrapToolFactoryOptions } from './tool-factory.ts';
export { agentResultText, runSubAgent, subAgentTool, type SubAgentKey, type SubAgentScope, type SubAgentToolOptions } from './sub-agent.ts';
