import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics; one registry per server so tests can run several in one process. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'keyleash_process_' });
  const metrics = {
    registry,
    requests: new Counter({
      name: 'keyleash_requests_total',
      help: 'Vendor requests by vendor, decision and refusal code or upstream status',
      labelNames: ['vendor', 'decision', 'code'] as const,
      registers: [registry],
    }),
    spendMicros: new Counter({
      name: 'keyleash_spend_micro_usd_total',
      help: 'Settled spend in micro-USD by vendor',
      labelNames: ['vendor'] as const,
      registers: [registry],
    }),
    reservationSeconds: new Histogram({
      name: 'keyleash_reservation_seconds',
      help: 'Time to reserve spend across a key chain in the store',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers: [registry],
    }),
    upstreamSeconds: new Histogram({
      name: 'keyleash_upstream_seconds',
      help: 'Time until the upstream answered with headers',
      labelNames: ['vendor'] as const,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    storeErrors: new Counter({
      name: 'keyleash_store_errors_total',
      help: 'Store operations that failed (the request was refused or the reservation stayed held)',
      labelNames: ['operation'] as const,
      registers: [registry],
    }),
  };
  // store errors start at an explicit 0, so an alert on their rate sees a series before the first failure
  for (const operation of ['admit', 'reprice', 'settle', 'audit']) metrics.storeErrors.inc({ operation }, 0);
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;
