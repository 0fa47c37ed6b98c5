/**
 * Every POST and DELETE operation of Stripe's API (OpenAPI spec v524, upstream-specs/), and what
 * keyleash does with it. test/stripe/classification.test.ts walks the spec and fails on an
 * operation missing here, an entry the spec does not have, or a money parameter of a free
 * operation that is neither refused nor waived. GET and HEAD are free and not listed: no Stripe
 * read moves money.
 *
 * Judgement rules:
 * - *free* only when the operation provably moves no money: it manages objects, settings or
 *   documents, or undoes a pending movement (cancel). A free operation sent with a money
 *   parameter (`amount`, `balance`, `unit_amount`, … at any depth, body or query) becomes unpriced,
 *   unless the parameter is waived below with the reason it moves nothing; so does one sent with
 *   a parameter listed as a trigger (not named like money, but makes money move).
 * - *unpriced* when the call can make money move now or later without a formula here: charging a
 *   customer (subscriptions, invoices, sessions and links a customer pays through), sending money
 *   out (issuing, refunds on a reader), or conceding money (closing a dispute).
 * - *ledger* / *indirect*: priced (pricing.ts / indirect-pricing.ts).
 */
import { free, indirect, ledger, unpriced, type OperationClass } from './operation-kinds.ts';

const CATALOGUE = 'defines a catalogue price; money moves only when something is bought through a priced or unpriced call';
const DISPLAY = 'a display setting (how tax is shown on documents), not an amount';
const MICRODEPOSITS = 'the micro-deposit amounts the customer read off a statement; verifying moves nothing';
const MANDATE = 'the ceiling of a mandate; money moves only through a later PaymentIntent, which is priced';
const SUBSCRIPTION = 'creates or changes a subscription, which invoices and charges the customer (prorations, invoice_now, payment_behavior)';
const TEST_MONEY = 'simulates money movement in test mode';
const RECONCILIATION = 'automatic reconciliation applies the customer’s cash balance to open invoices and payments';

export const STRIPE_OPERATIONS: Readonly<Record<string, OperationClass>> = {
  // Connect accounts and their onboarding
  'POST /v1/account_links': free('an onboarding link'),
  'POST /v1/account_sessions': free('an embedded-components session'),
  'POST /v1/accounts': free('creates a connected account', { 'business_profile[monthly_estimated_revenue][amount]': 'an estimate the account declares, not a payment' }),
  'DELETE /v1/accounts/{account}': free('deletes a connected account'),
  'POST /v1/accounts/{account}': free('updates a connected account', { 'business_profile[monthly_estimated_revenue][amount]': 'an estimate the account declares, not a payment' }),
  'POST /v1/accounts/{account}/bank_accounts': free('adds an external account'),
  'DELETE /v1/accounts/{account}/bank_accounts/{id}': free('removes an external account'),
  'POST /v1/accounts/{account}/bank_accounts/{id}': free('updates an external account'),
  'POST /v1/accounts/{account}/capabilities/{capability}': free('requests a capability'),
  'POST /v1/accounts/{account}/external_accounts': free('adds an external account'),
  'DELETE /v1/accounts/{account}/external_accounts/{id}': free('removes an external account'),
  'POST /v1/accounts/{account}/external_accounts/{id}': free('updates an external account'),
  'POST /v1/accounts/{account}/login_links': free('an Express dashboard login link'),
  'POST /v1/accounts/{account}/people': free('a person of the account'),
  'DELETE /v1/accounts/{account}/people/{person}': free('a person of the account'),
  'POST /v1/accounts/{account}/people/{person}': free('a person of the account'),
  'POST /v1/accounts/{account}/persons': free('a person of the account'),
  'DELETE /v1/accounts/{account}/persons/{person}': free('a person of the account'),
  'POST /v1/accounts/{account}/persons/{person}': free('a person of the account'),
  'POST /v1/accounts/{account}/reject': free('rejects a connected account'),

  // Domains, apps, webhooks, files, keys
  'POST /v1/apple_pay/domains': free('registers a domain'),
  'DELETE /v1/apple_pay/domains/{domain}': free('removes a domain'),
  'POST /v1/payment_method_domains': free('registers a domain'),
  'POST /v1/payment_method_domains/{payment_method_domain}': free('updates a domain'),
  'POST /v1/payment_method_domains/{payment_method_domain}/validate': free('validates a domain'),
  'POST /v1/apps/secrets': free('stores an app secret'),
  'POST /v1/apps/secrets/delete': free('deletes an app secret'),
  'POST /v1/webhook_endpoints': free('a webhook endpoint'),
  'DELETE /v1/webhook_endpoints/{webhook_endpoint}': free('a webhook endpoint'),
  'POST /v1/webhook_endpoints/{webhook_endpoint}': free('a webhook endpoint'),
  'POST /v1/files': free('uploads a file'),
  'POST /v1/file_links': free('a link to a file'),
  'POST /v1/file_links/{link}': free('a link to a file'),
  'POST /v1/ephemeral_keys': free('a short-lived client key for one object'),
  'DELETE /v1/ephemeral_keys/{key}': free('revokes an ephemeral key'),
  'POST /v1/tokens': free('tokenises card or bank details'),
  'POST /v1/reporting/report_runs': free('runs a report'),

  // Application fees (Connect)
  'POST /v1/application_fees/{fee}/refunds/{id}': free('updates a fee refund’s metadata'),
  'POST /v1/application_fees/{id}/refund': indirect('application_fee_refund'),
  'POST /v1/application_fees/{id}/refunds': indirect('application_fee_refund'),

  // Billing portal
  'POST /v1/billing_portal/configurations': free('configures the customer portal'),
  'POST /v1/billing_portal/configurations/{configuration}': free('configures the customer portal'),
  'POST /v1/billing_portal/sessions': unpriced('opens a page where the customer can change subscriptions and pay invoices'),

  // Charges (legacy payments) and disputes
  'POST /v1/charges': ledger,
  'POST /v1/charges/{charge}': free('updates description, metadata, shipping or fraud details'),
  'POST /v1/charges/{charge}/capture': ledger,
  'POST /v1/charges/{charge}/dispute': free('submits dispute evidence'),
  'POST /v1/charges/{charge}/dispute/close': unpriced('concedes the dispute: the disputed amount is lost for good'),
  'POST /v1/charges/{charge}/refund': ledger,
  'POST /v1/charges/{charge}/refunds': ledger,
  'POST /v1/charges/{charge}/refunds/{refund}': free('updates a refund’s metadata'),
  'POST /v1/disputes/{dispute}': free('submits dispute evidence'),
  'POST /v1/disputes/{dispute}/close': unpriced('concedes the dispute: the disputed amount is lost for good'),

  // Checkout and payment links: a customer pays through them
  'POST /v1/checkout/sessions': unpriced('a payment page: the customer pays what the session says'),
  'POST /v1/checkout/sessions/{session}/expire': free('expires a session; nothing can be paid through it afterwards'),
  'POST /v1/payment_links': unpriced('a payment page: anyone with the link pays what it says'),
  'POST /v1/payment_links/{payment_link}': unpriced('changes what a live payment link charges'),

  // Catalogue: products, prices, plans, coupons, promotion codes, shipping and tax rates
  'POST /v1/coupons': free('a discount definition', { '*': 'a discount definition; it lowers what is charged' }),
  'DELETE /v1/coupons/{coupon}': free('deletes a coupon (existing discounts stay)'),
  'POST /v1/coupons/{coupon}': free('a discount definition', { '*': 'a discount definition; it lowers what is charged' }),
  'POST /v1/plans': free('a plan', { '*': CATALOGUE }),
  'DELETE /v1/plans/{plan}': free('deletes a plan'),
  'POST /v1/plans/{plan}': free('a plan'),
  'POST /v1/prices': free('a price', { '*': CATALOGUE }),
  'POST /v1/prices/{price}': free('a price', { '*': CATALOGUE }),
  'POST /v1/products': free('a product', { '*': CATALOGUE }),
  'DELETE /v1/products/{id}': free('deletes a product'),
  'POST /v1/products/{id}': free('a product'),
  'POST /v1/promotion_codes': free('a promotion code', { '*': 'the minimum order a code applies to; it lowers what is charged' }),
  'POST /v1/promotion_codes/{promotion_code}': free('a promotion code', { '*': 'the minimum order a code applies to; it lowers what is charged' }),
  'POST /v1/shipping_rates': free('a shipping rate', { '*': CATALOGUE }),
  'POST /v1/shipping_rates/{shipping_rate_token}': free('a shipping rate', { '*': CATALOGUE }),
  'POST /v1/tax_rates': free('a tax rate'),
  'POST /v1/tax_rates/{tax_rate}': free('a tax rate'),

  // Credit notes: refunds and customer credit
  'POST /v1/credit_notes': unpriced('refunds (refund_amount) or credits the customer balance (credit_amount)'),
  'POST /v1/credit_notes/{id}': free('updates a credit note’s memo or metadata'),
  'POST /v1/credit_notes/{id}/void': unpriced('puts the credited amount back on what the customer owes'),

  // Customers and what hangs off them
  'POST /v1/customers': free('creates a customer', { 'invoice_settings[rendering_options][amount_tax_display]': DISPLAY }, { cash_balance: RECONCILIATION }),
  'DELETE /v1/customers/{customer}': free('deletes a customer'),
  'POST /v1/customers/{customer}': free('updates a customer', { 'invoice_settings[rendering_options][amount_tax_display]': DISPLAY }, { cash_balance: RECONCILIATION }),
  'POST /v1/customers/{customer}/balance_transactions': indirect('customer_balance_transaction'),
  'POST /v1/customers/{customer}/balance_transactions/{transaction}': free('updates a balance transaction’s description or metadata'),
  'POST /v1/customers/{customer}/bank_accounts': free('adds a payment source'),
  'DELETE /v1/customers/{customer}/bank_accounts/{id}': free('removes a payment source'),
  'POST /v1/customers/{customer}/bank_accounts/{id}': free('updates a payment source'),
  'POST /v1/customers/{customer}/bank_accounts/{id}/verify': free('verifies a bank account', { amounts: MICRODEPOSITS }),
  'POST /v1/customers/{customer}/cards': free('adds a payment source'),
  'DELETE /v1/customers/{customer}/cards/{id}': free('removes a payment source'),
  'POST /v1/customers/{customer}/cards/{id}': free('updates a payment source'),
  'POST /v1/customers/{customer}/cash_balance': unpriced(RECONCILIATION),
  'DELETE /v1/customers/{customer}/discount': unpriced('removing a discount raises what the customer is charged next'),
  'POST /v1/customers/{customer}/funding_instructions': free('shows bank-transfer instructions'),
  'POST /v1/customers/{customer}/sources': free('adds a payment source'),
  'DELETE /v1/customers/{customer}/sources/{id}': free('removes a payment source'),
  'POST /v1/customers/{customer}/sources/{id}': free('updates a payment source'),
  'POST /v1/customers/{customer}/sources/{id}/verify': free('verifies a bank account', { amounts: MICRODEPOSITS }),
  'POST /v1/customers/{customer}/subscriptions': unpriced(SUBSCRIPTION),
  'DELETE /v1/customers/{customer}/subscriptions/{subscription_exposed_id}': unpriced('cancelling can invoice now (invoice_now) and prorate'),
  'POST /v1/customers/{customer}/subscriptions/{subscription_exposed_id}': unpriced(SUBSCRIPTION),
  'DELETE /v1/customers/{customer}/subscriptions/{subscription_exposed_id}/discount': unpriced('removing a discount raises what the customer is charged next'),
  'POST /v1/customers/{customer}/tax_ids': free('a tax id'),
  'DELETE /v1/customers/{customer}/tax_ids/{id}': free('a tax id'),

  // Identity, financial connections, radar, reviews
  'POST /v1/financial_connections/accounts/{account}/disconnect': free('disconnects a linked account'),
  'POST /v1/financial_connections/accounts/{account}/refresh': free('refreshes a linked account'),
  'POST /v1/financial_connections/sessions': free('a linking session'),
  'POST /v1/link_account_sessions': free('a linking session'),
  'POST /v1/linked_accounts/{account}/disconnect': free('disconnects a linked account'),
  'POST /v1/linked_accounts/{account}/refresh': free('refreshes a linked account'),
  'POST /v1/identity/verification_sessions': free('an identity check'),
  'POST /v1/identity/verification_sessions/{session}': free('an identity check'),
  'POST /v1/identity/verification_sessions/{session}/cancel': free('cancels an identity check'),
  'POST /v1/identity/verification_sessions/{session}/redact': free('redacts an identity check'),
  'POST /v1/radar/value_list_items': free('a fraud rule list item'),
  'DELETE /v1/radar/value_list_items/{item}': free('a fraud rule list item'),
  'POST /v1/radar/value_lists': free('a fraud rule list'),
  'DELETE /v1/radar/value_lists/{value_list}': free('a fraud rule list'),
  'POST /v1/radar/value_lists/{value_list}': free('a fraud rule list'),
  'POST /v1/reviews/{review}/approve': free('clears a fraud review of a payment that already happened'),

  // Invoices and invoice items
  'POST /v1/invoiceitems': unpriced('adds a charge to the customer’s next invoice'),
  'DELETE /v1/invoiceitems/{invoiceitem}': free('removes a pending charge'),
  'POST /v1/invoiceitems/{invoiceitem}': unpriced('changes a charge on the customer’s next invoice'),
  'POST /v1/invoices': unpriced('an invoice is finalized and charged automatically (auto_advance)'),
  'DELETE /v1/invoices/{invoice}': free('deletes a draft invoice'),
  'POST /v1/invoices/{invoice}': unpriced('changes what and how an invoice charges (auto_advance, collection_method, application_fee_amount)'),
  'POST /v1/invoices/{invoice}/finalize': unpriced('a finalized invoice is charged automatically (auto_advance)'),
  'POST /v1/invoices/{invoice}/mark_uncollectible': free('writes an invoice off; nothing is charged'),
  'POST /v1/invoices/{invoice}/pay': indirect('invoice_pay'),
  'POST /v1/invoices/{invoice}/send': unpriced('asks the customer to pay the invoice'),
  'POST /v1/invoices/{invoice}/void': free('voids an invoice; nothing is charged'),

  // Issuing: cards that spend money
  'POST /v1/issuing/authorizations/{authorization}': free('updates an authorization’s metadata'),
  'POST /v1/issuing/authorizations/{authorization}/approve': unpriced('approves spending on an issued card'),
  'POST /v1/issuing/authorizations/{authorization}/decline': free('declines spending on an issued card'),
  'POST /v1/issuing/cardholders': unpriced('a cardholder and spending limits on issued cards'),
  'POST /v1/issuing/cardholders/{cardholder}': unpriced('changes spending limits on issued cards'),
  'POST /v1/issuing/cards': unpriced('issues a card that can spend money'),
  'POST /v1/issuing/cards/{card}': unpriced('changes the status or spending limits of an issued card'),
  'POST /v1/issuing/disputes': unpriced('an issuing dispute (fees and reversals keyleash does not price)'),
  'POST /v1/issuing/disputes/{dispute}': unpriced('an issuing dispute (fees and reversals keyleash does not price)'),
  'POST /v1/issuing/disputes/{dispute}/submit': unpriced('an issuing dispute (fees and reversals keyleash does not price)'),
  'POST /v1/issuing/settlements/{settlement}': free('updates a settlement’s metadata'),
  'POST /v1/issuing/transactions/{transaction}': free('updates a transaction’s metadata'),

  // PaymentIntents
  'POST /v1/payment_intents': ledger,
  'POST /v1/payment_intents/{intent}': ledger,
  'POST /v1/payment_intents/{intent}/apply_customer_balance': unpriced('moves the customer’s cash balance into the payment'),
  'POST /v1/payment_intents/{intent}/cancel': free('cancels a payment; an authorization is released'),
  'POST /v1/payment_intents/{intent}/capture': ledger,
  'POST /v1/payment_intents/{intent}/confirm': ledger,
  'POST /v1/payment_intents/{intent}/increment_authorization': ledger,
  'POST /v1/payment_intents/{intent}/verify_microdeposits': unpriced('verifying lets a pending bank debit go ahead'),

  // Payment methods and SetupIntents: saving details, no payment
  'POST /v1/payment_methods': free('saves payment details'),
  'POST /v1/payment_methods/{payment_method}': free('updates payment details'),
  'POST /v1/payment_methods/{payment_method}/attach': free('attaches payment details to a customer'),
  'POST /v1/payment_methods/{payment_method}/detach': free('detaches payment details'),
  'POST /v1/setup_intents': free('saves payment details', { 'payment_method_options[card][mandate_options][amount]': MANDATE, 'payment_method_options[card][mandate_options][amount_type]': MANDATE, 'single_use[amount]': MANDATE }),
  'POST /v1/setup_intents/{intent}': free('saves payment details', { 'payment_method_options[card][mandate_options][amount]': MANDATE, 'payment_method_options[card][mandate_options][amount_type]': MANDATE }),
  'POST /v1/setup_intents/{intent}/cancel': free('cancels a setup'),
  'POST /v1/setup_intents/{intent}/confirm': free('saves payment details', { 'payment_method_options[card][mandate_options][amount]': MANDATE, 'payment_method_options[card][mandate_options][amount_type]': MANDATE }),
  'POST /v1/setup_intents/{intent}/verify_microdeposits': free('verifies a bank account for later payments', { amounts: MICRODEPOSITS }),

  // Payouts, top-ups, transfers: the platform's own money
  'POST /v1/payouts': ledger,
  'POST /v1/payouts/{payout}': free('updates a payout’s metadata'),
  'POST /v1/payouts/{payout}/cancel': free('cancels a pending payout; the money stays in the Stripe balance'),
  'POST /v1/payouts/{payout}/reverse': indirect('payout_reversal'),
  'POST /v1/topups': indirect('topup'),
  'POST /v1/topups/{topup}': free('updates a top-up’s description or metadata'),
  'POST /v1/topups/{topup}/cancel': free('cancels a pending top-up'),
  'POST /v1/transfers': ledger,
  'POST /v1/transfers/{id}/reversals': indirect('transfer_reversal'),
  'POST /v1/transfers/{transfer}': free('updates a transfer’s description or metadata'),
  'POST /v1/transfers/{transfer}/reversals/{id}': free('updates a reversal’s metadata'),

  // Quotes: nothing is charged until one is accepted
  'POST /v1/quotes': free('a draft quote', { '*': 'what a quote would charge; nothing moves until it is accepted, which is unpriced' }),
  'POST /v1/quotes/{quote}': free('a draft quote', { '*': 'what a quote would charge; nothing moves until it is accepted, which is unpriced' }),
  'POST /v1/quotes/{quote}/accept': unpriced('creates the invoice or subscription the quote describes'),
  'POST /v1/quotes/{quote}/cancel': free('cancels a quote'),
  'POST /v1/quotes/{quote}/finalize': unpriced('offers the quote to the customer, who can accept it and be charged'),

  // Refunds (by the refund object)
  'POST /v1/refunds': ledger,
  'POST /v1/refunds/{refund}': free('updates a refund’s metadata'),
  'POST /v1/refunds/{refund}/cancel': free('cancels a pending refund; the money stays'),

  // Sources (legacy)
  'POST /v1/sources': free('a payment source (legacy)'),
  'POST /v1/sources/{source}': free('a payment source (legacy)'),
  'POST /v1/sources/{source}/verify': free('verifies a payment source'),

  // Subscriptions, their items and schedules
  'POST /v1/subscription_items': unpriced(SUBSCRIPTION),
  'DELETE /v1/subscription_items/{item}': unpriced('removing an item prorates (credits or invoices) the subscription'),
  'POST /v1/subscription_items/{item}': unpriced(SUBSCRIPTION),
  'POST /v1/subscription_items/{subscription_item}/usage_records': unpriced('metered usage is invoiced and charged'),
  'POST /v1/subscription_schedules': unpriced(SUBSCRIPTION),
  'POST /v1/subscription_schedules/{schedule}': unpriced(SUBSCRIPTION),
  'POST /v1/subscription_schedules/{schedule}/cancel': unpriced('cancelling can invoice now (invoice_now) and prorate'),
  'POST /v1/subscription_schedules/{schedule}/release': free('the subscription keeps running unchanged, without its schedule'),
  'POST /v1/subscriptions': unpriced(SUBSCRIPTION),
  'DELETE /v1/subscriptions/{subscription_exposed_id}': unpriced('cancelling can invoice now (invoice_now) and prorate'),
  'POST /v1/subscriptions/{subscription_exposed_id}': unpriced(SUBSCRIPTION),
  'DELETE /v1/subscriptions/{subscription_exposed_id}/discount': unpriced('removing a discount raises what the customer is charged next'),
  'POST /v1/subscriptions/{subscription}/resume': unpriced('resuming invoices the customer (billing_cycle_anchor, proration_behavior)'),

  // Tax: calculation and reporting records
  'POST /v1/tax/calculations': free('computes tax', { '*': 'the amounts tax is computed on; nothing is charged' }),
  'POST /v1/tax/settings': free('tax settings'),
  'POST /v1/tax/transactions/create_from_calculation': free('records a tax transaction for reporting'),
  'POST /v1/tax/transactions/create_reversal': free('records a tax reversal for reporting', { '*': 'amounts of a tax record; nothing is charged or refunded' }),

  // Terminal: in-person payments
  'POST /v1/terminal/configurations': free('a reader configuration', { '*': 'tip presets a customer may choose; money moves only when a payment is processed' }),
  'DELETE /v1/terminal/configurations/{configuration}': free('a reader configuration'),
  'POST /v1/terminal/configurations/{configuration}': free('a reader configuration', { '*': 'tip presets a customer may choose; money moves only when a payment is processed' }),
  'POST /v1/terminal/connection_tokens': free('lets a reader connect'),
  'POST /v1/terminal/locations': free('a location'),
  'DELETE /v1/terminal/locations/{location}': free('a location'),
  'POST /v1/terminal/locations/{location}': free('a location'),
  'POST /v1/terminal/readers': free('registers a reader'),
  'DELETE /v1/terminal/readers/{reader}': free('removes a reader'),
  'POST /v1/terminal/readers/{reader}': free('updates a reader'),
  'POST /v1/terminal/readers/{reader}/cancel_action': free('cancels the reader’s current action'),
  'POST /v1/terminal/readers/{reader}/process_payment_intent': unpriced('takes the payment on the reader, whatever created the PaymentIntent'),
  'POST /v1/terminal/readers/{reader}/process_setup_intent': free('saves payment details on the reader'),
  'POST /v1/terminal/readers/{reader}/refund_payment': unpriced('refunds a payment on the reader'),
  'POST /v1/terminal/readers/{reader}/set_reader_display': free('shows a cart on the reader', { '*': 'a cart shown on the screen; nothing is charged' }),

  // Test helpers (test mode only)
  'POST /v1/test_helpers/customers/{customer}/fund_cash_balance': unpriced(TEST_MONEY),
  'POST /v1/test_helpers/issuing/authorizations': unpriced(TEST_MONEY),
  'POST /v1/test_helpers/issuing/authorizations/{authorization}/capture': unpriced(TEST_MONEY),
  'POST /v1/test_helpers/issuing/authorizations/{authorization}/expire': unpriced(TEST_MONEY),
  'POST /v1/test_helpers/issuing/authorizations/{authorization}/increment': unpriced(TEST_MONEY),
  'POST /v1/test_helpers/issuing/authorizations/{authorization}/reverse': unpriced(TEST_MONEY),
  'POST /v1/test_helpers/issuing/cards/{card}/shipping/deliver': free('simulates card shipping'),
  'POST /v1/test_helpers/issuing/cards/{card}/shipping/fail': free('simulates card shipping'),
  'POST /v1/test_helpers/issuing/cards/{card}/shipping/return': free('simulates card shipping'),
  'POST /v1/test_helpers/issuing/cards/{card}/shipping/ship': free('simulates card shipping'),
  'POST /v1/test_helpers/issuing/transactions/create_force_capture': unpriced(TEST_MONEY),
  'POST /v1/test_helpers/issuing/transactions/create_unlinked_refund': unpriced(TEST_MONEY),
  'POST /v1/test_helpers/issuing/transactions/{transaction}/refund': unpriced(TEST_MONEY),
  'POST /v1/test_helpers/refunds/{refund}/expire': unpriced(TEST_MONEY),
  'POST /v1/test_helpers/terminal/readers/{reader}/present_payment_method': unpriced(TEST_MONEY),
  'POST /v1/test_helpers/test_clocks': free('creates a test clock'),
  'DELETE /v1/test_helpers/test_clocks/{test_clock}': free('deletes a test clock'),
  'POST /v1/test_helpers/test_clocks/{test_clock}/advance': unpriced('advancing time bills every subscription on the clock'),
  'POST /v1/test_helpers/treasury/inbound_transfers/{id}/fail': unpriced(TEST_MONEY),
  'POST /v1/test_helpers/treasury/inbound_transfers/{id}/return': unpriced(TEST_MONEY),
  'POST /v1/test_helpers/treasury/inbound_transfers/{id}/succeed': unpriced(TEST_MONEY),
  'POST /v1/test_helpers/treasury/outbound_payments/{id}/fail': unpriced(TEST_MONEY),
  'POST /v1/test_helpers/treasury/outbound_payments/{id}/post': unpriced(TEST_MONEY),
  'POST /v1/test_helpers/treasury/outbound_payments/{id}/return': unpriced(TEST_MONEY),
  'POST /v1/test_helpers/treasury/outbound_transfers/{outbound_transfer}/fail': unpriced(TEST_MONEY),
  'POST /v1/test_helpers/treasury/outbound_transfers/{outbound_transfer}/post': unpriced(TEST_MONEY),
  'POST /v1/test_helpers/treasury/outbound_transfers/{outbound_transfer}/return': unpriced(TEST_MONEY),
  'POST /v1/test_helpers/treasury/received_credits': unpriced(TEST_MONEY),
  'POST /v1/test_helpers/treasury/received_debits': unpriced(TEST_MONEY),

  // Treasury: money in and out of financial accounts
  'POST /v1/treasury/credit_reversals': unpriced('sends a received credit back'),
  'POST /v1/treasury/debit_reversals': unpriced('reverses a received debit'),
  'POST /v1/treasury/financial_accounts': free('a financial account'),
  'POST /v1/treasury/financial_accounts/{financial_account}': free('a financial account'),
  'POST /v1/treasury/financial_accounts/{financial_account}/features': free('a financial account’s features'),
  'POST /v1/treasury/inbound_transfers': indirect('treasury_money'),
  'POST /v1/treasury/inbound_transfers/{inbound_transfer}/cancel': free('cancels a pending transfer'),
  'POST /v1/treasury/outbound_payments': indirect('treasury_money'),
  'POST /v1/treasury/outbound_payments/{id}/cancel': free('cancels a pending payment'),
  'POST /v1/treasury/outbound_transfers': indirect('treasury_money'),
  'POST /v1/treasury/outbound_transfers/{outbound_transfer}/cancel': free('cancels a pending transfer'),
};

/**
 * Stripe routes the spec does not describe, with why each is classified so. Anything else outside
 * the spec (v2 APIs, newer endpoints) is unknown, hence unpriced.
 */
export const NON_SPEC_OPERATIONS: Readonly<Record<string, OperationClass & { notInSpecBecause: string }>> = {
  'POST /oauth/token': { ...free('exchanges an OAuth code for a connected account’s token'), notInSpecBecause: 'connect.stripe.com OAuth is documented apart from the API spec' },
  'POST /oauth/deauthorize': { ...free('disconnects a connected account'), notInSpecBecause: 'connect.stripe.com OAuth is documented apart from the API spec' },
};
