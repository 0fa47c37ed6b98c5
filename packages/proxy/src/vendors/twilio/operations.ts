/**
 * Every Twilio POST and DELETE operation keyleash knows, and what it costs: ONE table.
 *
 * - priced: moves money and has a formula (pricing.ts): a message, a call, a verification;
 * - free: known not to cost by itself. Some free operations take parameters that make them cost
 *   (new TwiML for a live call, a webhook whose TwiML answers inbound calls or texts, a price
 *   ceiling…): with any of those the request is unpriced instead. `pricing.ts` treats every
 *   parameter whose name ends in Url, Twiml, Price, ApplicationSid or TrunkSid that way
 *   (COSTLY_PARAM), plus the operation's own `costlyParams`; `harmlessParams` are the few such
 *   names that only tell Twilio where to send a notification, whose answer Twilio ignores;
 * - unpriced: can cost (buys a number, bills recording or transcription minutes, dials a leg…)
 *   and has no formula: refused under a capped key unless the key's `unpriced` policy prices it or
 *   marks it free;
 * - credential: mints or destroys a credential outside keyleash (an API key, a subaccount with its
 *   auth token, a SIP password, a TURN token) or the account itself (suspend, close): refused
 *   whatever the key or its policy says.
 *
 * The api.twilio.com and verify.twilio.com rows are checked against Twilio's OpenAPI specs in
 * upstream-specs/twilio-oai (test/twilio-operations.test.ts walks both: every POST and DELETE
 * there is here, and every row here is there). The rows for other hosts, whose specs keyleash
 * does not ship, are kept by hand. An operation on no row is unpriced (a POST) or free (a DELETE:
 * deleting ends a resource, it cannot start a charge).
 */
export type TwilioPricer = 'message' | 'call' | 'verification';

export type TwilioCost =
  | { kind: 'priced'; pricer: TwilioPricer }
  | { kind: 'free'; costlyParams?: readonly string[]; harmlessParams?: readonly string[] }
  | { kind: 'unpriced' }
  | { kind: 'credential' };

export interface TwilioOperation {
  /** Twilio's operationId in its OpenAPI spec */
  operationId: string;
  method: 'POST' | 'DELETE';
  host: string;
  /** the path template as in Twilio's spec, e.g. /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json */
  path: string;
  cost: TwilioCost;
  /** why it costs what it costs, for reviewers and for the refusal's label */
  why: string;
}

/** the Twilio hosts whose OpenAPI spec keyleash ships, so their rows are checked against it */
export const TWILIO_SPEC_HOSTS = ['api.twilio.com', 'verify.twilio.com'] as const;

/** params that make a free operation cost, by name, on every free operation */
export const COSTLY_PARAM = /(Url|Twiml|Price|ApplicationSid|TrunkSid)$/i;

const API = 'api.twilio.com';
const VERIFY = 'verify.twilio.com';
const A = '/2010-04-01/Accounts/{AccountSid}';

type Row = [operationId: string, method: 'POST' | 'DELETE', path: string, cost: TwilioCost, why: string];

const priced = (pricer: TwilioPricer): TwilioCost => ({ kind: 'priced', pricer });
const FREE: TwilioCost = { kind: 'free' };
const free = (options: { costly?: readonly string[]; harmless?: readonly string[] }): TwilioCost => ({
  kind: 'free',
  ...(options.costly ? { costlyParams: options.costly } : {}),
  ...(options.harmless ? { harmlessParams: options.harmless } : {}),
});
const UNPRICED: TwilioCost = { kind: 'unpriced' };
const CREDENTIAL: TwilioCost = { kind: 'credential' };

const DELETED = 'deleting a record or configuration ends it; it starts no charge';
const WEBHOOK_TWIML = 'its voice and SMS URLs (and application or trunk) decide the TwiML that answers inbound calls and texts, which can dial out or reply at a cost';

const API_ROWS: Row[] = [
  ['CreateAccount', 'POST', '/2010-04-01/Accounts.json', CREDENTIAL, 'creates a subaccount, whose answer carries its auth token'],
  // refused whole, not only with Status: renaming the account is worth nothing to an agent, and a
  // Status that is merely unpriced would pass under an uncapped key or a broad `"free"` policy entry
  ['UpdateAccount', 'POST', '/2010-04-01/Accounts/{Sid}.json', CREDENTIAL, 'can suspend or close the whole Twilio account (Status), which ends every credential, number and call on it'],
  ['CreateAddress', 'POST', `${A}/Addresses.json`, FREE, 'an address record for regulatory or emergency use'],
  ['UpdateAddress', 'POST', `${A}/Addresses/{Sid}.json`, FREE, 'an address record'],
  ['DeleteAddress', 'DELETE', `${A}/Addresses/{Sid}.json`, FREE, DELETED],
  ['CreateApplication', 'POST', `${A}/Applications.json`, FREE, `an application: ${WEBHOOK_TWIML}`],
  ['UpdateApplication', 'POST', `${A}/Applications/{Sid}.json`, FREE, `an application: ${WEBHOOK_TWIML}`],
  ['DeleteApplication', 'DELETE', `${A}/Applications/{Sid}.json`, FREE, DELETED],
  ['CreateCall', 'POST', `${A}/Calls.json`, priced('call'), 'a call: per-minute price to To x TimeLimit'],
  [
    'UpdateCall',
    'POST',
    `${A}/Calls/{Sid}.json`,
    free({ costly: ['Method', 'FallbackMethod', 'TimeLimit'] }),
    'hanging up or cancelling a live call is free; redirecting it (Url, Twiml, Method) runs new TwiML that can dial out, and a new TimeLimit extends what was priced',
  ],
  ['DeleteCall', 'DELETE', `${A}/Calls/{Sid}.json`, FREE, DELETED],
  ['CreateCallRecording', 'POST', `${A}/Calls/{CallSid}/Recordings.json`, UNPRICED, 'recording bills per minute recorded and stored'],
  ['UpdateCallRecording', 'POST', `${A}/Calls/{CallSid}/Recordings/{Sid}.json`, UNPRICED, 'resuming a paused recording bills recording minutes again'],
  ['DeleteCallRecording', 'DELETE', `${A}/Calls/{CallSid}/Recordings/{Sid}.json`, FREE, DELETED],
  ['UpdateConference', 'POST', `${A}/Conferences/{Sid}.json`, FREE, 'ending a conference is free; an AnnounceUrl plays TwiML into it'],
  ['UpdateConferenceRecording', 'POST', `${A}/Conferences/{ConferenceSid}/Recordings/{Sid}.json`, UNPRICED, 'resuming a paused recording bills recording minutes again'],
  ['DeleteConferenceRecording', 'DELETE', `${A}/Conferences/{ConferenceSid}/Recordings/{Sid}.json`, FREE, DELETED],
  [
    'UpdateConnectApp',
    'POST',
    `${A}/ConnectApps/{Sid}.json`,
    free({ harmless: ['AuthorizeRedirectUrl', 'DeauthorizeCallbackUrl', 'HomepageUrl'] }),
    'the listing of a Connect app this account publishes; its URLs are where users are sent or notified, not TwiML',
  ],
  ['DeleteConnectApp', 'DELETE', `${A}/ConnectApps/{Sid}.json`, FREE, DELETED],
  ['CreateIncomingPhoneNumber', 'POST', `${A}/IncomingPhoneNumbers.json`, UNPRICED, 'buys a phone number: a monthly fee from now on'],
  ['CreateIncomingPhoneNumberLocal', 'POST', `${A}/IncomingPhoneNumbers/Local.json`, UNPRICED, 'buys a local number: a monthly fee from now on'],
  ['CreateIncomingPhoneNumberMobile', 'POST', `${A}/IncomingPhoneNumbers/Mobile.json`, UNPRICED, 'buys a mobile number: a monthly fee from now on'],
  ['CreateIncomingPhoneNumberTollFree', 'POST', `${A}/IncomingPhoneNumbers/TollFree.json`, UNPRICED, 'buys a toll-free number: a monthly fee, and the operator pays for inbound minutes'],
  [
    'UpdateIncomingPhoneNumber',
    'POST',
    `${A}/IncomingPhoneNumbers/{Sid}.json`,
    free({ costly: ['EmergencyStatus', 'EmergencyAddressSid', 'AccountSid'] }),
    `a number's name and settings; ${WEBHOOK_TWIML}; emergency calling is billed per number; AccountSid hands the number to another account`,
  ],
  ['DeleteIncomingPhoneNumber', 'DELETE', `${A}/IncomingPhoneNumbers/{Sid}.json`, FREE, 'releases a number: its monthly fee stops'],
  ['CreateIncomingPhoneNumberAssignedAddOn', 'POST', `${A}/IncomingPhoneNumbers/{ResourceSid}/AssignedAddOns.json`, UNPRICED, 'Marketplace add-ons bill per use on every call or message of the number'],
  ['DeleteIncomingPhoneNumberAssignedAddOn', 'DELETE', `${A}/IncomingPhoneNumbers/{ResourceSid}/AssignedAddOns/{Sid}.json`, FREE, DELETED],
  ['CreateNewKey', 'POST', `${A}/Keys.json`, CREDENTIAL, 'mints an API key'],
  ['UpdateKey', 'POST', `${A}/Keys/{Sid}.json`, FREE, 'renames an API key'],
  ['DeleteKey', 'DELETE', `${A}/Keys/{Sid}.json`, CREDENTIAL, 'destroys an API key, possibly the one keyleash itself uses'],
  ['CreateMessage', 'POST', `${A}/Messages.json`, priced('message'), 'a message: segments x per-country price (SMS) or the MMS price'],
  ['UpdateMessage', 'POST', `${A}/Messages/{Sid}.json`, FREE, 'redacts a message body or cancels a scheduled message'],
  ['DeleteMessage', 'DELETE', `${A}/Messages/{Sid}.json`, FREE, DELETED],
  ['CreateMessageFeedback', 'POST', `${A}/Messages/{MessageSid}/Feedback.json`, FREE, 'reports whether a message was confirmed; Twilio does not bill feedback'],
  ['DeleteMedia', 'DELETE', `${A}/Messages/{MessageSid}/Media/{Sid}.json`, FREE, DELETED],
  ['CreateValidationRequest', 'POST', `${A}/OutgoingCallerIds.json`, UNPRICED, 'Twilio places a validation call to PhoneNumber, which can be anywhere'],
  ['UpdateOutgoingCallerId', 'POST', `${A}/OutgoingCallerIds/{Sid}.json`, FREE, 'renames a verified caller ID'],
  ['DeleteOutgoingCallerId', 'DELETE', `${A}/OutgoingCallerIds/{Sid}.json`, FREE, DELETED],
  ['CreateParticipant', 'POST', `${A}/Conferences/{ConferenceSid}/Participants.json`, UNPRICED, 'dials a new leg into a conference: a call plus conference minutes'],
  ['UpdateParticipant', 'POST', `${A}/Conferences/{ConferenceSid}/Participants/{CallSid}.json`, FREE, 'mute, hold or coach an existing leg is free; HoldUrl, AnnounceUrl and WaitUrl run TwiML'],
  ['DeleteParticipant', 'DELETE', `${A}/Conferences/{ConferenceSid}/Participants/{CallSid}.json`, FREE, 'drops a leg: its minutes stop'],
  ['CreatePayments', 'POST', `${A}/Calls/{CallSid}/Payments.json`, UNPRICED, 'a <Pay> session is billed per session, and charges a card through the operator’s connector'],
  ['UpdatePayments', 'POST', `${A}/Calls/{CallSid}/Payments/{Sid}.json`, UNPRICED, 'completing a <Pay> session charges the card'],
  ['UpdateMember', 'POST', `${A}/Queues/{QueueSid}/Members/{CallSid}.json`, UNPRICED, 'dequeues a caller to a Url whose TwiML can dial out'],
  ['CreateQueue', 'POST', `${A}/Queues.json`, FREE, 'a call queue; queues are not billed'],
  ['UpdateQueue', 'POST', `${A}/Queues/{Sid}.json`, FREE, 'a queue’s name and size'],
  ['DeleteQueue', 'DELETE', `${A}/Queues/{Sid}.json`, FREE, DELETED],
  ['CreateRealtimeTranscription', 'POST', `${A}/Calls/{CallSid}/Transcriptions.json`, UNPRICED, 'real-time transcription bills per minute'],
  ['UpdateRealtimeTranscription', 'POST', `${A}/Calls/{CallSid}/Transcriptions/{Sid}.json`, FREE, 'stops a transcription'],
  ['DeleteRecording', 'DELETE', `${A}/Recordings/{Sid}.json`, FREE, DELETED],
  ['DeleteRecordingAddOnResult', 'DELETE', `${A}/Recordings/{ReferenceSid}/AddOnResults/{Sid}.json`, FREE, DELETED],
  ['DeleteRecordingAddOnResultPayload', 'DELETE', `${A}/Recordings/{ReferenceSid}/AddOnResults/{AddOnResultSid}/Payloads/{Sid}.json`, FREE, DELETED],
  ['DeleteRecordingTranscription', 'DELETE', `${A}/Recordings/{RecordingSid}/Transcriptions/{Sid}.json`, FREE, DELETED],
  ['UpdateShortCode', 'POST', `${A}/SMS/ShortCodes/{Sid}.json`, FREE, `a short code: ${WEBHOOK_TWIML}`],
  ['CreateNewSigningKey', 'POST', `${A}/SigningKeys.json`, CREDENTIAL, 'mints a signing key'],
  ['UpdateSigningKey', 'POST', `${A}/SigningKeys/{Sid}.json`, FREE, 'renames a signing key'],
  ['DeleteSigningKey', 'DELETE', `${A}/SigningKeys/{Sid}.json`, CREDENTIAL, 'destroys a signing key the operator may depend on'],
  ['CreateSipAuthCallsCredentialListMapping', 'POST', `${A}/SIP/Domains/{DomainSid}/Auth/Calls/CredentialListMappings.json`, UNPRICED, 'lets a credential list place calls through a SIP domain, billed to the account'],
  ['DeleteSipAuthCallsCredentialListMapping', 'DELETE', `${A}/SIP/Domains/{DomainSid}/Auth/Calls/CredentialListMappings/{Sid}.json`, FREE, DELETED],
  ['CreateSipAuthCallsIpAccessControlListMapping', 'POST', `${A}/SIP/Domains/{DomainSid}/Auth/Calls/IpAccessControlListMappings.json`, UNPRICED, 'lets an IP list place calls through a SIP domain, billed to the account'],
  ['DeleteSipAuthCallsIpAccessControlListMapping', 'DELETE', `${A}/SIP/Domains/{DomainSid}/Auth/Calls/IpAccessControlListMappings/{Sid}.json`, FREE, DELETED],
  ['CreateSipAuthRegistrationsCredentialListMapping', 'POST', `${A}/SIP/Domains/{DomainSid}/Auth/Registrations/CredentialListMappings.json`, UNPRICED, 'lets a credential list register SIP endpoints that then call and are called at a cost'],
  ['DeleteSipAuthRegistrationsCredentialListMapping', 'DELETE', `${A}/SIP/Domains/{DomainSid}/Auth/Registrations/CredentialListMappings/{Sid}.json`, FREE, DELETED],
  ['CreateSipCredential', 'POST', `${A}/SIP/CredentialLists/{CredentialListSid}/Credentials.json`, CREDENTIAL, 'mints a SIP username and password that can place calls outside keyleash'],
  ['UpdateSipCredential', 'POST', `${A}/SIP/CredentialLists/{CredentialListSid}/Credentials/{Sid}.json`, CREDENTIAL, 'sets a SIP password, so its holder can place calls outside keyleash'],
  ['DeleteSipCredential', 'DELETE', `${A}/SIP/CredentialLists/{CredentialListSid}/Credentials/{Sid}.json`, FREE, DELETED],
  ['CreateSipCredentialList', 'POST', `${A}/SIP/CredentialLists.json`, FREE, 'an empty, named list'],
  ['UpdateSipCredentialList', 'POST', `${A}/SIP/CredentialLists/{Sid}.json`, FREE, 'renames a list'],
  ['DeleteSipCredentialList', 'DELETE', `${A}/SIP/CredentialLists/{Sid}.json`, FREE, DELETED],
  ['CreateSipCredentialListMapping', 'POST', `${A}/SIP/Domains/{DomainSid}/CredentialListMappings.json`, UNPRICED, 'lets a credential list use a SIP domain, billed to the account'],
  ['DeleteSipCredentialListMapping', 'DELETE', `${A}/SIP/Domains/{DomainSid}/CredentialListMappings/{Sid}.json`, FREE, DELETED],
  ['CreateSipDomain', 'POST', `${A}/SIP/Domains.json`, UNPRICED, 'a SIP domain routes calls (and emergency calls) billed to the account'],
  ['UpdateSipDomain', 'POST', `${A}/SIP/Domains/{Sid}.json`, UNPRICED, 'changes how a SIP domain routes calls billed to the account'],
  ['DeleteSipDomain', 'DELETE', `${A}/SIP/Domains/{Sid}.json`, FREE, DELETED],
  ['CreateSipIpAccessControlList', 'POST', `${A}/SIP/IpAccessControlLists.json`, FREE, 'an empty, named list'],
  ['UpdateSipIpAccessControlList', 'POST', `${A}/SIP/IpAccessControlLists/{Sid}.json`, FREE, 'renames a list'],
  ['DeleteSipIpAccessControlList', 'DELETE', `${A}/SIP/IpAccessControlLists/{Sid}.json`, FREE, DELETED],
  ['CreateSipIpAccessControlListMapping', 'POST', `${A}/SIP/Domains/{DomainSid}/IpAccessControlListMappings.json`, UNPRICED, 'lets an IP list use a SIP domain, billed to the account'],
  ['DeleteSipIpAccessControlListMapping', 'DELETE', `${A}/SIP/Domains/{DomainSid}/IpAccessControlListMappings/{Sid}.json`, FREE, DELETED],
  ['CreateSipIpAddress', 'POST', `${A}/SIP/IpAccessControlLists/{IpAccessControlListSid}/IpAddresses.json`, CREDENTIAL, 'admits an IP address that can then place calls outside keyleash'],
  ['UpdateSipIpAddress', 'POST', `${A}/SIP/IpAccessControlLists/{IpAccessControlListSid}/IpAddresses/{Sid}.json`, CREDENTIAL, 'changes an admitted IP address, which can place calls outside keyleash'],
  ['DeleteSipIpAddress', 'DELETE', `${A}/SIP/IpAccessControlLists/{IpAccessControlListSid}/IpAddresses/{Sid}.json`, FREE, DELETED],
  ['CreateSiprec', 'POST', `${A}/Calls/{CallSid}/Siprec.json`, UNPRICED, 'SIPREC forks the call’s media to a recorder, billed per minute'],
  ['UpdateSiprec', 'POST', `${A}/Calls/{CallSid}/Siprec/{Sid}.json`, FREE, 'stops a SIPREC session'],
  ['CreateStream', 'POST', `${A}/Calls/{CallSid}/Streams.json`, UNPRICED, 'forks the call’s media to a WebSocket, which may be billed per minute'],
  ['UpdateStream', 'POST', `${A}/Calls/{CallSid}/Streams/{Sid}.json`, FREE, 'stops a media stream'],
  ['CreateToken', 'POST', `${A}/Tokens.json`, CREDENTIAL, 'mints a TURN credential whose relay traffic is billed per GB, outside keyleash'],
  ['DeleteTranscription', 'DELETE', `${A}/Transcriptions/{Sid}.json`, FREE, DELETED],
  ['CreateUsageTrigger', 'POST', `${A}/Usage/Triggers.json`, free({ harmless: ['CallbackUrl'] }), 'a usage alert; CallbackUrl is only notified'],
  ['UpdateUsageTrigger', 'POST', `${A}/Usage/Triggers/{Sid}.json`, free({ harmless: ['CallbackUrl'] }), 'a usage alert; CallbackUrl is only notified'],
  ['DeleteUsageTrigger', 'DELETE', `${A}/Usage/Triggers/{Sid}.json`, FREE, DELETED],
  ['CreateUserDefinedMessage', 'POST', `${A}/Calls/{CallSid}/UserDefinedMessages.json`, FREE, 'sends data to the Voice SDK client on a live call; not billed'],
  ['CreateUserDefinedMessageSubscription', 'POST', `${A}/Calls/{CallSid}/UserDefinedMessageSubscriptions.json`, FREE, 'subscribes a webhook (Callback, only notified) to a call’s user-defined messages'],
  ['DeleteUserDefinedMessageSubscription', 'DELETE', `${A}/Calls/{CallSid}/UserDefinedMessageSubscriptions/{Sid}.json`, FREE, DELETED],
];

const S = '/v2/Services/{ServiceSid}';

const VERIFY_ROWS: Row[] = [
  ['CreateVerification', 'POST', `${S}/Verifications`, priced('verification'), "a verification: Verify's fee plus the channel it sends (an SMS segment, a minute of voice)"],
  ['UpdateVerification', 'POST', `${S}/Verifications/{Sid}`, FREE, 'approves or cancels a pending verification'],
  ['CreateVerificationCheck', 'POST', `${S}/VerificationCheck`, FREE, 'checks a code; checks are not billed'],
  ['CreateService', 'POST', '/v2/Services', FREE, 'a Verify service (its settings); verifications through it are priced'],
  ['UpdateService', 'POST', '/v2/Services/{Sid}', FREE, 'a Verify service’s settings'],
  ['DeleteService', 'DELETE', '/v2/Services/{Sid}', FREE, DELETED],
  ['CreateAccessToken', 'POST', `${S}/AccessTokens`, FREE, 'a short-lived token for the Verify SDK to enrol a push or TOTP factor; it cannot call the API'],
  ['CreateRateLimit', 'POST', `${S}/RateLimits`, FREE, 'a rate limit definition'],
  ['UpdateRateLimit', 'POST', `${S}/RateLimits/{Sid}`, FREE, 'a rate limit definition'],
  ['DeleteRateLimit', 'DELETE', `${S}/RateLimits/{Sid}`, FREE, DELETED],
  ['CreateBucket', 'POST', `${S}/RateLimits/{RateLimitSid}/Buckets`, FREE, 'a rate limit bucket; verifications are priced one by one'],
  ['UpdateBucket', 'POST', `${S}/RateLimits/{RateLimitSid}/Buckets/{Sid}`, FREE, 'a rate limit bucket'],
  ['DeleteBucket', 'DELETE', `${S}/RateLimits/{RateLimitSid}/Buckets/{Sid}`, FREE, DELETED],
  ['CreateEntity', 'POST', `${S}/Entities`, FREE, 'an identity that factors belong to'],
  ['DeleteEntity', 'DELETE', `${S}/Entities/{Identity}`, FREE, DELETED],
  ['CreateNewFactor', 'POST', `${S}/Entities/{Identity}/Factors`, FREE, 'enrols a push or TOTP factor'],
  ['UpdateFactor', 'POST', `${S}/Entities/{Identity}/Factors/{Sid}`, FREE, 'verifies or renames a factor'],
  ['DeleteFactor', 'DELETE', `${S}/Entities/{Identity}/Factors/{Sid}`, FREE, DELETED],
  ['CreateChallenge', 'POST', `${S}/Entities/{Identity}/Challenges`, UNPRICED, 'a push or TOTP challenge is a verification Twilio may bill; keyleash has no price for it'],
  ['UpdateChallenge', 'POST', `${S}/Entities/{Identity}/Challenges/{Sid}`, FREE, 'answers a challenge'],
  ['CreateNotification', 'POST', `${S}/Entities/{Identity}/Challenges/{ChallengeSid}/Notifications`, UNPRICED, 'sends a challenge’s push notification again; keyleash has no price for it'],
  ['CreateMessagingConfiguration', 'POST', `${S}/MessagingConfigurations`, FREE, 'which Messaging Service sends a country’s codes; the sends themselves are priced verifications'],
  ['UpdateMessagingConfiguration', 'POST', `${S}/MessagingConfigurations/{Country}`, FREE, 'which Messaging Service sends a country’s codes'],
  ['DeleteMessagingConfiguration', 'DELETE', `${S}/MessagingConfigurations/{Country}`, FREE, DELETED],
  ['CreateSafelist', 'POST', '/v2/SafeList/Numbers', FREE, 'exempts a number from Fraud Guard; every send to it is still priced'],
  ['DeleteSafelist', 'DELETE', '/v2/SafeList/Numbers/{PhoneNumber}', FREE, DELETED],
  ['CreateWebhook', 'POST', `${S}/Webhooks`, free({ harmless: ['WebhookUrl'] }), 'a Verify event webhook; WebhookUrl is only notified'],
  ['UpdateWebhook', 'POST', `${S}/Webhooks/{Sid}`, free({ harmless: ['WebhookUrl'] }), 'a Verify event webhook; WebhookUrl is only notified'],
  ['DeleteWebhook', 'DELETE', `${S}/Webhooks/{Sid}`, FREE, DELETED],
  ['CreateNewFactorPasskey', 'POST', `${S}/Passkeys/Factors`, FREE, 'enrols a passkey'],
  ['UpdatePasskeysFactor', 'POST', `${S}/Passkeys/VerifyFactor`, FREE, 'verifies a passkey enrolment'],
  ['CreateChallengePasskeys', 'POST', `${S}/Passkeys/Challenges`, UNPRICED, 'a passkey challenge is a verification Twilio may bill; keyleash has no price for it'],
  ['UpdateChallengePasskeys', 'POST', `${S}/Passkeys/ApproveChallenge`, FREE, 'answers a passkey challenge'],
];

/** Hosts whose specs keyleash does not ship: kept by hand (operationIds as in Twilio's specs for them). */
const UNSPECCED_ROWS: [host: string, ...Row][] = [
  ['messaging.twilio.com', 'CreateService', 'POST', '/v1/Services', FREE, `a Messaging Service; ${WEBHOOK_TWIML}`],
  ['messaging.twilio.com', 'UpdateService', 'POST', '/v1/Services/{Sid}', FREE, `a Messaging Service; ${WEBHOOK_TWIML}`],
  ['messaging.twilio.com', 'CreatePhoneNumber', 'POST', '/v1/Services/{ServiceSid}/PhoneNumbers', FREE, 'adds a number the account already owns to a service'],
  ['messaging.twilio.com', 'CreateShortCode', 'POST', '/v1/Services/{ServiceSid}/ShortCodes', FREE, 'adds a short code the account already owns to a service'],
  ['messaging.twilio.com', 'CreateAlphaSender', 'POST', '/v1/Services/{ServiceSid}/AlphaSenders', FREE, 'adds an alphanumeric sender ID to a service'],
  ['iam.twilio.com', 'CreateNewKey', 'POST', '/v1/Keys', CREDENTIAL, 'mints an API key'],
  ['iam.twilio.com', 'CreateOAuthApp', 'POST', '/v1/Account/OAuthApps', CREDENTIAL, 'mints OAuth client credentials'],
  ['accounts.twilio.com', 'UpdateAuthTokenPromotion', 'POST', '/v1/AuthTokens/Promote', CREDENTIAL, 'replaces the account’s auth token'],
  ['accounts.twilio.com', 'CreateSecondaryAuthToken', 'POST', '/v1/AuthTokens/Secondary', CREDENTIAL, 'mints a second auth token'],
];

const row = (host: string, [operationId, method, path, cost, why]: Row): TwilioOperation => ({ operationId, method, host, path, cost, why });

export const TWILIO_OPERATIONS: readonly TwilioOperation[] = [
  ...API_ROWS.map((r) => row(API, r)),
  ...VERIFY_ROWS.map((r) => row(VERIFY, r)),
  ...UNSPECCED_ROWS.map(([host, ...r]) => row(host, r)),
];
