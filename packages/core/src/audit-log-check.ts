import { AuditChainVerifier, type ChainCheck } from './audit.ts';
import type { Store } from './store.ts';

/** The whole log's verdict: every chain verified, or the first broken link found (and its chain). */
export type AuditLogCheck = ChainCheck & { chains: number; brokenChain?: string };

/**
 * Recomputes every link of every chain of the store's audit log, a page at a time, so a long log
 * is verified without holding it in memory. Each chain is walked on its own in seq order: rows of
 * one chain commit in that order (each appender holds its chain's lock through COMMIT), while rows
 * of different chains may commit out of seq order, so one walk over all of them by seq could read
 * past a row that had not committed yet.
 */
export async function verifyAuditLog(store: Pick<Store, 'auditChainIds' | 'auditChain'>, pageSize = 5000): Promise<AuditLogCheck> {
  const chainIds = await store.auditChainIds();
  let rows = 0;
  for (const chainId of chainIds) {
    const verifier = new AuditChainVerifier();
    let after = 0;
    for (;;) {
      const page = await store.auditChain(chainId, after, pageSize);
      for (const row of page) if (!verifier.push(row)) break;
      const check = verifier.result();
      if (!check.ok) return { ...check, rows: rows + check.rows, chains: chainIds.length, brokenChain: chainId };
      if (page.length < pageSize) break;
      after = page[page.length - 1]!.seq;
    }
    rows += verifier.result().rows;
  }
  return { ok: true, rows, chains: chainIds.length };
}
