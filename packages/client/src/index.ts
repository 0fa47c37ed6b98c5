export * from './config.ts';
export * from './attribution.ts';
export * from './stripe.ts';
export * from './twilio.ts';
export * from './openai.ts';
export * from './admin.ts';
export * from './refusal.ts';
export * from './tools/index.ts';
