/**
 * npx -y pnpm@10.34.9 --filter @keyleash/example-nested-openai-agents start
 * Offline by default; OPENAI_API_KEY for a real model, STRIPE_SECRET_KEY (test mode) for real Stripe.
 */
import { runNestedExample } from './nested.ts';

await runNestedExample({ log: (line) => console.log(line) });
