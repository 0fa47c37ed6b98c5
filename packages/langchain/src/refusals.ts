import { KeyleashRefusalError, refusalToolResult, type KeyleashRefusal } from '@keyleash/client';

/** What a tool does when keyleash refuses its call: hand the model a result it reads (default), or throw. */
export type OnRefusal = 'return' | 'throw';

/**
 * Thrown for a refusal when `onRefusal: 'throw'` (the framework-neutral one from
 * `@keyleash/client`). Its message is the same text the model would have read, so a framework
 * that turns tool errors into messages (createAgent does) still tells the model not to retry.
 */
export { KeyleashRefusalError };

export function refusalOutcome(tool: string, refusal: KeyleashRefusal, onRefusal: OnRefusal = 'return'): string {
  if (onRefusal === 'throw') throw new KeyleashRefusalError(tool, refusal);
  return refusalToolResult(tool, refusal);
}
