/**
 * The internal form of a transaction: validated, tokenized, PAN-free. Everything after the consumer's decode step
 * (state, rules, model, alerts, the simulator's replay) works on this type.
 */
import type { LabelMessage, TransactionMessage } from './schemas';
import { maskPan } from './card';

export type Channel = NonNullable<TransactionMessage['channel']>;
export type EntryMode = NonNullable<TransactionMessage['entryMode']>;

export interface CardTransaction {
  transactionId: string;
  /** Event time, epoch milliseconds. */
  eventTimeMs: number;
  /** Event time as the bank sent it (kept for alerts). */
  timestamp: string;
  cardToken: string;
  /** First 6 + last 4, only when the message carried a PAN. */
  maskedPan?: string;
  amount: number;
  currency: string;
  accountId?: string;
  merchantId?: string;
  terminalId?: string;
  mcc?: string;
  country?: string;
  city?: string;
  latitude?: number;
  longitude?: number;
  channel?: Channel;
  entryMode?: EntryMode;
  cardPresent?: boolean;
  /** Issuer decision; absent in the message means approved. */
  approved: boolean;
  deviceId?: string;
  ip?: string;
}

export interface CardLabel {
  transactionId: string;
  cardToken: string;
  label: 'fraud' | 'genuine';
  reportedAtMs: number;
  source?: LabelMessage['source'];
}

/** Copies only known fields, so anything else a producer sent (CVV, track data) is dropped at the boundary. */
export function toCardTransaction(
  message: TransactionMessage,
  tokenize: (panOrCardId: string) => string,
  defaultCurrency: string,
): CardTransaction {
  const cardKey = message.pan ?? (message.cardId as string);
  const txn: CardTransaction = {
    transactionId: message.transactionId,
    eventTimeMs: Date.parse(message.timestamp),
    timestamp: message.timestamp,
    cardToken: tokenize(cardKey),
    amount: message.amount,
    currency: message.currency ?? defaultCurrency,
    approved: message.approved ?? true,
  };
  if (message.pan !== undefined) txn.maskedPan = maskPan(message.pan);
  if (message.accountId !== undefined) txn.accountId = message.accountId;
  if (message.merchantId !== undefined) txn.merchantId = message.merchantId;
  if (message.terminalId !== undefined) txn.terminalId = message.terminalId;
  if (message.mcc !== undefined) txn.mcc = message.mcc;
  if (message.country !== undefined) txn.country = message.country;
  if (message.city !== undefined) txn.city = message.city;
  if (message.latitude !== undefined && message.longitude !== undefined) {
    txn.latitude = message.latitude;
    txn.longitude = message.longitude;
  }
  if (message.channel !== undefined) txn.channel = message.channel;
  if (message.entryMode !== undefined) txn.entryMode = message.entryMode;
  if (message.cardPresent !== undefined) txn.cardPresent = message.cardPresent;
  if (message.deviceId !== undefined) txn.deviceId = message.deviceId;
  if (message.ip !== undefined) txn.ip = message.ip;
  return txn;
}

export function toCardLabel(message: LabelMessage, tokenize: (panOrCardId: string) => string): CardLabel {
  const label: CardLabel = {
    transactionId: message.transactionId,
    // a token is already what state keys on (the desk's labels); a PAN or cardId is tokenized here
    cardToken: message.cardToken ?? tokenize(message.pan ?? (message.cardId as string)),
    label: message.label,
    reportedAtMs: Date.parse(message.reportedAt),
  };
  if (message.source !== undefined) label.source = message.source;
  return label;
}
