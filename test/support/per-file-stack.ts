import { afterAll, beforeAll } from 'vitest';

/**
 * A stack for the calling test file: started before its tests, stopped after them. The returned
 * object is filled in by the `beforeAll`, so use it inside tests and hooks only.
 */
export function perFileStack<Stack extends { stop(): Promise<void> }>(start: () => Promise<Stack>): Stack {
  const stack = {} as Stack;
  beforeAll(async () => {
    Object.assign(stack, await start());
  });
  afterAll(async () => {
    await (stack as Partial<Stack>).stop?.();
  });
  return stack;
}
