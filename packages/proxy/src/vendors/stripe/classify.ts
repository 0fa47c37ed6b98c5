/**
 * What a Stripe POST or DELETE that the ledger pricer does not handle costs, by the operation
 * table (operations.ts): free, unpriced, or priced indirectly. The request's parameters are read
 * the way Stripe reads them, body and query string merged.
 */
import type { FxTable } from '@keyleash/core';
import type { InboundRequest, Pricing, PricingContext, VendorRoute } from '../vendor.ts';
import { parseRequestParams, type FormParams } from './form-body.ts';
import { createIndirectPricers } from './indirect-pricing.ts';
import { findMoneyParams, waiverCovers, type FoundMoneyParam } from './money-params.ts';
import { findStripeOperation, type StripeOperation } from './operation-index.ts';
import { ambiguous } from './pricing-refusals.ts';

/**
 * Stripe's one upload (multipart): its body is a file, and the spec gives it no money parameter.
 * Only files.stripe.com takes it; anywhere else a multipart body is read as a form, which refuses it
 * (Stripe's server parses multipart on every endpoint: `balance` in a multipart part is `balance`).
 */
const UPLOADS = new Set(['POST /v1/files']);
const UPLOAD_HOST = 'files.stripe.com';

function isMultipart(request: InboundRequest): boolean {
  return (request.headers['content-type'] ?? '').toLowerCase().startsWith('multipart/form-data');
}

/** The money parameters present that the operation's table entry does not waive. */
export function unwaivedMoneyParams(operation: StripeOperation, params: FormParams): FoundMoneyParam[] {
  const classification = operation.classification;
  const waivers = classification.kind === 'free' ? Object.keys(classification.waive) : [];
  return findMoneyParams(params).filter((found) => !waivers.some((waiver) => waiverCovers(waiver, found.keys)));
}

/** A free operation's verdict for these parameters: free, or unpriced because of a money parameter or a trigger. */
export function classifyFreeRequest(operation: StripeOperation, params: FormParams, label: string): Pricing {
  const classification = operation.classification;
  const trigger = classification.kind === 'free' ? Object.entries(classification.triggers).find(([name]) => Object.hasOwn(params, name)) : undefined;
  if (trigger) {
    return { kind: 'unpriced', label: `${label} with the parameter "${trigger[0]}" (free only without it: ${trigger[1]})`, policyPattern: operation.pattern };
  }
  const money = unwaivedMoneyParams(operation, params);
  if (money.length === 0) return { kind: 'free', label };
  const names = money.map((found) => `"${found.path.slice(0, 80)}"`).join(', ');
  return {
    kind: 'unpriced',
    label: `${label} with the money parameter ${names} (free only without it: with it this call can move money)`,
    policyPattern: operation.pattern,
  };
}

export function createTableClassifier(fx: () => FxTable) {
  const indirect = createIndirectPricers(fx);

  return async function classify(request: InboundRequest, route: VendorRoute, context: PricingContext): Promise<Pricing> {
    const label = `${request.method} ${route.path}`;
    const operation = findStripeOperation(request.method, route.segments);
    if (!operation) {
      return { kind: 'unpriced', label: `${label} (not an operation of the Stripe API keyleash knows: spec v524)`, policyPattern: label };
    }
    const upload = UPLOADS.has(operation.name) && isMultipart(request) && route.upstreamHost === UPLOAD_HOST;
    const parsed = upload ? parseRequestParams({}, Buffer.alloc(0), request.rawQuery) : parseRequestParams(request.headers, request.body, request.rawQuery);
    if (!parsed.ok) return ambiguous(parsed.reason);
    const classification = operation.classification;
    switch (classification.kind) {
      case 'free':
        return classifyFreeRequest(operation, parsed.params, label);
      case 'unpriced':
        return { kind: 'unpriced', label: `${label} (${classification.why})`, policyPattern: operation.pattern };
      case 'indirect':
        return indirect[classification.pricer](parsed.params, request, route, context);
      case 'ledger':
        // listed as priced by pricing.ts, which did not recognise this request
        return { kind: 'unpriced', label: `${label} (the ledger pricer does not price this request)`, policyPattern: operation.pattern };
    }
  };
}
