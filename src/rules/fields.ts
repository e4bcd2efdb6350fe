/**
 * Transaction fields a rule may read as `txn.<name>`. Features come from state by name; these come straight from the
 * validated transaction. The PAN is not here and cannot be: `CardTransaction` does not carry it.
 */
import type { CardTransaction } from '../contract/transaction';

export type FieldType = 'number' | 'string' | 'boolean';
export type FieldValue = number | string | boolean | undefined;

export interface TransactionField {
  type: FieldType;
  description: string;
  read(txn: CardTransaction): FieldValue;
  /** Closed set of values (enums): a literal outside it is a typo caught at load. */
  values?: readonly string[];
  /** Shape a string literal must have, with the words for the error message. */
  format?: { pattern: RegExp; expected: string };
}

const COUNTRY = { pattern: /^[A-Z]{2}$/, expected: 'an ISO 3166-1 alpha-2 code in capitals, e.g. KZ' };
const MCC = { pattern: /^[0-9]{4}$/, expected: 'a 4-digit merchant category code, e.g. "6011"' };
const CURRENCY = { pattern: /^[A-Z]{3}$/, expected: 'an ISO 4217 code in capitals, e.g. KZT' };

export const TRANSACTION_FIELDS: Readonly<Record<string, TransactionField>> = {
  amount: { type: 'number', description: 'Amount in major units of the transaction currency.', read: (t) => t.amount },
  currency: { type: 'string', description: 'ISO 4217 currency.', read: (t) => t.currency, format: CURRENCY },
  channel: { type: 'string', description: 'pos, ecom, atm or moto.', read: (t) => t.channel, values: ['pos', 'ecom', 'atm', 'moto'] },
  entryMode: {
    type: 'string',
    description: 'chip, contactless, magstripe, manual or ecom.',
    read: (t) => t.entryMode,
    values: ['chip', 'contactless', 'magstripe', 'manual', 'ecom'],
  },
  mcc: { type: 'string', description: 'Merchant category code.', read: (t) => t.mcc, format: MCC },
  country: { type: 'string', description: 'Country of the merchant.', read: (t) => t.country, format: COUNTRY },
  cardPresent: { type: 'boolean', description: 'The card was physically present.', read: (t) => t.cardPresent },
  approved: { type: 'boolean', description: 'Issuer decision.', read: (t) => t.approved },
  merchantId: { type: 'string', description: 'Acquirer merchant id.', read: (t) => t.merchantId },
  terminalId: { type: 'string', description: 'Terminal id.', read: (t) => t.terminalId },
  accountId: { type: 'string', description: 'Account the card draws on.', read: (t) => t.accountId },
  deviceId: { type: 'string', description: 'Device fingerprint (card not present).', read: (t) => t.deviceId },
  ip: { type: 'string', description: 'Client IP (card not present).', read: (t) => t.ip },
  cardToken: {
    type: 'string',
    description: 'HMAC token of the card (for card lists).',
    read: (t) => t.cardToken,
    format: { pattern: /^[0-9a-f]{64}$/, expected: 'a card token (64 lowercase hex digits; rules never hold PANs)' },
  },
  localHour: {
    type: 'number',
    description: "Hour of day (0–23) in the timestamp's own UTC offset.",
    read: (t) => localHourOf(t.timestamp),
  },
};

/**
 * An RFC 3339 timestamp is written in local time followed by its offset, so characters 11–12 are the local hour:
 * no date arithmetic, no allocation. `undefined` for anything that is not such a timestamp.
 */
export function localHourOf(timestamp: string): number | undefined {
  const tens = timestamp.charCodeAt(11) - 48;
  const units = timestamp.charCodeAt(12) - 48;
  if (!(tens >= 0 && tens <= 2 && units >= 0 && units <= 9)) return undefined;
  const hour = tens * 10 + units;
  return hour <= 23 ? hour : undefined;
}
