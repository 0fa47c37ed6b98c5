/**
 * npx -y pnpm@10.34.9 --filter @keyleash/example-nested-openai-agents start:shared-budget
 * Offline only: a local fake Stripe and the scripted OpenAI-compatible server behind keyleash.
 */
import { runSharedBudgetExample } from './shared-budget.ts';

await runSharedBudgetExample({ log: (line) => console.log(line) });
