/**
 * The Twilio price table keyleash ships with: approximate list prices in USD, dated. An operator
 * replaces it with their own (validated by parseTwilioPriceTable).
 *
 * Simplifications, all on the side of counting more rather than less:
 * - voice_per_minute is the outbound price to MOBILE numbers (usually the dearer of mobile/landline).
 * - SMS prices exclude carrier pass-through fees (e.g. US A2P 10DLC fees); an operator who wants them
 *   reserved adds them to the per-segment price.
 * - verify_per_verification is Twilio Verify's per-successful-verification fee only; Twilio bills
 *   the channel (the SMS or call it sends) on top.
 * - +1 (NANP) defaults to US; Canadian area codes map to CA; the Caribbean and other NANP members
 *   map to their own countries so their (much dearer) prices are not mistaken for US ones. A
 *   country with no price in this table is refused unless the operator sets a fallback price.
 * - +7 is RU except 76x/77x (Kazakhstan). +44 Crown Dependencies (Jersey, Guernsey, Isle of Man)
 *   are priced as GB.
 */
import type { TwilioPriceTable } from './twilio-prices.ts';
import { deepFreeze } from './table-schema.ts';

/** Canadian geographic and non-geographic NANP area codes (as of 2026). */
const CANADA_AREA_CODES = [
  '204', '226', '236', '249', '250', '257', '263', '289', '306', '343', '354', '365', '367', '368', '382', '403',
  '416', '418', '428', '431', '437', '438', '450', '468', '474', '506', '514', '519', '548', '579', '581', '584',
  '587', '600', '604', '613', '622', '633', '639', '644', '647', '655', '672', '677', '683', '688', '705', '709',
  '742', '753', '778', '780', '782', '807', '819', '825', '867', '873', '879', '902', '905', '942',
] as const;

/** NANP area codes of members other than the US and Canada. */
const OTHER_NANP_AREA_CODES = {
  '242': 'BS', '246': 'BB', '264': 'AI', '268': 'AG', '284': 'VG', '340': 'VI', '345': 'KY', '441': 'BM',
  '473': 'GD', '649': 'TC', '658': 'JM', '664': 'MS', '670': 'MP', '671': 'GU', '684': 'AS', '721': 'SX',
  '758': 'LC', '767': 'DM', '784': 'VC', '787': 'PR', '809': 'DO', '829': 'DO', '849': 'DO', '868': 'TT',
  '869': 'KN', '876': 'JM', '939': 'PR',
} as const;

const NANP_OVERRIDES: Record<string, string> = {
  ...Object.fromEntries(CANADA_AREA_CODES.map((code) => [`1${code}`, 'CA'])),
  ...Object.fromEntries(Object.entries(OTHER_NANP_AREA_CODES).map(([code, iso]) => [`1${code}`, iso])),
};

export const DEFAULT_TWILIO_PRICE_TABLE: TwilioPriceTable = deepFreeze({
  as_of: '2026-11-01',
  source:
    'keyleash built-in defaults: approximate Twilio list prices in USD (outbound SMS per segment, MMS per message, ' +
    'voice per minute to mobiles, Verify per successful verification) for budgeting only. ' +
    'The operator should replace this table with the prices on their own Twilio account.',
  currency: 'usd',
  sms: {
    US: '0.0083', CA: '0.0083', PR: '0.0083', DO: '0.0950', JM: '0.1600',
    GB: '0.0524', IE: '0.0856', DE: '0.0945', FR: '0.0868', ES: '0.0870', IT: '0.0870', NL: '0.1270',
    BE: '0.1020', AT: '0.1150', CH: '0.0740', SE: '0.0700', NO: '0.0740', DK: '0.0560', FI: '0.0980',
    PL: '0.0400', PT: '0.0420', GR: '0.0650', CZ: '0.0700', HU: '0.1050', RO: '0.0960', UA: '0.1200',
    RU: '0.6000', KZ: '0.2000', TR: '0.0200',
    IN: '0.0832', CN: '0.0475', JP: '0.0888', KR: '0.0380', HK: '0.0690', TW: '0.0780', SG: '0.0465',
    MY: '0.1000', TH: '0.0550', VN: '0.0900', PH: '0.1900', ID: '0.4300',
    AU: '0.0515', NZ: '0.1182',
    BR: '0.0463', MX: '0.0440', AR: '0.0700', CL: '0.0650', CO: '0.0600',
    ZA: '0.0266', NG: '0.3500', KE: '0.1700', EG: '0.2300',
    AE: '0.0553', SA: '0.0600', IL: '0.2600',
  },
  mms: {
    US: '0.0220', CA: '0.0220', PR: '0.0220',
  },
  voice_per_minute: {
    US: '0.0140', CA: '0.0140', PR: '0.0140', DO: '0.1700', JM: '0.2800',
    GB: '0.0400', IE: '0.0500', DE: '0.0800', FR: '0.0600', ES: '0.0500', IT: '0.0600', NL: '0.1000',
    BE: '0.0900', AT: '0.0900', CH: '0.2000', SE: '0.0300', NO: '0.0400', DK: '0.0300', FI: '0.0900',
    PL: '0.0400', PT: '0.0400', GR: '0.0500', CZ: '0.0700', HU: '0.0800', RO: '0.0600', UA: '0.2500',
    RU: '0.2500', KZ: '0.2000', TR: '0.1000',
    IN: '0.0400', CN: '0.0400', JP: '0.1500', KR: '0.0400', HK: '0.0400', TW: '0.1500', SG: '0.0400',
    MY: '0.0500', TH: '0.0500', VN: '0.1200', PH: '0.2000', ID: '0.1500',
    AU: '0.0600', NZ: '0.1200',
    BR: '0.0800', MX: '0.0500', AR: '0.1000', CL: '0.0600', CO: '0.0600',
    ZA: '0.1000', NG: '0.1500', KE: '0.1200', EG: '0.2000',
    AE: '0.2000', SA: '0.1500', IL: '0.0800',
  },
  verify_per_verification: '0.05',
  calling_codes: {
    '1': 'US',
    ...NANP_OVERRIDES,
    '7': 'RU', '76': 'KZ', '77': 'KZ',
    '20': 'EG', '27': 'ZA', '30': 'GR', '31': 'NL', '32': 'BE', '33': 'FR', '34': 'ES', '36': 'HU',
    '39': 'IT', '40': 'RO', '41': 'CH', '43': 'AT', '44': 'GB', '45': 'DK', '46': 'SE', '47': 'NO',
    '48': 'PL', '49': 'DE', '52': 'MX', '54': 'AR', '55': 'BR', '56': 'CL', '57': 'CO', '60': 'MY',
    '61': 'AU', '62': 'ID', '63': 'PH', '64': 'NZ', '65': 'SG', '66': 'TH', '81': 'JP', '82': 'KR',
    '84': 'VN', '86': 'CN', '90': 'TR', '91': 'IN', '234': 'NG', '254': 'KE', '351': 'PT', '353': 'IE',
    '358': 'FI', '380': 'UA', '420': 'CZ', '852': 'HK', '886': 'TW', '966': 'SA', '971': 'AE', '972': 'IL',
  },
});
