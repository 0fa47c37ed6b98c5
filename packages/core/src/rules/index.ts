export * from './schema.ts';
export * from './evaluate.ts';
export * from './tightening.ts';
