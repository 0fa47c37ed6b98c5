import type { IncomingHttpHeaders } from 'node:http';
import type { FxTable, OpenAIPriceTable, TwilioPriceTable } from '@keyleash/core';
import { createOpenAIVendor } from './openai/index.ts';
import { createStripeVendor } from './stripe/index.ts';
import { createTwilioVendor } from './twilio/index.ts';
import type { Vendor } from './vendor.ts';

export function createVendors(options: { fx: () => FxTable; twilioPrices: () => TwilioPriceTable; openaiPrices: () => OpenAIPriceTable }): Map<string, Vendor> {
  // order matters for un-prefixed /v1/… requests: a Bearer vault key there is Stripe's (openai is always /openai/v1/…)
  const vendors: Vendor[] = [createStripeVendor(options), createTwilioVendor({ prices: options.twilioPrices }), createOpenAIVendor({ prices: options.openaiPrices })];
  return new Map(vendors.map((vendor) => [vendor.name, vendor]));
}

/**
 * An un-prefixed request (`/v1/…`) belongs to the vendor whose SDK presents a credential the way
 * this request does; the key's own vendor is checked again in the pipeline.
 */
export function vendorForUnprefixedRequest(vendors: ReadonlyMap<string, Vendor>, headers: IncomingHttpHeaders): Vendor | undefined {
  for (const vendor of vendors.values()) {
    if (vendor.presentedVaultKey(headers)?.startsWith('vk_')) return vendor;
  }
  return vendors.get('stripe');
}
