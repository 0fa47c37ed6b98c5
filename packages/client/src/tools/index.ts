export * from './credentials.ts';
export * from './define-tool.ts';
export * from './refusal-error.ts';
export * from './child-keys.ts';
export * from './stripe-tools.ts';
export * from './twilio-tools.ts';
