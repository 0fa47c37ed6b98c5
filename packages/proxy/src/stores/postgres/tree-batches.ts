import { deliver, type Outcome, type Waiter } from '../outcome.ts';

// captured at load, so a test's fake timers cannot stall the ledger
const defer = setImmediate;

interface Waiting<Item, Result> extends Waiter<Result> {
  item: Item;
}

/**
 * Work queued per key tree in this process, handed to `run` in batches: everything that arrived
 * in one event-loop turn, or while the tree's previous batch was in the database. Admissions of
 * one tree serialise on its root key's row in PostgreSQL anyway, so queueing them here costs no
 * parallelism, keeps a hot tree to one waiter per instance inside PostgreSQL (instead of a whole
 * pool of them), and lets `run` admit a batch in one transaction: one WAL flush for many
 * requests. Trees never wait for each other. `run` answers each item in order; if it throws,
 * every item of the batch fails with that error.
 */
export class TreeBatches<Item, Result> {
  private readonly waiting = new Map<string, Waiting<Item, Result>[]>();

  constructor(private readonly run: (items: Item[]) => Promise<Outcome<Result>[]>) {}

  add(tree: string, item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      const queue = this.waiting.get(tree);
      if (queue) {
        queue.push({ item, resolve, reject });
        return;
      }
      this.waiting.set(tree, [{ item, resolve, reject }]);
      defer(() => void this.drain(tree));
    });
  }

  private async drain(tree: string): Promise<void> {
    const queue = this.waiting.get(tree)!;
    while (queue.length > 0) {
      const batch = queue.splice(0);
      let outcomes: Outcome<Result>[];
      try {
        outcomes = await this.run(batch.map((waiting) => waiting.item));
      } catch (error) {
        for (const waiting of batch) waiting.reject(error);
        continue;
      }
      deliver(batch, outcomes);
    }
    // nothing left and no await since the check: a later add starts a new drain
    this.waiting.delete(tree);
  }
}
