export * from './alert-settings.ts';
export * from './alert-store.ts';
export * from './alert-json.ts';
