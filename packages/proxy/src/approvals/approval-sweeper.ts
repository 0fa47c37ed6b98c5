import type { Store } from '@keyleash/core';
import type { Logger } from 'pino';
import { sweepApprovals } from './approval-decisions.ts';

/**
 * Ends approvals nobody is waiting on any more (the client hung up, the proxy restarted): a pending
 * one past its deadline times out, an approved one nobody came back to send is abandoned; either
 * way its reservation is released. Safe on every instance at once (conditional transitions).
 */
export class ApprovalSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly clock: () => number,
    private readonly logger: Logger,
    private readonly intervalMs = 1_000,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = sweepApprovals(this.store, this.clock())
        .catch((error: unknown) => this.logger.error({ err: error }, 'approval sweep failed; retrying'))
        .finally(() => (this.running = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
