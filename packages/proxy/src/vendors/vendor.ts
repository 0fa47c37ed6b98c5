/**
 * One vendor (Stripe, Twilio, …) is one folder implementing this interface: where its SDK puts
 * the credential, how a request is routed to the vendor's hosts, how the real secret replaces
 * the vault key, what a request costs before it is sent, what it cost once answered, and how a
 * refusal looks in the vendor's own error shape.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { MicroUsd, ObjectStep, Refusal, Store, VaultKeyRecord, VendorName } from '@keyleash/core';

export interface InboundRequest {
  method: string;
  /** the path after the proxy's own `/{vendor}` prefix (or the whole path when un-prefixed), raw */
  rawPath: string;
  /** the raw query string without `?` ('' when none) */
  rawQuery: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** what routing may read: everything but the body, which is not read yet when the server routes */
export type RoutableRequest = Omit<InboundRequest, 'body'>;

export interface VendorRoute {
  /** the real vendor host this request is for, e.g. api.stripe.com */
  upstreamHost: string;
  /** normalised path segments the endpoint allowlist is matched against */
  segments: string[];
  /** the normalised path that is sent upstream (the query string is appended by the pipeline) */
  path: string;
}

/** A call the vendor module makes to the upstream with the real secret, e.g. to price a refund. */
export type UpstreamLookup = (request: { method: 'GET'; host: string; path: string; headers?: Record<string, string> }) => Promise<{
  status: number;
  json: unknown;
}>;

export interface PricingContext {
  key: VaultKeyRecord;
  /** the key first, then its ancestors up to the root (a cap anywhere here binds the request) */
  chain: readonly VaultKeyRecord[];
  store: Store;
  lookup: UpstreamLookup;
}

export interface UpstreamAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** parsed JSON, present when the pricing asked for the body */
  json: unknown;
}

export interface SettledCost {
  micros: MicroUsd;
  /** vendor objects now paid for in this key tree (not to be counted again at confirm/capture) */
  paidObjectIds?: string[];
}

/** What a free request's answer says an object paid for earlier really cost (see `Store.reprice`). */
export interface RevealedPrice {
  objectId: string;
  micros: MicroUsd;
}

export type Pricing =
  /**
   * known not to move money; `revealsPrice` reads a 2xx answer that may carry the real price of
   * an object paid for earlier (a Twilio message fetched after it was sent)
   */
  | { kind: 'free'; label: string; revealsPrice?: (answer: UpstreamAnswer) => RevealedPrice | undefined }
  /**
   * moves money and has a formula; `settle` reads the real amount from a 2xx answer;
   * `upstreamBody` replaces the request body sent upstream (e.g. a call's cost bound, added by keyleash);
   * `object`: a step on an existing object (confirm, capture, a raised amount), which costs `micros`
   * plus what the object's ceiling exceeds what the key tree already counted for it (`Store.admit`);
   * `meterStream` reads the real amount from a 2xx server-sent-event answer as it streams through
   */
  | { kind: 'priced'; label: string; micros: MicroUsd; settle?: (answer: UpstreamAnswer) => SettledCost; upstreamBody?: Buffer; object?: ObjectStep; meterStream?: () => StreamMeter }
  /**
   * may move money but keyleash has no formula for it; `policyPattern` is the `unpriced` policy
   * entry that would cover it (e.g. `POST /v1/customers/*`), named in the refusal
   */
  | { kind: 'unpriced'; label: string; policyPattern?: string }
  /** the request itself is unacceptable (ambiguous body, unknown currency, …) */
  | { kind: 'refused'; refusal: Refusal };

/**
 * Watches a streamed (text/event-stream) answer on its way to the client: it may hold back or
 * drop events (e.g. a usage event keyleash asked for and the client did not), and it learns the
 * real cost from the stream itself. The pipeline reads the upstream to its end even when the
 * client hangs up, so the cost is known whenever the vendor sent it.
 */
export interface StreamMeter {
  /** the bytes the client is sent for this chunk of the upstream answer */
  push(chunk: Buffer): Buffer;
  /** the bytes still held back, sent once the upstream answer ended */
  end(): Buffer;
  /** the real cost, once the stream carried it; undefined keeps the whole reservation counted */
  cost(): SettledCost | undefined;
}

export interface RenderedRefusal {
  status: number;
  headers: OutgoingHttpHeaders;
  body: string;
}

export interface Vendor {
  readonly name: VendorName;
  /** the env variables that hold this vendor's real secret(s), for operators' docs and errors */
  readonly secretEnv: readonly string[];
  /** this vendor's real secrets from the proxy's environment; undefined when absent or incomplete */
  readSecrets(env: Readonly<Record<string, string | undefined>>): VendorSecrets | undefined;
  /** the vault key as this vendor's SDK sends its credential, or undefined when absent */
  presentedVaultKey(headers: IncomingHttpHeaders): string | undefined;
  /**
   * `Refusal` when the path cannot be routed or normalised safely (or names an account the secrets
   * do not own). Never sees the body: the server routes before reading it, to know the body limit,
   * and the pipeline checks that same route.
   */
  route(request: RoutableRequest, secrets: VendorSecrets): VendorRoute | Refusal;
  /** vendor-specific policy checks beyond the allowlist (e.g. Stripe-Account pinning) */
  checkHeaders?(request: InboundRequest, key: VaultKeyRecord): Refusal | undefined;
  price(request: InboundRequest, route: VendorRoute, context: PricingContext): Promise<Pricing>;
  /** the headers to send upstream: the real secret in place of the vault key; nothing of keyleash's */
  upstreamHeaders(request: InboundRequest, secrets: VendorSecrets): Record<string, string | string[]>;
  /** the secret for a lookup the proxy makes on its own */
  lookupHeaders(secrets: VendorSecrets): Record<string, string>;
  /** idempotency key of the request, if the vendor supports one */
  idempotencyKey(request: InboundRequest): string | undefined;
  /** the vendor's request id from its answer, for the audit */
  upstreamRequestId(headers: IncomingHttpHeaders): string | undefined;
  renderRefusal(refusal: Refusal): RenderedRefusal;
  /**
   * The answer's body as the client may see it (e.g. the real account id replaced, a secret the
   * vendor echoes redacted). When present, every answer is read whole and uncompressed first.
   */
  rewriteResponseBody?(body: Buffer, headers: IncomingHttpHeaders, secrets: VendorSecrets): Buffer;
}

/** Real vendor credentials, read from the proxy's environment; never logged, never audited. */
export type VendorSecrets = Readonly<Record<string, string>>;
