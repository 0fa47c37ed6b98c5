export * from './approval-settings.ts';
export * from './approval-store.ts';
export * from './approval-json.ts';
