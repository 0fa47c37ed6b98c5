/**
 * The vocabulary of the Stripe operation table (operations.ts): what keyleash does with one
 * POST or DELETE operation of Stripe's API.
 */

/** Indirect pricers (indirect-pricing.ts), by name so the table stays one readable line per operation. */
export type IndirectPricerName =
  | 'topup'
  | 'customer_balance_transaction'
  | 'transfer_reversal'
  | 'payout_reversal'
  | 'application_fee_refund'
  | 'treasury_money'
  | 'invoice_pay';

export type OperationClass =
  /** priced by the ledger pricer (pricing.ts: PaymentIntents, Charges, refunds, transfers, payouts) */
  | { kind: 'ledger' }
  /** priced from the request's parameters plus a lookup with the real key (indirect-pricing.ts) */
  | { kind: 'indirect'; pricer: IndirectPricerName }
  /**
   * moves no money by itself; free only without a money parameter (`amount`, `balance`, …),
   * except those listed in `waive` (a path pattern, `[*]` = any key or index, or `*` = every
   * money parameter of the operation) with the reason it provably moves nothing, and without a
   * parameter listed in `triggers` (not named like money, but makes money move), with why
   */
  | { kind: 'free'; why: string; waive: Readonly<Record<string, string>>; triggers: Readonly<Record<string, string>> }
  /** can move money and has no formula: refused under a capped key unless the policy says how to count it */
  | { kind: 'unpriced'; why: string };

export const ledger: OperationClass = { kind: 'ledger' };

export function indirect(pricer: IndirectPricerName): OperationClass {
  return { kind: 'indirect', pricer };
}

export function free(why: string, waive: Readonly<Record<string, string>> = {}, triggers: Readonly<Record<string, string>> = {}): OperationClass {
  return { kind: 'free', why, waive, triggers };
}

export function unpriced(why: string): OperationClass {
  return { kind: 'unpriced', why };
}
