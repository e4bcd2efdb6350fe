/** The state benchmarks' traffic (bench/state.ts, bench/script-cost.ts): deterministic, so runs are comparable. */
import type { CardTransaction } from '../src/contract/transaction';

export const DAY_MS = 86_400_000;
export const START = Date.parse('2026-03-02T00:00:00Z');

/** A small deterministic generator, so runs are comparable. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return state / 2 ** 32;
  };
}

export function hexToken(prefix: string, n: number): string {
  return `${prefix}${n.toString(16)}`.padEnd(64, '0').slice(0, 64);
}

/**
 * Traffic of a mid-size issuer: 50 000 cards, 3 000 merchants with skewed popularity, 8 000 terminals, accounts for
 * most cards, a quarter e-commerce with device and IP. About 2 000 transactions a minute of event time.
 */
export function trafficStream(count: number): CardTransaction[] {
  const next = random(42);
  const txns: CardTransaction[] = [];
  let time = START;
  for (let i = 0; i < count; i++) {
    time += Math.floor(next() * 60);
    const card = Math.floor(next() * 50_000);
    const merchant = Math.floor(3000 * next() ** 2.5); // a few merchants take much of the traffic
    const ecom = next() < 0.25;
    const txn: CardTransaction = {
      transactionId: `bench-${i}`,
      eventTimeMs: time,
      timestamp: new Date(time).toISOString(),
      cardToken: hexToken('b', card),
      amount: Math.round(500 + next() * 60_000) / 2,
      currency: 'KZT',
      approved: next() > 0.04,
      merchantId: `MER${merchant}`,
      mcc: ['5411', '5812', '5541', '5999', '6011', '4111'][merchant % 6],
      country: next() < 0.95 ? 'KZ' : 'AE',
      channel: ecom ? 'ecom' : 'pos',
    };
    if (card % 5 !== 0) txn.accountId = `ACC${card >> 1}`;
    if (ecom) {
      txn.deviceId = `DEV${card}`;
      txn.ip = `10.${(card >> 16) & 255}.${(card >> 8) & 255}.${card & 255}`;
    } else {
      txn.terminalId = `TER${merchant}-${Math.floor(next() * 3)}`;
      txn.latitude = 43.2 + next();
      txn.longitude = 76.8 + next();
      txn.cardPresent = true;
    }
    txns.push(txn);
  }
  return txns;
}

