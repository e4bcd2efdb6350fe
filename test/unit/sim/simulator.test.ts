import { createHash } from 'node:crypto';
import { decodeLabel, decodeTransaction, formatErrors } from '../../../src/contract/validate';
import { FRAUD_SCENARIOS, createSimulation, type LabelEvent, type SimEvent, type SimOptionsInput, type Simulation, type TransactionEvent } from '../../../src/sim';
import { distanceKm } from '../../../src/sim/geo';
import { pointTruthLine, transactionLine, transactionTruthLines, wireLine } from '../../../src/sim/lines';

const DAY_MS = 86_400_000;

function run(input: SimOptionsInput): { simulation: Simulation; events: SimEvent[] } {
  const simulation = createSimulation(input);
  return { simulation, events: [...simulation] };
}

/** Every byte the CLI would write: points, then each event's wire line and truth lines. */
function outputDigest(input: SimOptionsInput): string {
  const simulation = createSimulation(input);
  const hash = createHash('sha256');
  for (const point of simulation.compromisedPoints) hash.update(pointTruthLine(point));
  for (const event of simulation) {
    hash.update(wireLine(event));
    if (event.kind === 'transaction') for (const line of transactionTruthLines(event)) hash.update(line);
  }
  return hash.digest('hex');
}

const transactionsOf = (events: SimEvent[]) => events.filter((e): e is TransactionEvent => e.kind === 'transaction');
const labelsOf = (events: SimEvent[]) => events.filter((e): e is LabelEvent => e.kind === 'label');

describe('determinism', () => {
  const small = { seed: 42, days: 8, customers: 400, fraudRates: { 'point-of-compromise': 3, 'fraudulent-merchant': 2 } };

  it('gives byte-identical output for the same seed and options', () => {
    expect(outputDigest(small)).toBe(outputDigest(small));
  });

  it('gives different output for another seed', () => {
    expect(outputDigest({ ...small, seed: 43 })).not.toBe(outputDigest(small));
  });

  it('keeps the population when only the length of the run changes', () => {
    const short = createSimulation({ ...small, days: 2 });
    const long = createSimulation({ ...small, days: 20 });
    expect(long.population.pan).toEqual(short.population.pan);
    expect(Array.from(long.population.homeCity)).toEqual(Array.from(short.population.homeCity));
  });
});

/**
 * One run shared by the property tests below: a month of 1,200 customers with every scenario turned up so that each
 * happens often enough to measure. Rates are incidents per day per 10,000 cards.
 */
const RATES = { 'point-of-compromise': 1.5, 'card-testing': 20, 'account-takeover': 15, 'cloned-card': 25, 'fraudulent-merchant': 0.6 };
const LABELS = { unreportedShare: 0.3, chargebackShare: 0.5, customerDelayMedianDays: 3, chargebackDelayMedianDays: 25, delaySigma: 0.5, falseReportRate: 0.001 };
const COMPROMISE = { exploitShare: 0.4, exploitDelayMedianDays: 6 };
const DAYS = 30;

describe('a month of traffic with every scenario', () => {
  let simulation: Simulation;
  let events: SimEvent[];
  let transactions: TransactionEvent[];
  let labels: LabelEvent[];

  beforeAll(() => {
    ({ simulation, events } = run({ seed: 7, days: DAYS, customers: 1200, fraudRates: RATES, labels: LABELS, compromise: COMPROMISE }));
    transactions = transactionsOf(events);
    labels = labelsOf(events);
  });

  it('emits only messages that pass the v1 validators, with timestamps equal to the event times', () => {
    const problems: string[] = [];
    for (const event of events) {
      const line = wireLine(event);
      const result = event.kind === 'transaction' ? decodeTransaction(line) : decodeLabel(line);
      if (!result.ok) problems.push(`${event.message.transactionId}: ${formatErrors(result.errors)}`);
      const stamp = event.kind === 'transaction' ? event.message.timestamp : event.message.reportedAt;
      if (Date.parse(stamp) !== event.atMs) problems.push(`${event.message.transactionId}: ${stamp} is not ${event.atMs}`);
    }
    expect(problems.slice(0, 5)).toEqual([]);
    expect(transactions.length).toBeGreaterThan(40_000);
  });

  it('serialises transactions exactly as JSON.stringify would', () => {
    for (const event of transactions) if (transactionLine(event.message) !== JSON.stringify(event.message)) throw new Error(`differs: ${event.message.transactionId}`);
  });

  it('emits events in time order, with unique transaction ids', () => {
    for (let i = 1; i < events.length; i++) if (events[i].atMs < events[i - 1].atMs) throw new Error(`out of order at event ${i}`);
    expect(new Set(transactions.map((t) => t.message.transactionId)).size).toBe(transactions.length);
  });

  it('uses +05:00 for Kazakhstan and the local offset abroad', () => {
    const offsets = new Map<string, Set<string>>();
    for (const t of transactions) {
      const set = offsets.get(t.message.country!) ?? new Set();
      set.add(t.message.timestamp.slice(19));
      offsets.set(t.message.country!, set);
    }
    expect([...offsets.get('KZ')!]).toEqual(['+05:00']);
    expect([...(offsets.get('AE') ?? [])]).toEqual(['+04:00']);
    expect([...(offsets.get('TR') ?? [])]).toEqual(['+03:00']);
  });

  it('spends realistic KZT amounts: coffee about 1,500, groceries about 8,000, rent about 150,000', () => {
    const median = (mcc: string) => {
      const amounts = transactions.filter((t) => t.truth === undefined && t.message.mcc === mcc).map((t) => t.message.amount).sort((a, b) => a - b);
      return amounts[Math.floor(amounts.length / 2)];
    };
    expect(median('5814')).toBeGreaterThan(1000);
    expect(median('5814')).toBeLessThan(2500);
    expect(median('5411')).toBeGreaterThan(5000);
    expect(median('5411')).toBeLessThan(13000);
    expect(median('6513')).toBeGreaterThan(90000);
    expect(median('6513')).toBeLessThan(250000);
  });

  it('spends most often on groceries and coffee, rarely at the cinema or on rent', () => {
    const shares = new Map<string, number>();
    const genuinePos = transactions.filter((t) => t.truth === undefined && t.message.channel === 'pos');
    for (const t of genuinePos) shares.set(t.message.mcc!, (shares.get(t.message.mcc!) ?? 0) + 1 / genuinePos.length);
    const ranked = [...shares].sort((a, b) => b[1] - a[1]).map(([mcc]) => mcc);
    expect(ranked.slice(0, 3)).toEqual(expect.arrayContaining(['5411', '5814']));
    expect(shares.get('7832')!).toBeLessThan(0.05);
    const online = transactions.filter((t) => t.truth === undefined && t.message.channel === 'ecom');
    expect(online.filter((t) => t.message.mcc === '6513').length / online.length).toBeLessThan(0.05);
  });

  it('includes the hard genuine cases: travel abroad, big one-off purchases, new merchants, salary-day bursts, declines', () => {
    const genuine = transactions.filter((t) => t.truth === undefined);
    expect(genuine.filter((t) => t.message.country !== 'KZ' && t.message.cardPresent).length).toBeGreaterThan(200);
    expect(genuine.filter((t) => ['5722', '5712', '5944'].includes(t.message.mcc!)).length).toBeGreaterThan(50);
    expect(genuine.filter((t) => t.message.approved === false).length / genuine.length).toBeGreaterThan(0.01);
    // Salary days (the customer's payday and 15 days later) bring bursts of spending.
    const { payday } = simulation.population;
    const customerOf = (t: TransactionEvent) => Number(t.message.accountId!.slice(5)) - 1;
    const dayOfMonth = (ms: number) => new Date(ms + 5 * 3_600_000).getUTCDate();
    const isPayday = (customer: number, ms: number) => dayOfMonth(ms) === payday[customer] || dayOfMonth(ms) === payday[customer] + 15;
    let paydayTxns = 0;
    let otherTxns = 0;
    for (const t of genuine) {
      if (isPayday(customerOf(t), t.atMs)) paydayTxns++;
      else otherTxns++;
    }
    let paydayCustomerDays = 0;
    let otherCustomerDays = 0;
    for (let c = 0; c < simulation.population.customerCount; c++) {
      for (let d = 0; d < DAYS; d++) {
        if (isPayday(c, simulation.options.startMs + d * DAY_MS + 12 * 3_600_000)) paydayCustomerDays++;
        else otherCustomerDays++;
      }
    }
    expect(paydayTxns / paydayCustomerDays / (otherTxns / otherCustomerDays)).toBeGreaterThan(1.4);
  });

  it('starts incidents at the configured rate per scenario (within 4 standard deviations)', () => {
    const cardUnits = simulation.population.cardCountTotal / 10_000;
    for (const scenario of FRAUD_SCENARIOS) {
      const expected = RATES[scenario] * cardUnits * DAYS;
      const observed = simulation.stats.incidents[scenario];
      expect({ scenario, off: Math.abs(observed - expected) <= 4 * Math.sqrt(expected) }).toEqual({ scenario, off: true });
    }
    // and each shows up as fraud in the stream
    for (const scenario of FRAUD_SCENARIOS) expect(transactions.some((t) => t.truth?.scenario === scenario)).toBe(true);
  });

  it('switches a scenario off with rate 0', () => {
    const off = createSimulation({ seed: 7, days: 5, customers: 300, fraudRates: { 'card-testing': 0, 'cloned-card': 0 } });
    const scenarios = new Set([...off].flatMap((e) => (e.kind === 'transaction' && e.truth ? [e.truth.scenario] : [])));
    expect(scenarios.has('card-testing')).toBe(false);
    expect(scenarios.has('cloned-card')).toBe(false);
    expect(off.stats.incidents['card-testing']).toBe(0);
  });

  it('uses a point-of-compromise card fraudulently only after its visit to the breached point', () => {
    const exposures = new Map<string, number>();
    for (const t of transactions) if (t.exposedTo !== undefined) exposures.set(`${t.cardRef}|${t.exposedTo}`, t.atMs);
    const poc = transactions.filter((t) => t.truth?.scenario === 'point-of-compromise');
    expect(poc.length).toBeGreaterThan(20);
    for (const fraud of poc) {
      const exposedAt = exposures.get(`${fraud.cardRef}|${fraud.truth!.pointId}`);
      expect(exposedAt).toBeDefined();
      expect(fraud.atMs - exposedAt!).toBeGreaterThanOrEqual(DAY_MS);
    }
  });

  it('exposes cards only inside breach windows, at the breached terminal, and exploits the configured share', () => {
    const points = new Map(simulation.compromisedPoints.map((p) => [p.pointId, p]));
    for (const t of transactions.filter((e) => e.exposedTo !== undefined)) {
      const point = points.get(t.exposedTo!)!;
      expect(t.message.merchantId).toBe(point.merchantId);
      if (point.terminalId !== undefined) expect(t.message.terminalId).toBe(point.terminalId);
      expect(t.atMs).toBeGreaterThanOrEqual(point.fromMs);
      expect(t.atMs).toBeLessThan(point.untilMs);
    }
    const { cardsExposed, cardsScheduledForExploit } = simulation.stats;
    expect(cardsExposed).toBeGreaterThan(100);
    const share = cardsScheduledForExploit / cardsExposed;
    expect(Math.abs(share - COMPROMISE.exploitShare)).toBeLessThan(4 * Math.sqrt((COMPROMISE.exploitShare * (1 - COMPROMISE.exploitShare)) / cardsExposed));
  });

  it('makes every transaction at a fraudulent point fraud while the point is fraudulent', () => {
    const rogues = simulation.compromisedPoints.filter((p) => p.scenario === 'fraudulent-merchant');
    expect(rogues.length).toBeGreaterThan(0);
    for (const point of rogues) {
      const during = transactions.filter((t) => t.message.merchantId === point.merchantId && t.atMs >= point.fromMs && t.atMs < point.untilMs);
      expect(during.length).toBeGreaterThan(0);
      for (const t of during) expect(t.truth).toMatchObject({ scenario: 'fraudulent-merchant', pointId: point.pointId });
    }
    // Before and after its window the point is an ordinary merchant with genuine customers.
    const genuineOutside = transactions.filter((t) => t.truth === undefined && rogues.some((p) => p.merchantId === t.message.merchantId && (t.atMs < p.fromMs || t.atMs >= p.untilMs)));
    expect(genuineOutside.length).toBeGreaterThan(0);
  });

  it('card testing: bursts of tiny online authorisations, many declined, a large purchase only after one went through', () => {
    const cases = groupBy(transactions.filter((t) => t.truth?.scenario === 'card-testing'), (t) => t.truth!.caseId);
    let declined = 0;
    let tests = 0;
    for (const txns of cases.values()) {
      const tiny = txns.filter((t) => t.message.amount <= 1000);
      const large = txns.filter((t) => t.message.amount > 1000);
      expect(tiny.length).toBeGreaterThanOrEqual(4);
      for (const t of txns) expect(t.message.channel).toBe('ecom');
      tests += tiny.length;
      declined += tiny.filter((t) => !t.message.approved).length;
      if (large.length > 0) {
        const firstApprovedTest = tiny.find((t) => t.message.approved);
        expect(firstApprovedTest).toBeDefined();
        expect(large[0].atMs).toBeGreaterThan(tiny[tiny.length - 1].atMs);
        expect(large[0].message.amount).toBeGreaterThan(20_000);
      }
    }
    expect(declined / tests).toBeGreaterThan(0.4);
  });

  it('account takeover: several times the owner’s usual amounts, at merchants the owner never used before', () => {
    const takeovers = transactions.filter((t) => t.truth?.scenario === 'account-takeover');
    const usual = new Map<string, number[]>();
    const seenMerchants = new Map<string, Set<string>>();
    for (const t of transactions) {
      if (t.truth !== undefined) continue;
      const account = t.message.accountId!;
      usual.set(account, [...(usual.get(account) ?? []), t.message.amount]);
      seenMerchants.set(account, (seenMerchants.get(account) ?? new Set()).add(t.message.merchantId!));
    }
    const ratios = takeovers.map((t) => {
      const amounts = (usual.get(t.message.accountId!) ?? [7000]).sort((a, b) => a - b);
      return t.message.amount / amounts[Math.floor(amounts.length / 2)];
    });
    ratios.sort((a, b) => a - b);
    expect(ratios[Math.floor(ratios.length / 2)]).toBeGreaterThan(2.5);
    const atKnownMerchant = takeovers.filter((t) => seenMerchants.get(t.message.accountId!)?.has(t.message.merchantId!)).length;
    expect(atKnownMerchant / takeovers.length).toBeLessThan(0.1);
  });

  it('cloned card: the real card is used in person, then the clone in person at least 700 km away within 90 minutes', () => {
    const clones = groupBy(transactions.filter((t) => t.truth?.scenario === 'cloned-card'), (t) => t.truth!.caseId);
    expect(clones.size).toBeGreaterThan(50);
    const byCard = groupBy(transactions.filter((t) => t.truth === undefined && t.message.cardPresent), (t) => t.cardRef);
    for (const txns of clones.values()) {
      const first = txns[0];
      expect(first.message.cardPresent).toBe(true);
      const anchor = (byCard.get(first.cardRef) ?? []).filter((g) => g.atMs < first.atMs && first.atMs - g.atMs <= 90 * 60_000).pop();
      expect(anchor).toBeDefined();
      const km = distanceKm(point(anchor!), point(first));
      expect(km).toBeGreaterThanOrEqual(700);
    }
  });

  it('labels fraud after a per-case delay that follows the configured medians and sources', () => {
    const delays: Record<string, number[]> = { customer: [], chargeback: [] };
    for (const [, caseLabels] of groupBy(labels.filter((l) => l.caseId !== undefined), (l) => l.caseId!)) {
      const first = caseLabels[0];
      for (const l of caseLabels) expect(l.message.source).toBe(first.message.source);
      delays[first.message.source!].push((first.atMs - first.caseStartMs!) / DAY_MS);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    expect(delays.customer.length).toBeGreaterThan(100);
    expect(delays.chargeback.length).toBeGreaterThan(100);
    expect(median(delays.customer) / LABELS.customerDelayMedianDays).toBeGreaterThan(0.8);
    expect(median(delays.customer) / LABELS.customerDelayMedianDays).toBeLessThan(1.25);
    expect(median(delays.chargeback) / LABELS.chargebackDelayMedianDays).toBeGreaterThan(0.8);
    expect(median(delays.chargeback) / LABELS.chargebackDelayMedianDays).toBeLessThan(1.25);
    const chargebackShare = delays.chargeback.length / (delays.chargeback.length + delays.customer.length);
    expect(Math.abs(chargebackShare - LABELS.chargebackShare)).toBeLessThan(0.1);
  });

  it('leaves the configured share of fraud cases unreported, and labels only approved fraud, after the transaction', () => {
    const seen = new Map(transactions.map((t) => [t.message.transactionId, t]));
    const labelled = new Set<string>();
    const problems: string[] = [];
    for (const label of labels) {
      const txn = seen.get(label.message.transactionId);
      if (txn === undefined) problems.push(`label for unknown ${label.message.transactionId}`);
      else if (label.atMs <= txn.atMs) problems.push(`label before ${txn.message.transactionId}`);
      else if (label.message.pan !== txn.message.pan || label.cardRef !== txn.cardRef) problems.push(`label card differs for ${txn.message.transactionId}`);
      else if (label.caseId !== undefined && (txn.truth?.caseId !== label.caseId || !txn.message.approved)) problems.push(`case label on ${txn.message.transactionId}`);
      if (label.caseId !== undefined) labelled.add(label.caseId);
    }
    expect(problems.slice(0, 5)).toEqual([]);
    const casesWithApprovedFraud = new Set(transactions.filter((t) => t.truth !== undefined && t.message.approved).map((t) => t.truth!.caseId));
    const unreported = [...casesWithApprovedFraud].filter((c) => !labelled.has(c)).length / casesWithApprovedFraud.size;
    const n = casesWithApprovedFraud.size;
    expect(n).toBeGreaterThan(300);
    expect(Math.abs(unreported - LABELS.unreportedShare)).toBeLessThan(4 * Math.sqrt((LABELS.unreportedShare * (1 - LABELS.unreportedShare)) / n));
  });

  it('wrongly reports the configured share of genuine transactions', () => {
    const falseReports = labels.filter((l) => l.caseId === undefined);
    const approvedGenuine = transactions.filter((t) => t.truth === undefined && t.message.approved).length;
    const expected = approvedGenuine * LABELS.falseReportRate;
    expect(Math.abs(falseReports.length - expected)).toBeLessThan(4 * Math.sqrt(expected));
    const genuineIds = new Set(transactions.filter((t) => t.truth === undefined).map((t) => t.message.transactionId));
    for (const l of falseReports) expect(genuineIds.has(l.message.transactionId)).toBe(true);
  });

  it('keys every event by a card reference that is not the PAN, one reference per PAN', () => {
    const panOf = new Map<string, string>();
    const problems: string[] = [];
    for (const event of events) {
      if (!/^card-\d{6,}$/.test(event.cardRef)) problems.push(`bad reference ${event.cardRef}`);
      const known = panOf.get(event.cardRef);
      if (known === undefined) panOf.set(event.cardRef, event.message.pan!);
      else if (known !== event.message.pan) problems.push(`${event.cardRef} has two PANs`);
    }
    expect(problems).toEqual([]);
    expect(new Set(panOf.values()).size).toBe(panOf.size);
  });
});

describe('options', () => {
  it('stops after maxTransactions and still flushes the labels due', () => {
    const { simulation, events } = run({ seed: 3, days: 30, customers: 300, maxTransactions: 1000, fraudRates: { 'card-testing': 200 } });
    expect(transactionsOf(events)).toHaveLength(1000);
    expect(simulation.stats.transactions).toBe(1000);
    const emitted = new Set(transactionsOf(events).map((t) => t.message.transactionId));
    const labels = labelsOf(events);
    expect(labels.length).toBeGreaterThan(0);
    for (const label of labels) expect(emitted.has(label.message.transactionId)).toBe(true);
  });

  it('refuses impossible options with a message naming the option', () => {
    expect(() => createSimulation({ days: 0 })).toThrow(/days/);
    expect(() => createSimulation({ fraudRates: { 'card-testing': -1 } })).toThrow(/card-testing rate/);
    expect(() => createSimulation({ labels: { unreportedShare: 1.5 } })).toThrow(/unreportedShare/);
  });

  it('can be iterated only once', () => {
    const simulation = createSimulation({ days: 1, customers: 10 });
    [...simulation];
    expect(() => [...simulation]).toThrow(/once/);
  });
});

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

function point(t: TransactionEvent): { latitude: number; longitude: number } {
  return { latitude: t.message.latitude!, longitude: t.message.longitude! };
}
