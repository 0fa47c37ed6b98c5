/**
 * CLI for the fake Stripe upstream, for examples and benchmarks:
 *   node --import tsx test/upstreams/stripe/main.ts --port 12111 --secret sk_test_...
 * Runs until SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { startFakeStripe } from './server.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '12111' },
    host: { type: 'string', default: '127.0.0.1' },
    secret: { type: 'string' },
  },
});

const secret = values.secret ?? process.env.FAKE_STRIPE_SECRET;
if (!secret) {
  console.error('usage: main.ts --secret sk_test_... [--port 12111] [--host 127.0.0.1]  (or FAKE_STRIPE_SECRET)');
  process.exit(2);
}

const fake = await startFakeStripe({ secret, port: Number(values.port), host: values.host });
console.log(`fake-stripe listening on ${fake.url}`);

const stop = () => {
  void fake.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
