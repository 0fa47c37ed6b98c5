/** What one unit of a batched store write came to: its value, or the error it alone failed with. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** whoever waits on a unit: the two ends of its promise */
export interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

/** Hands each waiter of a batch its own unit's outcome (same order). */
export function deliver<T>(waiters: readonly Waiter<T>[], outcomes: readonly Outcome<T>[]): void {
  waiters.forEach((waiter, i) => {
    const outcome = outcomes[i]!;
    if (outcome.ok) waiter.resolve(outcome.value);
    else waiter.reject(outcome.error);
  });
}
