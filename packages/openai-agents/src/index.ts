export { credentialsFromContext, resolveCredentials, type CredentialsSource, type KeyleashAgentContext } from './credentials-source.ts';
export { KeyleashRefusalError, keyleashToolErrorFunction, toAgentsTool, toAgentsTools, type ToAgentsToolOptions } from './agents-tool.ts';
export { subAgentTool, type ChildKeyEvent, type SubAgentToolOptions } from './sub-agent-tool.ts';
export * from './model.ts';
