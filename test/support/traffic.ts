/** Small, hand-shaped transaction streams for end-to-end tests (the simulator makes the realistic ones). */
import type { TransactionMessage } from '../../src/contract/schemas';
import { cardTokenizer } from '../../src/contract/card';
import { TEST_HMAC_KEY } from './service';

/** A Luhn-valid 16-digit test PAN for card number `n`. */
export function testPan(n: number): string {
  const body = `400000${String(n).padStart(9, '0')}`;
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return body + String((10 - (sum % 10)) % 10);
}

export const testToken = (n: number) => cardTokenizer(TEST_HMAC_KEY)(testPan(n));

/** ISO-8601 with the Kazakhstan offset, as the bank would send it. */
export function localTimestamp(ms: number): string {
  return new Date(ms + 5 * 3600_000).toISOString().replace('Z', '+05:00');
}

export function transaction(card: number, id: string, atMs: number, extra: Partial<TransactionMessage> = {}): TransactionMessage {
  return {
    transactionId: id,
    timestamp: localTimestamp(atMs),
    pan: testPan(card),
    amount: 5000,
    currency: 'KZT',
    merchantId: `m-${card % 50}`,
    terminalId: `t-${card % 50}`,
    mcc: '5411',
    country: 'KZ',
    channel: 'pos',
    entryMode: 'chip',
    cardPresent: true,
    approved: true,
    ...extra,
  };
}

/** `count` transactions of one card, `spacingMs` apart, ids `<prefix>-<card>-<i>`. */
export function cardStream(card: number, count: number, startMs: number, spacingMs: number, prefix: string, extra: Partial<TransactionMessage> = {}): TransactionMessage[] {
  return Array.from({ length: count }, (_, i) => transaction(card, `${prefix}-${card}-${i}`, startMs + i * spacingMs, extra));
}

/** Keyed by card (its token, never the PAN) so each card stays on one partition, as a bank's producer would do. */
export const asKafkaMessage = (m: TransactionMessage) => ({ key: cardTokenizer(TEST_HMAC_KEY)(m.pan ?? (m.cardId as string)), value: JSON.stringify(m) });
