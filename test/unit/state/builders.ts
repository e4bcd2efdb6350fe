/** Transactions and labels for state tests (also used by test/integration/state). */
import type { CardLabel, CardTransaction } from '../../../src/contract/transaction';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** A Monday, midnight UTC: bucket boundaries of every tier but d7 (16.8 h wide) fall on it. */
export const T0 = Date.parse('2026-03-02T00:00:00Z');

/** Card tokens are HMAC-SHA-256 hex in production; any 64 hex digits do here. */
export function token(name: string): string {
  return Buffer.from(name.padEnd(32, '.')).toString('hex').slice(0, 64);
}

export const CARD_A = token('card-a');
export const CARD_B = token('card-b');

export function txn(transactionId: string, eventTimeMs: number, fields: Partial<CardTransaction> = {}): CardTransaction {
  return {
    transactionId,
    eventTimeMs,
    timestamp: new Date(eventTimeMs).toISOString(),
    cardToken: CARD_A,
    amount: 5000,
    currency: 'KZT',
    approved: true,
    ...fields,
  };
}

export function label(transactionId: string, value: 'fraud' | 'genuine', cardToken = CARD_A): CardLabel {
  return { transactionId, cardToken, label: value, reportedAtMs: T0 };
}
