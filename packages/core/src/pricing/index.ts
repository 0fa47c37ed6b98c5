export * from './decimal.ts';
export * from './currency.ts';
export * from './default-fx-table.ts';
export * from './sms-segments.ts';
export * from './twilio-prices.ts';
export * from './default-twilio-prices.ts';
export * from './openai-prices.ts';
export * from './default-openai-prices.ts';
