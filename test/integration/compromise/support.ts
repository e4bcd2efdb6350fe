/**
 * A bank in miniature for compromise detection: one small terminal that skims the cards of the 40 customers who use
 * it over five days, a busy supermarket, and 1,500 cards shopping elsewhere. Six of the skimmed cards are later used
 * online and reported as fraud, as are three cards with no link to the terminal (the base rate's victims).
 */
import type { LabelMessage, TransactionMessage } from '../../../src/contract/schemas';
import { cardTokenizer } from '../../../src/contract/card';
import { TEST_HMAC_KEY } from '../../support/service';
import { localTimestamp, testPan, transaction } from '../../support/traffic';

export const T0 = Date.parse('2026-11-02T06:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const SKIMMER = { terminalId: 't-skim-1', merchantId: 'm-corner-shop' };
/** Cards 1–40 used the skimmed terminal, one every three hours from T0. */
export const SKIMMED_CARDS = Array.from({ length: 40 }, (_, i) => i + 1);
/** The first, last and four between: the window the detector estimates covers every skimmed card. */
export const SKIMMED_VICTIMS = [1, 9, 17, 25, 33, 40];
/** The skimmed cards not reported as fraud: every one is warned once every label is in. */
export const EXPOSED_CARDS = SKIMMED_CARDS.filter((card) => !SKIMMED_VICTIMS.includes(card));
export const OTHER_VICTIMS = [1201, 1302, 1403];
export const UNEXPOSED_CARD = 1499;
/** Its first transaction is 45 days older than the rest: by the time it is labelled the state no longer keeps it. */
export const ANCIENT_CARD = 1498;

export interface Scenario {
  transactions: TransactionMessage[];
  labels: LabelMessage[];
  /** When the labels are reported: the detector's clock. */
  reportedAtMs: number;
}

export function scenario(prefix: string): Scenario {
  const transactions: TransactionMessage[] = [transaction(ANCIENT_CARD, `${prefix}-ancient-${ANCIENT_CARD}`, T0 - 45 * DAY)];
  for (const card of SKIMMED_CARDS) {
    transactions.push(transaction(card, `${prefix}-skim-${card}`, T0 + (card - 1) * 3 * HOUR, { ...SKIMMER }));
  }
  // Everyone, skimmed cards included, shops at the supermarket and at one of 50 neighbourhood shops over the days.
  for (let card = 1; card <= 1500; card++) {
    transactions.push(transaction(card, `${prefix}-big-${card}`, T0 + (card % 120) * HOUR + 7 * 60_000, { terminalId: `t-super-${card % 8}`, merchantId: 'm-supermarket' }));
    transactions.push(transaction(card, `${prefix}-home-${card}`, T0 + DAY + (card % 96) * HOUR + 13 * 60_000));
  }
  // Two weeks later: the stolen data is used online; three unrelated cards are defrauded too.
  const fraudAt = T0 + 14 * DAY;
  const frauds = [...SKIMMED_VICTIMS, ...OTHER_VICTIMS].map((card, i) =>
    transaction(card, `${prefix}-fraud-${card}`, fraudAt + i * 60_000, { terminalId: undefined, merchantId: `e-shop-${i}`, channel: 'ecom', entryMode: 'ecom', cardPresent: false, mcc: '5816', amount: 250_000 }),
  );
  transactions.push(...frauds);
  transactions.sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
  const reportedAtMs = fraudAt + 2 * DAY;
  const labels: LabelMessage[] = frauds.map((f) => ({ transactionId: f.transactionId, pan: f.pan, label: 'fraud', reportedAt: localTimestamp(reportedAtMs), source: 'customer' }));
  return { transactions, labels, reportedAtMs };
}

/** A card-not-present purchase three weeks after the skimming, for scoring exposed and unexposed cards alike. */
export function laterPurchase(card: number, id: string): TransactionMessage {
  return transaction(card, id, T0 + 21 * DAY, { terminalId: undefined, merchantId: 'e-electronics', channel: 'ecom', entryMode: 'ecom', cardPresent: false, mcc: '5732', amount: 180_000 });
}

/** Keyed by card token, never the PAN, as the bank's producer keys transactions. */
export const asLabelMessage = (label: LabelMessage) => ({ key: cardTokenizer(TEST_HMAC_KEY)(label.pan ?? (label.cardId as string)), value: JSON.stringify(label) });

/** Labels the detector must count and ignore: an unknown transaction, an unknown card, one older than the state keeps. */
export function badLabels(prefix: string, reportedAtMs: number): LabelMessage[] {
  const at = localTimestamp(reportedAtMs);
  return [
    { transactionId: `${prefix}-never-sent`, pan: testPan(2), label: 'fraud', reportedAt: at },
    { transactionId: `${prefix}-unknown-card`, pan: testPan(9999), label: 'fraud', reportedAt: at },
    { transactionId: `${prefix}-ancient-${ANCIENT_CARD}`, pan: testPan(ANCIENT_CARD), label: 'fraud', reportedAt: at },
  ];
}
