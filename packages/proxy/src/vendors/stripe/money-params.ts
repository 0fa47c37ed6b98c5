/**
 * Money parameters: request parameters whose value is an amount of money (`amount`, `amount_off`,
 * `unit_amount_decimal`, `balance`, `fixed_amounts`, …), found at any depth of a parsed Stripe
 * form (`items[0][price_data][unit_amount]`). A free operation is free only without them.
 */
import type { FormParams } from './form-body.ts';

/**
 * Deliberately broad: a name that merely looks like money (`amount_type`) costs a waiver in the
 * table; a real one missed here would be forwarded free. Names that older API versions still honour
 * count too: a request may pin an old `Stripe-Version` (or the account's default may be old), and
 * then `account_balance` (renamed `balance` in 2019-10-17) sets a customer's credit.
 */
const MONEY_NAME = /(^|_)amounts?(_|$)|^(account_)?balance$|^unit_cost(_decimal)?$|^application_fee$/;

export function isMoneyParamName(name: string): boolean {
  return MONEY_NAME.test(name);
}

export interface FoundMoneyParam {
  /** as the client wrote it, e.g. `items[0][price_data][unit_amount]` */
  path: string;
  /** the path's keys, e.g. ['items', '0', 'price_data', 'unit_amount'] */
  keys: string[];
}

/** Every money parameter present in `params`, outermost first (`fixed_amount` before `fixed_amount[amount]`). */
export function findMoneyParams(params: FormParams): FoundMoneyParam[] {
  const found: FoundMoneyParam[] = [];
  const visit = (value: unknown, keys: string[]) => {
    if (typeof value !== 'object' || value === null) return;
    for (const [key, child] of Object.entries(value)) {
      // metadata is the caller's own key/value store: `metadata[amount]` is a label, not money
      if (key === 'metadata') continue;
      const path = [...keys, key];
      if (isMoneyParamName(key)) found.push({ path: bracketPath(path), keys: path });
      visit(child, path);
    }
  };
  visit(params, []);
  return found;
}

function bracketPath(keys: readonly string[]): string {
  return keys[0] + keys.slice(1).map((key) => `[${key}]`).join('');
}

/** A waiver pattern of the operation table: `a[b][*][c]`, where `[*]` (or `[]`) is any one key or index; `*` alone is every money parameter. */
export function waiverCovers(pattern: string, keys: readonly string[]): boolean {
  if (pattern === '*') return true;
  const parts = splitBracketPath(pattern);
  return parts.length === keys.length && parts.every((part, i) => part === '*' || part === '' || part === keys[i]);
}

export function splitBracketPath(path: string): string[] {
  const open = path.indexOf('[');
  if (open < 0) return [path];
  const inner = path.slice(open + 1, -1);
  return [path.slice(0, open), ...inner.split('][')];
}
