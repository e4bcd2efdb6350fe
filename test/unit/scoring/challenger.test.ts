/**
 * The challenger in the scoring pipeline (in-memory state): scored beside the champion on the same features, on the
 * scores records and in the metrics, and never changing a decision or an alert. Features as served on the records.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { RecentAlerts, type DecisionRecord } from '../../../src/alerts/sinks';
import { createMemorySuppressor } from '../../../src/alerts/suppression';
import { cardTokenizer, decodeDecision, toCardTransaction, type CardTransaction } from '../../../src/contract';
import { createModelSlot, type ModelSlot } from '../../../src/model/scorer';
import { createRulesHolder, type RulesHolder } from '../../../src/rules';
import { startChallenger } from '../../../src/scoring/challenger';
import { scoreChunk, type ScoringDependencies } from '../../../src/scoring/pipeline';
import { FEATURE_INDEX, FEATURE_NAMES } from '../../../src/state/features';
import { createMemoryStore } from '../../../src/state/memory-store';
import { Telemetry } from '../../../src/telemetry/events';
import { createMetrics } from '../../../src/telemetry/metrics';
import { modelCopy, SHIPPED_MODEL } from '../../support/models';
import { TEST_HMAC_KEY } from '../../support/service';
import { nextEvent } from '../../support/telemetry';
import { cardStream } from '../../support/traffic';

const T0 = Date.parse('2026-11-30T06:00:00Z');
const logger = pino({ level: 'silent' });

describe('a challenger model beside the champion', () => {
  let root: string;
  let rules: RulesHolder;
  let champion: ModelSlot;
  let challenger: ModelSlot;

  // A burst that alerts (10-minute velocity), then calm cards; the same stream for every run.
  const tokenize = cardTokenizer(TEST_HMAC_KEY);
  const stream = (): CardTransaction[] =>
    [...cardStream(1, 8, T0, 60_000, 'burst', { amount: 90_000, channel: 'ecom', cardPresent: false, entryMode: 'ecom', country: 'US' }), ...cardStream(2, 6, T0, 3600_000, 'calm')]
      .sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp))
      .map((m) => toCardTransaction(m, tokenize, 'KZT'));

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'card-shield-challenger-'));
    rules = await createRulesHolder({ file: join(__dirname, '../../../rules/default.yaml'), featureIndex: FEATURE_INDEX, telemetry: new Telemetry(), logger, watch: false });
    champion = await createModelSlot(SHIPPED_MODEL, { catalog: FEATURE_NAMES });
    challenger = await createModelSlot(modelCopy(join(root, 'challenger'), 'challenger-v2', 1.6), { catalog: FEATURE_NAMES, role: 'challenger' });
  });
  afterAll(() => {
    rules.close();
    champion.dispose();
    challenger.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  async function run(options: { challenger: boolean; features?: boolean; telemetry?: Telemetry }) {
    const alerts = new RecentAlerts(100);
    const records: DecisionRecord[] = [];
    const deps: ScoringDependencies = {
      store: createMemoryStore(),
      rules: () => rules.current(),
      model: () => champion.current,
      challenger: options.challenger ? () => challenger.current : undefined,
      decisionFeatures: options.features,
      policy: { reviewThreshold: 0.5, blockThreshold: 0.85 },
      suppressor: createMemorySuppressor(3600_000),
      alerts,
      decisions: { publish: async (rs) => void records.push(...rs) },
      telemetry: options.telemetry ?? new Telemetry(),
      now: () => T0 + 86_400_000,
    };
    const txns = stream();
    for (let i = 0; i < txns.length; i += 5) await scoreChunk(deps, txns.slice(i, i + 5));
    return { alerts: alerts.latest(100), records };
  }

  it('scores every transaction with the challenger, records its score and version, and changes no decision or alert', async () => {
    const without = await run({ challenger: false });
    const telemetry = new Telemetry();
    const metrics = createMetrics(telemetry, { defaultMetrics: false });
    const withChallenger = await run({ challenger: true, telemetry });

    expect(without.alerts.length).toBeGreaterThan(0);
    expect(withChallenger.alerts).toEqual(without.alerts);
    const strip = (r: DecisionRecord) => {
      const { challengerScore: _s, challengerVersion: _v, ...rest } = r;
      return rest;
    };
    expect(withChallenger.records.map(strip)).toEqual(without.records);
    expect(without.records.every((r) => r.challengerScore === undefined)).toBe(true);

    for (const r of withChallenger.records) {
      expect(r.challengerVersion).toBe('challenger-v2');
      expect(r.challengerScore).toBeGreaterThanOrEqual(0);
      expect(decodeDecision(JSON.stringify(r)).ok).toBe(true);
    }
    // Scored by the challenger's own network, not a copy of the champion's score.
    expect(withChallenger.records.every((r) => Math.abs(r.challengerScore! - r.modelScore!) > 0.01 * r.modelScore!)).toBe(true);

    const text = await metrics.registry.metrics();
    expect(text).toContain(`cardshield_challenger_score_count ${withChallenger.records.length}`);
    const agreement = [...text.matchAll(/^cardshield_challenger_decisions_total\{champion="(\w+)",challenger="(\w+)"\} (\d+)$/gm)];
    expect(agreement.reduce((sum, m) => sum + Number(m[3]), 0)).toBe(withChallenger.records.length);
    const championActions = new Map<string, number>();
    for (const r of withChallenger.records) championActions.set(r.action, (championActions.get(r.action) ?? 0) + 1);
    for (const [action, count] of championActions) {
      expect(agreement.filter((m) => m[1] === action).reduce((sum, m) => sum + Number(m[3]), 0)).toBe(count);
    }
  });

  it('logs every catalog feature by name on each record as scored, only when asked', async () => {
    const plain = await run({ challenger: false });
    expect(plain.records.every((r) => r.features === undefined)).toBe(true);
    const { records } = await run({ challenger: false, features: true });
    for (const r of records) {
      expect(Object.keys(r.features!)).toEqual([...FEATURE_NAMES]);
      expect(decodeDecision(JSON.stringify(r)).ok).toBe(true);
    }
    // The burst's eighth transaction saw the seven before it in the last 10 minutes, and itself.
    const last = records.find((r) => r.transactionId === 'burst-1-7')!;
    expect(last.features!['card.count_10m']).toBe(8);
    expect(last.modelVersion).toBe(champion.current.version);
    expect(last.rulesVersion).toBe(rules.current().version);
  });
});

describe('startChallenger', () => {
  it('leaves no challenger when its directory does not load, and takes one when a valid model arrives there', async () => {
    const root = mkdtempSync(join(tmpdir(), 'card-shield-challenger-start-'));
    const dir = join(root, 'challenger');
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.json'), '{"not": "a model"}');
    writeFileSync(join(dir, 'metadata.json'), '{}');
    const telemetry = new Telemetry();
    const rejected = nextEvent(telemetry, 'model.reload_rejected');
    const running = await startChallenger(dir, { logger, telemetry });
    try {
      expect(await rejected).toMatchObject({ role: 'challenger' });
      expect(running.current()).toBeUndefined();

      const loaded = nextEvent(telemetry, 'model.loaded');
      rmSync(dir, { recursive: true });
      modelCopy(dir, 'arrived-later');
      expect(await loaded).toMatchObject({ role: 'challenger', version: 'arrived-later' });
      expect(running.current()?.version).toBe('arrived-later');
    } finally {
      running.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
