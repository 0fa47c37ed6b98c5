import type { KeyleashRefusal } from '../refusal.ts';
import { refusalToolResult } from './define-tool.ts';

/**
 * A keyleash refusal raised out of a tool, for adapters whose framework reports tool failures as
 * errors. Its message is the same text the model would have read (`refusalToolResult`), so a
 * framework that turns tool errors into messages still tells the model not to retry.
 */
export class KeyleashRefusalError extends Error {
  readonly code: string;
  constructor(
    readonly tool: string,
    readonly refusal: KeyleashRefusal,
  ) {
    super(refusalToolResult(tool, refusal));
    this.name = 'KeyleashRefusalError';
    this.code = refusal.code;
  }
}
