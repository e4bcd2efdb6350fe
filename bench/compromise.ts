/**
 * `npm run bench:compromise` — how well compromise detection finds breaches, on the simulator's ground truth.
 * `npm run bench:compromise -- --cost` — what it costs in Redis: bytes per visit, and the work of one label in the
 * worst cases (a victim with 500 transactions in its look-back; a point with 100,000 visitors).
 *
 * Quality: for each seed and exploited share, a simulation (its own process, files in a temporary directory) is
 * replayed through the service's detector (`npm run compromise`'s code), and the metrics of
 * src/compromise/truth.ts are printed per run, with the threshold study: how many points each alarm p-value would
 * have flagged, true and false. Not a timed test: it prints figures, it asserts nothing.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Redis from 'ioredis';
import type { Finding } from '../src/compromise/alerts';
import { CompromiseDetector, DEFAULT_DETECTOR_SETTINGS } from '../src/compromise/detector';
import { createRedisCompromiseStore } from '../src/compromise/redis-store';
import { replayCompromise } from '../src/compromise/replay';
import { DAY_MS } from '../src/compromise/store';
import { readTruth, scoreCompromise, TruthTracker, type CompromiseMetrics } from '../src/compromise/truth';
import { formatMetrics } from '../src/cli/compromise';
import type { CardTransaction } from '../src/contract/transaction';
import { openInputs } from '../src/offline/inputs';
import type { CardHistoryEntry } from '../src/state/store';
import { Telemetry } from '../src/telemetry/events';

const root = join(__dirname, '..');
const THRESHOLDS = [1e-3, 1e-4, 1e-5, 1e-6, 1e-8];

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1,2,3' },
    shares: { type: 'string', default: '0.10,0.35' },
    days: { type: 'string', default: '75' },
    customers: { type: 'string', default: '20000' },
    rate: { type: 'string', default: '0.1' },
    cost: { type: 'boolean', default: false },
  },
});

function simulate(dir: string, seed: number, share: number): void {
  execFileSync(
    process.execPath,
    ['--import', 'tsx', join(root, 'src/cli/simulate.ts'), '--seed', String(seed), '--days', values.days!, '--customers', values.customers!, '--fraud', `point-of-compromise=${values.rate}`, '--exploit-share', String(share), '--out', join(dir, 'traffic.ndjson')],
    { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

interface Run {
  seed: number;
  share: number;
  metrics: CompromiseMetrics;
  study: Map<number, { truePoints: number; falsePoints: number; found: number }>;
  seconds: number;
  evaluations: number;
  evaluationSeconds: number;
}

async function qualityRun(seed: number, share: number): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-compromise-'));
  try {
    simulate(dir, seed, share);
    const inputs = await openInputs({ input: join(dir, 'traffic.ndjson'), labels: join(dir, 'labels.ndjson') });
    const truth = await readTruth(join(dir, 'truth.ndjson'));
    const tracker = new TruthTracker(truth);
    const crossed = new Map<string, Map<number, number>>();
    const report = await replayCompromise({
      records: inputs.records(),
      labels: inputs.labels,
      settings: DEFAULT_DETECTOR_SETTINGS,
      onTransaction: (t) => tracker.onTransaction(t),
      onCandidate: (f: Finding) => {
        const at = crossed.get(f.point) ?? new Map<number, number>();
        crossed.set(f.point, at);
        for (const t of THRESHOLDS) if (f.pValue <= t && !at.has(t)) at.set(t, f.raisedAtMs);
      },
    });
    const metrics = scoreCompromise(truth, tracker, inputs.labels, report.alerts);
    // Threshold study: the points each threshold would have flagged (at any time), and the observable breaches found
    // before their end + 30 days.
    const isTrue = (key: string) => truth.points.some((p) => matchesPoint(p, key, tracker));
    const study = new Map<number, { truePoints: number; falsePoints: number; found: number }>();
    const observable = truth.points.filter((p) => p.scenario === 'point-of-compromise' && p.untilMs + 30 * DAY_MS <= tracker.lastMs);
    for (const t of THRESHOLDS) {
      const flagged = [...crossed].filter(([, at]) => at.has(t));
      const found = observable.filter((p) => flagged.some(([key, at]) => matchesPoint(p, key, tracker) && at.get(t)! <= p.untilMs + 30 * DAY_MS)).length;
      study.set(t, { truePoints: flagged.filter(([k]) => isTrue(k)).length, falsePoints: flagged.filter(([k]) => !isTrue(k)).length, found });
    }
    return { seed, share, metrics, study, seconds: report.seconds, evaluations: report.evaluated, evaluationSeconds: report.evaluationSeconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function matchesPoint(p: { merchantId: string; terminalId?: string }, key: string, tracker: TruthTracker): boolean {
  const id = key.slice(key.indexOf(':') + 1);
  if (key.startsWith('merchant:')) return id === p.merchantId;
  if (p.terminalId !== undefined) return id === p.terminalId;
  return tracker.merchantOfTerminal.get(id) === p.merchantId;
}

const pct = (x: number) => (Number.isNaN(x) ? 'n/a' : `${(x * 100).toFixed(0)} %`);
const d = (x: number) => (Number.isNaN(x) ? 'n/a' : x.toFixed(1));

async function quality(): Promise<void> {
  const seeds = values.seeds!.split(',').map(Number);
  const shares = values.shares!.split(',').map(Number);
  console.log(`bench:compromise — ${values.days} days, ${values.customers} customers, point-of-compromise rate ${values.rate} per day per 10,000 cards, alarm p ${DEFAULT_DETECTOR_SETTINGS.alarmPValue}; node ${process.version}`);
  const runs: Run[] = [];
  for (const share of shares) {
    for (const seed of seeds) {
      const run = await qualityRun(seed, share);
      runs.push(run);
      console.log(`\nseed ${seed}, exploited share ${share}: replay ${run.seconds.toFixed(0)} s, ${run.evaluations} point evaluations in ${run.evaluationSeconds.toFixed(1)} s`);
      console.log(formatMetrics(run.metrics));
      console.log(
        `threshold study  ${THRESHOLDS.map((t) => {
          const s = run.study.get(t)!;
          return `p≤${t}: ${s.found}/${run.metrics.breaches} found, ${s.truePoints} true / ${s.falsePoints} false points`;
        }).join('; ')}`,
      );
    }
  }
  console.log('\n| exploited | seed | found | precision | false / week / 10k | M1 from start, median / P90 (d) | M1 from 3rd label, median / P90 (d) | warned before fraud | warned truly exposed | fraud amount after warning |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of runs) {
    const m = r.metrics;
    console.log(
      `| ${r.share} | ${r.seed} | ${m.found}/${m.breaches} | ${pct(m.precision)} | ${m.falseAlertsPerWeekPer10k.toFixed(2)} | ${d(m.latencyFromStartDays.median)} / ${d(m.latencyFromStartDays.p90)} | ${d(m.latencyFromThirdLabelDays.median)} / ${d(m.latencyFromThirdLabelDays.p90)} | ${pct(m.warnedBeforeFraudShare)} | ${pct(m.warningPrecision)} | ${pct(m.fraudAmountAfterWarningShare)} |`,
    );
  }
}

// ------------------------------------------------------------------------------------------------ cost (Redis)

function redisUrl(): string {
  if (process.env.REDIS_URL) return process.env.REDIS_URL;
  const env = join(root, '.stack', 'env');
  if (existsSync(env)) {
    const line = readFileSync(env, 'utf8').split('\n').find((l) => l.startsWith('REDIS_URL='));
    if (line) return line.slice('REDIS_URL='.length);
  }
  return 'redis://127.0.0.1:6379';
}

function txn(card: number, point: string, atMs: number, id: string): CardTransaction {
  const token = card.toString(16).padStart(64, '0');
  return { transactionId: id, eventTimeMs: atMs, timestamp: new Date(atMs).toISOString(), cardToken: token, amount: 100, currency: 'KZT', approved: true, terminalId: `t-${point}`, merchantId: `m-${point}` };
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

async function cost(): Promise<void> {
  const redis = new Redis(redisUrl());
  const prefix = `bench-cpp-${Date.now().toString(36)}:`;
  const retentionMs = DEFAULT_DETECTOR_SETTINGS.retentionMs;
  const store = createRedisCompromiseStore(redis, { keyPrefix: prefix, retentionMs });
  const now = Date.now();
  try {
    // Bytes per visit: 20,000 cards making 10 transactions each at 2,000 points over 30 days.
    const before = await usedMemory(redis);
    const visits: CardTransaction[] = [];
    for (let card = 1; card <= 20_000; card++) for (let i = 0; i < 10; i++) visits.push(txn(card, String((card * 7 + i * 13) % 2000), now - 30 * DAY_MS + ((card * 31 + i * 86_400_017) % (30 * DAY_MS)), `v-${card}-${i}`));
    visits.sort((a, b) => a.eventTimeMs - b.eventTimeMs);
    const started = performance.now();
    for (let i = 0; i < visits.length; i += 500) await store.recordVisits(visits.slice(i, i + 500));
    const seconds = (performance.now() - started) / 1000;
    const after = await usedMemory(redis);
    console.log(`visit log: ${visits.length} transactions (20,000 cards, 2,000 points, 30 days) in ${seconds.toFixed(1)} s (${Math.round(visits.length / seconds)} tx/s through recordVisits alone)`);
    console.log(`  Redis memory ${((after - before) / visits.length).toFixed(1)} B per transaction (terminal + merchant + card logs, directory, names, activity), ${((after - before) / 20_000).toFixed(0)} B per card at 10 transactions`);

    // Worst case 1: one victim with 500 transactions at 500 points in its look-back.
    const heavy = 900_001;
    const heavyTxns = Array.from({ length: 500 }, (_, i) => txn(heavy, `heavy-${i}`, now - 20 * DAY_MS + i * 3_600_000, `h-${i}`));
    await store.recordVisits(heavyTxns);
    const history = (token: string): Promise<CardHistoryEntry[]> =>
      Promise.resolve(token === heavyTxns[0].cardToken ? [{ fingerprint: '00', atMs: now - DAY_MS, label: 'fraud', terminalId: 't-elsewhere', merchantId: 'm-elsewhere' }] : []);
    const detector = new CompromiseDetector({ store, history, alerts: { publish: async () => {} }, telemetry: new Telemetry(), now: Date.now, settings: DEFAULT_DETECTOR_SETTINGS });
    let t = performance.now();
    const first = await detector.onLabels([{ transactionId: 'x', cardToken: heavyTxns[0].cardToken, label: 'fraud', reportedAtMs: now }], [{ transactionId: 'x', outcome: 'applied' }]);
    console.log(`worst case, a victim with 500 transactions at 500 points: one label ${(performance.now() - t).toFixed(0)} ms (${first.evaluated} points evaluated)`);

    // Worst case 2: a point with 100,000 visitors over 20 days, 200 of them victims (the base rate there).
    const bigPoint = 'supermarket';
    const crowd: CardTransaction[] = [];
    for (let card = 1_000_000; card < 1_100_000; card++) crowd.push(txn(card, bigPoint, now - 25 * DAY_MS + ((card * 7919) % (20 * DAY_MS)), `c-${card}`));
    crowd.sort((a, b) => a.eventTimeMs - b.eventTimeMs);
    for (let i = 0; i < crowd.length; i += 2000) await store.recordVisits(crowd.slice(i, i + 2000));
    const victims = crowd.filter((_, i) => i % 500 === 0);
    const victimSet = new Set(victims.map((v) => v.cardToken));
    const crowdHistory = (token: string): Promise<CardHistoryEntry[]> =>
      Promise.resolve(victimSet.has(token) ? [{ fingerprint: '01', atMs: now - 2 * DAY_MS, label: 'fraud', terminalId: 't-far', merchantId: 'm-far' }] : []);
    const crowdDetector = new CompromiseDetector({ store, history: crowdHistory, alerts: { publish: async () => {} }, telemetry: new Telemetry(), now: Date.now, settings: DEFAULT_DETECTOR_SETTINGS });
    for (const v of victims.slice(0, -1)) await crowdDetector.onLabels([{ transactionId: v.transactionId, cardToken: v.cardToken, label: 'fraud', reportedAtMs: now }], [{ transactionId: v.transactionId, outcome: 'applied' }]);
    const last = victims[victims.length - 1];
    t = performance.now();
    const big = await crowdDetector.onLabels([{ transactionId: last.transactionId, cardToken: last.cardToken, label: 'fraud', reportedAtMs: now }], [{ transactionId: last.transactionId, outcome: 'applied' }]);
    console.log(`worst case, a point with 100,000 visitors and 200 victims: the 200th victim's label ${(performance.now() - t).toFixed(0)} ms (${big.evaluated} points evaluated, ${big.findings.length} flagged)`);
  } finally {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    redis.disconnect();
  }
}

(values.cost ? cost() : quality()).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
