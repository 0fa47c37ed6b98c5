/**
 * Stripe endpoints known not to move money. Everything not listed here and not priced is
 * "unpriced": refused under a capped key unless the key's policy says how to count it.
 * Reads never move money; the POSTs below manage objects that cost nothing by themselves.
 */
const FREE_POSTS = [
  'v1/customers',
  'v1/customers/*',
  'v1/customers/*/sources',
  'v1/customers/*/tax_ids',
  'v1/products',
  'v1/products/*',
  'v1/prices',
  'v1/prices/*',
  'v1/coupons',
  'v1/coupons/*',
  'v1/promotion_codes',
  'v1/promotion_codes/*',
  'v1/tax_rates',
  'v1/tax_rates/*',
  'v1/payment_methods',
  'v1/payment_methods/*',
  'v1/payment_methods/*/attach',
  'v1/payment_methods/*/detach',
  'v1/setup_intents',
  'v1/setup_intents/*',
  'v1/setup_intents/*/confirm',
  'v1/setup_intents/*/cancel',
  'v1/payment_intents/*',
  'v1/payment_intents/*/cancel',
  'v1/charges/*',
  'v1/refunds/*',
  'v1/refunds/*/cancel',
  'v1/files',
  'v1/file_links',
  'v1/file_links/*',
  'v1/webhook_endpoints',
  'v1/webhook_endpoints/*',
  'v1/tokens',
  'oauth/token',
  'oauth/deauthorize',
].map((shape) => shape.split('/'));

export function isFreeStripeRequest(method: string, segments: readonly string[]): boolean {
  if (method === 'GET' || method === 'HEAD' || method === 'DELETE') return true;
  if (method !== 'POST') return false;
  return FREE_POSTS.some((shape) => shape.length === segments.length && shape.every((part, i) => part === '*' || part === segments[i]));
}
