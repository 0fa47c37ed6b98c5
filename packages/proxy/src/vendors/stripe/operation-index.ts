/**
 * Finds the operation of the table (operations.ts) a request is, by the spec's path templates:
 * `{param}` is exactly one segment, and where two templates match, the one with more literal
 * segments wins (as Stripe routes), whatever the table's order.
 */
import type { OperationClass } from './operation-kinds.ts';
import { NON_SPEC_OPERATIONS, STRIPE_OPERATIONS } from './operations.ts';

export interface StripeOperation {
  /** as the table writes it, e.g. `POST /v1/customers/{customer}` */
  name: string;
  /** the allowlist / `unpriced` policy pattern for it, e.g. `POST /v1/customers/*` */
  pattern: string;
  classification: OperationClass;
}

interface IndexedOperation extends StripeOperation {
  method: string;
  /** template segments, `undefined` where the template has a `{param}` */
  literals: (string | undefined)[];
  literalCount: number;
}

function index(table: Readonly<Record<string, OperationClass>>): IndexedOperation[] {
  return Object.entries(table).map(([name, classification]) => {
    const [method, template] = name.split(' ') as [string, string];
    const literals = template
      .split('/')
      .slice(1)
      .map((segment) => (segment.startsWith('{') && segment.endsWith('}') ? undefined : segment));
    const pattern = `${method} /${literals.map((segment) => segment ?? '*').join('/')}`;
    return { name, pattern, classification, method, literals, literalCount: literals.filter((s) => s !== undefined).length };
  });
}

const OPERATIONS = [...index(STRIPE_OPERATIONS), ...index(NON_SPEC_OPERATIONS)].sort((a, b) => b.literalCount - a.literalCount);

export function findStripeOperation(method: string, segments: readonly string[]): StripeOperation | undefined {
  return OPERATIONS.find(
    (op) => op.method === method && op.literals.length === segments.length && op.literals.every((literal, i) => literal === undefined || literal === segments[i]),
  );
}
