/**
 * npx -y pnpm@10.34.9 --filter @keyleash/example-multi-tenant start
 * Offline by default; OPENAI_API_KEY for a real model, STRIPE_SECRET_KEY (test mode) for real Stripe.
 */
import { runMultiTenantExample } from './multi-tenant.ts';

await runMultiTenantExample({ log: (line) => console.log(line) });
