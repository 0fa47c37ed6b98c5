/** What the management API says about one key, for the end-to-end suites' checks. */
import { expect } from 'vitest';
import type { adminApi } from './keyleash-process.ts';

/** Anything with the tests' admin API client: a suite's stack. */
export interface WithAdminApi {
  api: ReturnType<typeof adminApi>;
}

/** Today's spend of a key in micro-USD, as the management API reports it. */
export async function spendMicros(stack: WithAdminApi, keyId: string): Promise<number> {
  const answer = await stack.api.call('GET', `/api/vault_keys/${keyId}`);
  expect(answer.status).toBe(200);
  return answer.body.spend.today_micros as number;
}

/** Audit rows of one key, oldest first. */
export async function auditOf(stack: WithAdminApi, keyId: string): Promise<any[]> {
  return (await stack.api.audit(`vault_key_id=${keyId}`)).reverse();
}
