import fc from 'fast-check';
import type { CardLabel, CardTransaction } from '../../../src/contract';
import { replay, type ReplayRow } from '../../../src/offline/dataset';
import type { SourceRecord } from '../../../src/offline/sources';
import { FEATURE_INDEX } from '../../../src/state/features';
import { createMemoryStore } from '../../../src/state/memory-store';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-02-01T00:00:00Z');

function txn(id: string, at: number, card: string, terminal: string, amount = 5000): CardTransaction {
  return {
    transactionId: id,
    eventTimeMs: at,
    timestamp: new Date(at).toISOString(),
    cardToken: card.padEnd(64, '0'),
    amount,
    currency: 'KZT',
    approved: true,
    terminalId: terminal,
    merchantId: `m-${terminal}`,
    channel: 'pos',
  };
}

function fraudLabel(of: CardTransaction, reportedAtMs: number, label: CardLabel['label'] = 'fraud'): CardLabel {
  return { transactionId: of.transactionId, cardToken: of.cardToken, label, reportedAtMs };
}

async function* records(transactions: readonly CardTransaction[]): AsyncGenerator<SourceRecord> {
  for (const transaction of transactions) yield { transaction };
}

/** Feature vectors by transaction id, from a replay through a fresh in-memory store. */
async function vectors(transactions: readonly CardTransaction[], labels: readonly CardLabel[], batchSize = 500): Promise<Map<string, ReplayRow>> {
  const rows = new Map<string, ReplayRow>();
  for await (const batch of replay(records(transactions), { store: createMemoryStore(), labels, batchSize })) {
    for (const row of batch) rows.set(row.transaction.transactionId, row);
  }
  return rows;
}

const terminalFrauds = (row: ReplayRow | undefined) => row!.features[FEATURE_INDEX['terminal.fraud_count_30d']];

describe('replay: labels reach the state only after their reporting time', () => {
  const first = txn('t1', T0, 'a', 'T');
  const second = txn('t2', T0 + HOUR, 'b', 'T');
  const third = txn('t3', T0 + 2 * HOUR, 'c', 'T');
  const stream = [first, second, third];

  it('counts a fraud label in the features of the transactions after its reporting time, not before', async () => {
    const rows = await vectors(stream, [fraudLabel(first, T0 + 90 * 60_000)]);
    expect(terminalFrauds(rows.get('t2'))).toBe(0);
    expect(terminalFrauds(rows.get('t3'))).toBe(1);
    expect(rows.get('t1')!.fraudLabel?.transactionId).toBe('t1');
    expect(rows.get('t2')!.fraudLabel).toBeUndefined();
  });

  it('holds a label reported exactly at a transaction’s time until after it', async () => {
    const rows = await vectors(stream, [fraudLabel(first, second.eventTimeMs)]);
    expect(terminalFrauds(rows.get('t2'))).toBe(0);
    expect(terminalFrauds(rows.get('t3'))).toBe(1);
  });

  it('never gives a transaction its own label, even one dated before it (bad data)', async () => {
    const withOwn = await vectors(stream, [fraudLabel(second, T0)]);
    const without = await vectors(stream, []);
    expect(Array.from(withOwn.get('t2')!.features)).toEqual(Array.from(without.get('t2')!.features));
    // Once its transaction is in, the label does count for the ones after.
    expect(terminalFrauds(withOwn.get('t3'))).toBe(1);
  });

  it('never applies a label whose transaction is not in the input', async () => {
    const stranger = txn('elsewhere', T0 - HOUR, 'z', 'T');
    const rows = await vectors(stream, [fraudLabel(stranger, T0 - HOUR / 2)]);
    expect(terminalFrauds(rows.get('t3'))).toBe(0);
  });

  it('refuses an input out of time order', async () => {
    await expect(vectors([second, first], [])).rejects.toThrow(/must be in event-time order/);
  });
});

describe('replay: no leakage (property)', () => {
  // A few cards sharing two terminals, so labels move the terminal and merchant fraud features of other cards.
  const streamArbitrary = fc
    .array(
      fc.record({
        gapMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 6 * HOUR })),
        card: fc.constantFrom('a', 'b', 'c', 'd'),
        terminal: fc.constantFrom('T1', 'T2'),
        amount: fc.integer({ min: 100, max: 500_000 }),
        label: fc.option(
          fc.record({ kind: fc.constantFrom<CardLabel['label']>('fraud', 'fraud', 'genuine'), delayMs: fc.integer({ min: 1, max: 2 * 24 * HOUR }) }),
          { freq: 2 },
        ),
      }),
      { minLength: 2, maxLength: 24 },
    )
    .map((steps) => {
      let at = T0;
      const transactions: CardTransaction[] = [];
      const labels: CardLabel[] = [];
      steps.forEach((step, i) => {
        at += step.gapMs;
        const t = txn(`p${i}`, at, step.card, step.terminal, step.amount);
        transactions.push(t);
        if (step.label) labels.push(fraudLabel(t, at + step.label.delayMs, step.label.kind));
      });
      return { transactions, labels };
    });

  it('gives every transaction the vector computed from strictly earlier information only', async () => {
    await fc.assert(
      fc.asyncProperty(streamArbitrary, fc.integer({ min: 1, max: 5 }), async ({ transactions, labels }, batchSize) => {
        // Everything at once: all transactions, all labels (future ones included), small batches.
        const full = await vectors(transactions, labels, batchSize);
        for (let i = 0; i < transactions.length; i++) {
          const subject = transactions[i];
          // The oracle: only the transactions up to this one, and only labels reported strictly before it about
          // earlier transactions. Future transactions, future labels and its own label are all absent.
          const past = transactions.slice(0, i);
          const pastIds = new Set(past.map((t) => t.transactionId));
          const knownLabels = labels.filter((l) => l.reportedAtMs < subject.eventTimeMs && pastIds.has(l.transactionId));
          const oracle = await vectors([...past, subject], knownLabels);
          expect(Array.from(full.get(subject.transactionId)!.features)).toEqual(Array.from(oracle.get(subject.transactionId)!.features));
        }
      }),
      { numRuns: 25 },
    );
  });
});
