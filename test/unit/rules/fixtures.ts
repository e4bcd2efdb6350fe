/**
 * Test fixtures for the rules: builders of transactions and feature vectors (in the state catalog's order) with
 * neutral values, so each test states only what matters to it.
 */
import type { CardTransaction } from '../../../src/contract/transaction';
import { FEATURE_INDEX, NO_PREVIOUS_SECONDS } from '../../../src/state/features';

/** The real catalog: rules must compile against what state actually produces. */
export { FEATURE_INDEX };

/** What state reports for a card with no history at all (see the catalog's neutral values). */
const NEUTRAL: Readonly<Record<string, number>> = {
  'card.amount_ratio_30d': 1,
  'account.amount_ratio_30d': 1,
  'card.seconds_since_last': NO_PREVIOUS_SECONDS,
  'account.seconds_since_last': NO_PREVIOUS_SECONDS,
};

export function features(values: Readonly<Record<string, number>> = {}): Float64Array {
  const index: Readonly<Record<string, number>> = FEATURE_INDEX;
  const vector = new Float64Array(Object.keys(index).length);
  for (const [name, value] of Object.entries({ ...NEUTRAL, ...values })) {
    const position = index[name];
    if (position === undefined) throw new Error(`test uses unknown feature ${name}`);
    vector[position] = value;
  }
  return vector;
}

export const CARD_TOKEN = 'a'.repeat(64);

/** An ordinary card-present daytime grocery purchase in Almaty. */
export function txn(overrides: Partial<CardTransaction> = {}): CardTransaction {
  return {
    transactionId: 'tx-1',
    eventTimeMs: Date.parse('2026-11-30T14:15:00+05:00'),
    timestamp: '2026-11-30T14:15:00+05:00',
    cardToken: CARD_TOKEN,
    amount: 8500,
    currency: 'KZT',
    accountId: 'acc-1',
    merchantId: 'm-grocery',
    terminalId: 't-grocery-1',
    mcc: '5411',
    country: 'KZ',
    city: 'Almaty',
    latitude: 43.24,
    longitude: 76.89,
    channel: 'pos',
    entryMode: 'chip',
    cardPresent: true,
    approved: true,
    ...overrides,
  };
}
