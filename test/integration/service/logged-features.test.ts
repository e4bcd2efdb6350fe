/**
 * Features logged as served: the service on the real broker and Redis with SCORES_INCLUDE_FEATURES=true puts each
 * decision's feature vector on the scores topic; a dump of that topic and a labels file train a model with
 * `npm run train -- --scores` (no replay), and the model loads and scores.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import type { DecisionMessage, LabelMessage, TransactionMessage } from '../../../src/contract/schemas';
import { decodeDecision } from '../../../src/contract/validate';
import { loadModel } from '../../../src/model/scorer';
import { startService, type RunningService } from '../../../src/service';
import { FEATURE_NAMES } from '../../../src/state/features';
import { createLogger } from '../../../src/telemetry/logger';
import { deleteKeysWithPrefix, stackAddresses } from '../../support/env';
import { collect, produceAll, testKafka, type Collector } from '../../support/kafka';
import { prepareNames, serviceOverrides, type TestNames } from '../../support/service';
import { asKafkaMessage, cardStream, localTimestamp } from '../../support/traffic';

const root = join(__dirname, '..', '..', '..');
const run = promisify(execFile);
const T0 = Date.parse('2026-11-30T00:00:00Z');
const DAY = 86_400_000;
const parse = <T>(m: { value: Buffer | null }) => JSON.parse(String(m.value)) as T;

/** Cards 1-16 shop at home every 6 hours for three days; cards 1-4 are stolen: online abroad, big amounts, labelled fraud. */
function traffic(): { transactions: TransactionMessage[]; labels: LabelMessage[] } {
  const transactions: TransactionMessage[] = [];
  const labels: LabelMessage[] = [];
  for (let card = 1; card <= 16; card++) {
    const stolen = card <= 4;
    const stream = stolen
      ? cardStream(card, 12, T0 + card * 60_000, 6 * 3600_000, 'stolen', { amount: 250_000, channel: 'ecom', cardPresent: false, entryMode: 'ecom', country: 'NG' })
      : cardStream(card, 12, T0 + card * 60_000, 6 * 3600_000, 'home', { amount: 3_000 + card * 100 });
    transactions.push(...stream);
    if (stolen) {
      for (const t of stream) labels.push({ transactionId: t.transactionId, pan: t.pan, label: 'fraud', reportedAt: localTimestamp(Date.parse(t.timestamp) + 3600_000), source: 'chargeback' });
    }
  }
  return { transactions, labels };
}

describe('features logged as served, trained on', () => {
  const { kafkaBrokers, redisUrl } = stackAddresses();
  const kafka = testKafka(kafkaBrokers);
  const redis = new Redis(redisUrl);
  let dir: string;
  let names: TestNames;
  let service: RunningService;
  let scores: Collector;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'card-shield-logged-features-'));
    names = await prepareNames('logged-features');
    scores = await collect(kafka, names.scoresTopic);
    service = await startService({ env: {}, overrides: serviceOverrides(names, { scoresIncludeFeatures: true }), logger: createLogger({ level: 'error' }) });
  });

  afterAll(async () => {
    await service?.stop();
    await scores?.stop();
    if (names) await deleteKeysWithPrefix(redis, names.redisKeyPrefix);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs every feature of every decision, and a dump of the topic trains a model that loads and scores', async () => {
    const { transactions, labels } = traffic();
    await produceAll(kafka, names.transactionsTopic, transactions.map(asKafkaMessage));
    await scores.waitFor((ms) => ms.length >= transactions.length, 'every decision');

    const records = scores.messages.map((m) => parse<DecisionMessage>(m));
    for (const r of records) {
      expect(decodeDecision(JSON.stringify(r)).ok).toBe(true);
      expect(Object.keys(r.features ?? {})).toEqual([...FEATURE_NAMES]);
      expect(r.modelVersion).toBeDefined();
      expect(r.rulesVersion).toBeDefined();
    }
    // The twelfth purchase of a card saw the eleven before it in 30 days, and itself.
    expect(records.find((r) => r.transactionId === 'home-9-11')!.features!['card.count_30d']).toBe(12);

    // The topic as a consumer dumps it, plus a line logged before the flag was on and one that is not a record.
    const { features: _features, ...withoutFeatures } = records[0];
    const scoresFile = join(dir, 'scores.ndjson');
    writeFileSync(scoresFile, [...scores.messages.map((m) => String(m.value)), JSON.stringify({ ...withoutFeatures, transactionId: 'before-the-flag' }), 'garbage'].join('\n'));
    const labelsFile = join(dir, 'labels.ndjson');
    writeFileSync(labelsFile, labels.map((l) => JSON.stringify(l)).join('\n'));
    const out = join(dir, 'model');
    const trainTo = new Date(T0 + 3 * DAY).toISOString();
    const { stdout } = await run(
      join(root, 'node_modules', '.bin', 'tsx'),
      [join(root, 'src', 'cli', 'train.ts'), '--scores', scoresFile, '--labels', labelsFile, '--train-to', trainTo, '--validation-days', '1', '--epochs', '20', '--out', out, '--version', 'logged-v1'],
      { cwd: root, maxBuffer: 1 << 24 },
    );
    expect(stdout).toContain(`read the logged features in`);
    expect(stdout).toContain(`${transactions.length} transactions in the period (${labels.length} with a known fraud label) on 16 cards`);
    expect(stdout).toContain('2 input records skipped (scores: 1 no features, 1 not a decision record)');

    const model = await loadModel(out, { catalog: FEATURE_NAMES });
    try {
      expect(model.version).toBe('logged-v1');
      expect(model.metadata.dataSummary.transactions).toBe(transactions.length);
      const vectors = records.map((r) => FEATURE_NAMES.map((name) => r.features![name]));
      const scored = model.scoreBatch(vectors);
      expect(scored).toHaveLength(records.length);
      expect(Array.from(scored).every((s) => s >= 0 && s <= 1)).toBe(true);
      // Trained on these rows: the stolen cards' purchases score above the others'.
      const mean = (rows: number[]) => rows.reduce((a, b) => a + b, 0) / rows.length;
      const stolen = records.map((r, i) => (r.transactionId.startsWith('stolen') ? scored[i] : undefined)).filter((s): s is number => s !== undefined);
      const home = records.map((r, i) => (r.transactionId.startsWith('home') ? scored[i] : undefined)).filter((s): s is number => s !== undefined);
      expect(mean(stolen)).toBeGreaterThan(mean(home));
    } finally {
      model.dispose();
    }
  });
});
