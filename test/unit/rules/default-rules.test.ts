/**
 * The shipped rule library, rule by rule: each fires on its pattern and stays quiet on the nearest innocent case.
 * The file and its list files are read from the repository, so a broken shipped file fails here first.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CardTransaction } from '../../../src/contract/transaction';
import { InMemoryListRegistry, compileRuleSet, type RuleSet } from '../../../src/rules';
import { CARD_TOKEN, FEATURE_INDEX, features, txn } from './fixtures';

const rulesDirectory = join(__dirname, '..', '..', '..', 'rules');
const COMPROMISED_TERMINAL = 't-skimmed-7';
const COMPROMISED_MERCHANT = 'm-breached-3';
const TRUSTED_MERCHANT = 'm-almaty-transit';
const BLOCKED_CARD = 'b'.repeat(64);

/** The shipped list files, each with one entry added for the tests. */
const testEntries: Record<string, string> = {
  'lists/compromised-terminals.txt': COMPROMISED_TERMINAL,
  'lists/compromised-merchants.txt': COMPROMISED_MERCHANT,
  'lists/trusted-merchants.txt': TRUSTED_MERCHANT,
  'lists/blocked-cards.txt': BLOCKED_CARD,
};

function loadDefault(extra: Record<string, string> = {}): RuleSet {
  return compileRuleSet(readFileSync(join(rulesDirectory, 'default.yaml'), 'utf8'), {
    featureIndex: FEATURE_INDEX,
    sourceName: 'rules/default.yaml',
    readListFile: (path) => `${readFileSync(join(rulesDirectory, path), 'utf8')}\n${extra[path] ?? ''}\n`,
  });
}

interface Case {
  txn?: Partial<CardTransaction>;
  features?: Record<string, number>;
}

const cnp: Partial<CardTransaction> = { channel: 'ecom', entryMode: 'ecom', cardPresent: false, terminalId: undefined };
const atNight: Partial<CardTransaction> = { channel: 'atm', mcc: '6011', timestamp: '2026-11-30T02:40:00+05:00' };
const cashOut = { 'card.count_1h': 3 };

/** rule id → a case that must fire it, a near miss that must not, and (optionally) the message it must produce. */
const cases: Record<string, { positive: Case; negative: Case; message?: string }> = {
  card_count_velocity_10m: {
    positive: { features: { 'card.count_10m': 7 } },
    negative: { features: { 'card.count_10m': 7 }, txn: { merchantId: TRUSTED_MERCHANT } },
    message: '7 transactions in 10 minutes (limit 5)',
  },
  card_count_velocity_24h: {
    positive: { features: { 'card.count_24h': 31 } },
    negative: { features: { 'card.count_24h': 30 } },
  },
  card_amount_velocity_1h: {
    positive: { features: { 'card.amount_1h': 620000, 'card.count_1h': 3 } },
    negative: { features: { 'card.amount_1h': 620000, 'card.count_1h': 2 } },
    message: '620000 spent in 1 hour over 3 transactions (limit 500000)',
  },
  account_velocity: {
    positive: { features: { 'account.amount_24h': 3200000, 'account.count_1h': 4 } },
    negative: { features: { 'account.amount_24h': 3000000, 'account.count_1h': 15 } },
    message: 'account: 4 transactions in 1 hour (limit 15), 3200000 in 24 hours (limit 3000000)',
  },
  impossible_travel: {
    positive: { features: { 'card.speed_kmh_from_last_present': 3000, 'card.distance_km_from_last_present': 1000 } },
    negative: { features: { 'card.speed_kmh_from_last_present': 3000, 'card.distance_km_from_last_present': 1000 }, txn: cnp },
    message: '1000 km from the previous card-present transaction at 3000 km/h (limit 900 km/h)',
  },
  card_testing_small_amounts: {
    positive: { features: { 'card.small_amounts_10m': 4 }, txn: { amount: 150, ...cnp } },
    negative: { features: { 'card.small_amounts_10m': 3 }, txn: { amount: 150, ...cnp } },
  },
  card_testing_declines: {
    positive: { features: { 'card.declines_10m': 4 }, txn: { approved: false } },
    negative: { features: { 'card.declines_10m': 3 }, txn: { approved: false } },
    message: '4 declined transactions in 10 minutes (limit 4)',
  },
  amount_spike: {
    positive: { features: { 'card.amount_ratio_30d': 12.5, 'card.amount_zscore': 6.1, 'card.count_30d': 20 }, txn: { amount: 250000 } },
    // The same spike on a card too new to have a history to spike against.
    negative: { features: { 'card.amount_ratio_30d': 12.5, 'card.amount_zscore': 6.1, 'card.count_30d': 4 }, txn: { amount: 250000 } },
    message: "amount 250000 is 12.5 times the card's 30-day average (limit 8)",
  },
  first_foreign_country_cnp: {
    positive: { features: { 'card.first_country': 1 }, txn: { ...cnp, country: 'NG' } },
    // The same first visit to Nigeria with the card in hand.
    negative: { features: { 'card.first_country': 1 }, txn: { country: 'NG' } },
    message: 'first card-not-present transaction in NG',
  },
  first_high_risk_mcc_cnp: {
    positive: { features: { 'card.first_mcc': 1 }, txn: { ...cnp, mcc: '7995', channel: 'moto', cardPresent: undefined } },
    negative: { features: { 'card.first_mcc': 0 }, txn: { ...cnp, mcc: '7995' } },
    message: 'first card-not-present transaction at high-risk MCC 7995',
  },
  atm_night_cash_out: {
    positive: { features: cashOut, txn: atNight },
    // The same burst in the afternoon.
    negative: { features: cashOut, txn: { ...atNight, timestamp: '2026-11-30T14:40:00+05:00' } },
    message: '3 transactions in 1 hour ending with an ATM withdrawal at 2h local time (limit 3)',
  },
  terminal_card_burst: {
    positive: { features: { 'terminal.distinct_cards_1h': 25, 'terminal.distinct_cards_7d': 60 } },
    // A busy supermarket: 25 cards an hour is a small share of its week.
    negative: { features: { 'terminal.distinct_cards_1h': 25, 'terminal.distinct_cards_7d': 2400 } },
    message: 'terminal t-grocery-1 served 25 distinct cards in 1 hour (limit 20), 60 in 7 days',
  },
  compromised_terminal: {
    positive: { txn: { terminalId: COMPROMISED_TERMINAL } },
    negative: { txn: { terminalId: 't-grocery-2' } },
    message: `terminal ${COMPROMISED_TERMINAL} is listed as compromised`,
  },
  compromised_merchant: {
    positive: { txn: { merchantId: COMPROMISED_MERCHANT } },
    negative: { txn: { merchantId: 'm-grocery' } },
  },
  exposed_card_risky_use: {
    positive: { features: { 'card.exposed': 1, 'card.days_since_exposure': 12, 'card.exposure_evidence': 9 }, txn: cnp },
    // The same exposed card buying groceries with its chip at home is what its owner does.
    negative: { features: { 'card.exposed': 1, 'card.days_since_exposure': 12, 'card.exposure_evidence': 9 } },
    message: 'card exposed at a compromised point 12 days ago (evidence 9), now used by ecom in KZ',
  },
  blocked_card: {
    positive: { txn: { cardToken: BLOCKED_CARD } },
    negative: { txn: { cardToken: CARD_TOKEN } },
  },
  device_many_cards: {
    positive: { features: { 'device.distinct_cards_24h': 4 }, txn: { ...cnp, deviceId: 'dev-1' } },
    negative: { features: { 'device.distinct_cards_24h': 3 }, txn: { ...cnp, deviceId: 'dev-1' } },
  },
};

function evaluate(ruleSet: RuleSet, c: Case) {
  return ruleSet.evaluate(txn(c.txn), features(c.features));
}

describe('the default rule library (rules/default.yaml)', () => {
  const ruleSet = loadDefault(testEntries);

  it('compiles with the shipped list files as they are', () => {
    const shipped = loadDefault();
    expect(shipped.version).toBe(ruleSet.version);
    expect(shipped.rules.length).toBeGreaterThanOrEqual(15);
  });

  it('has a positive and a negative case here for every rule it ships', () => {
    expect(Object.keys(cases).sort()).toEqual(ruleSet.rules.map((r) => r.id).sort());
  });

  it('adds the points compromise detection flags to the investigations in the list files', () => {
    const detected = new InMemoryListRegistry({ compromised_terminals: [], compromised_merchants: [] });
    const live = compileRuleSet(readFileSync(join(rulesDirectory, 'default.yaml'), 'utf8'), {
      featureIndex: FEATURE_INDEX,
      sourceName: 'rules/default.yaml',
      lists: detected,
      readListFile: (path) => `${readFileSync(join(rulesDirectory, path), 'utf8')}\n${testEntries[path] ?? ''}\n`,
    });
    const at = (terminalId: string) => live.evaluate(txn({ terminalId }), features()).map((h) => h.ruleId);
    expect(at('t-found-1')).not.toContain('compromised_terminal');
    detected.add('compromised_terminals', 't-found-1');
    expect(at('t-found-1')).toContain('compromised_terminal');
    expect(at(COMPROMISED_TERMINAL)).toContain('compromised_terminal');
  });

  it('leaves an ordinary purchase alone', () => {
    expect(ruleSet.evaluate(txn(), features())).toEqual([]);
  });

  describe.each(Object.entries(cases))('%s', (ruleId, { positive, negative, message }) => {
    it('fires on its pattern, with a reason carrying the values', () => {
      const hit = evaluate(ruleSet, positive).find((h) => h.ruleId === ruleId);
      expect(hit).toBeDefined();
      expect(hit?.reason.code).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(hit?.reason.message).not.toMatch(/[{}]|unknown/);
      if (message !== undefined) expect(hit?.reason.message).toBe(message);
    });

    it('stays quiet on the nearest innocent case', () => {
      expect(evaluate(ruleSet, negative).map((h) => h.ruleId)).not.toContain(ruleId);
    });
  });

  it('reports the value and threshold of a velocity hit as numbers', () => {
    const [hit] = evaluate(ruleSet, cases.card_count_velocity_10m.positive);
    expect(hit).toMatchObject({ ruleId: 'card_count_velocity_10m', action: 'review', shadow: false, reason: { value: 7, threshold: 5 } });
  });

  it('marks the shadow rule as shadow', () => {
    const hit = evaluate(ruleSet, cases.device_many_cards.positive).find((h) => h.ruleId === 'device_many_cards');
    expect(hit?.shadow).toBe(true);
  });
});
