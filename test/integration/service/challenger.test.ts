/**
 * A challenger model in the running service on the real broker and Redis: scored beside the champion on every
 * decision, never deciding (alerts and decisions equal a run without it), visible in the metrics, and swapped with
 * the champion by flipping the two directories' symlinks, without a restart; one that does not load leaves the
 * champion scoring and the instance ready.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import type { AlertMessage, DecisionMessage, TransactionMessage } from '../../../src/contract/schemas';
import type { ChallengerComparison } from '../../../src/offline/challenger-report';
import { startService, type RunningService } from '../../../src/service';
import { Telemetry, type TelemetryEvents } from '../../../src/telemetry/events';
import { createLogger } from '../../../src/telemetry/logger';
import { deleteKeysWithPrefix, stackAddresses } from '../../support/env';
import { collect, produceAll, testKafka, type Collector } from '../../support/kafka';
import { modelCopy } from '../../support/models';
import { prepareNames, readinessUntil, serviceOverrides, type TestNames } from '../../support/service';
import { asKafkaMessage, cardStream } from '../../support/traffic';

const T0 = Date.parse('2026-11-30T06:00:00Z');
const parse = <T>(m: { value: Buffer | null }) => JSON.parse(String(m.value)) as T;
const ADMIN_TOKEN = 'challenger-test-admin-token';
const repo = join(__dirname, '..', '..', '..');
const run = promisify(execFile);

/** Card 1 bursts online abroad (alerts); cards 2-9 shop calmly. Each card has a merchant and terminal of its own, so
 * the features (and so the decisions) do not depend on how two runs interleave the partitions. */
function wave(prefix: string, startMs: number): TransactionMessage[] {
  const burst = cardStream(1, 8, startMs, 60_000, `${prefix}-burst`, { amount: 90_000, channel: 'ecom', cardPresent: false, entryMode: 'ecom', country: 'US' });
  const calm = [2, 3, 4, 5, 6, 7, 8, 9].flatMap((card) => cardStream(card, 3, startMs, 3600_000, `${prefix}-calm`));
  return [...burst, ...calm];
}

/** Points `link` at `target` atomically (a new link renamed over the old one), as an operator's deploy would. */
function pointLink(link: string, target: string): void {
  const next = `${link}.next`;
  symlinkSync(target, next);
  renameSync(next, link);
}

describe('a challenger model in the service', () => {
  const { kafkaBrokers, redisUrl } = stackAddresses();
  const kafka = testKafka(kafkaBrokers);
  const redis = new Redis(redisUrl);
  const logger = createLogger({ level: 'warn' });
  let root: string;
  let baselineNames: TestNames;
  let names: TestNames;
  let baseline: RunningService;
  let service: RunningService;
  const telemetry = new Telemetry();
  let collectors: Collector[];
  let baselineAlerts: Collector;
  let baselineScores: Collector;
  let alerts: Collector;
  let scores: Collector;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'card-shield-challenger-'));
    const v1 = modelCopy(join(root, 'v1'), 'champion-v1');
    const v2 = modelCopy(join(root, 'v2'), 'challenger-v2', 1.6);
    pointLink(join(root, 'champion'), v1);
    pointLink(join(root, 'challenger'), v2);
    baselineNames = await prepareNames('challenger-baseline');
    names = await prepareNames('challenger');
    collectors = [baselineAlerts, baselineScores, alerts, scores] = await Promise.all(
      [baselineNames.alertsTopic, baselineNames.scoresTopic, names.alertsTopic, names.scoresTopic].map((topic) => collect(kafka, topic)),
    );
    [baseline, service] = await Promise.all([
      startService({ env: {}, overrides: serviceOverrides(baselineNames, { modelDir: v1 }), logger }),
      startService({ env: {}, overrides: serviceOverrides(names, { modelDir: join(root, 'champion'), challengerModelDir: join(root, 'challenger'), adminToken: ADMIN_TOKEN }), logger, telemetry }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([baseline?.stop(), service?.stop()]);
    await Promise.all((collectors ?? []).map((c) => c.stop()));
    for (const n of [baselineNames, names]) {
      if (n) await deleteKeysWithPrefix(redis, n.redisKeyPrefix);
    }
    redis.disconnect();
    rmSync(root, { recursive: true, force: true });
  });

  const metricsText = async () => (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();
  const modelView = async () => (await fetch(`http://127.0.0.1:${service.port}/v1/model`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json() as Promise<{ version: string; challenger: { version: string } }>;
  /** The sum of a metric's series whose labels include every `label="value"` given. */
  const counter = (text: string, name: string, ...labels: string[]) =>
    [...text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? (\\d+(?:\\.\\d+)?)$`, 'gm'))]
      .filter((m) => labels.every((label) => (m[1] ?? '').includes(label)))
      .reduce((sum, m) => sum + Number(m[2]), 0);

  it('scores every decision with the challenger and decides exactly as without it', async () => {
    const first = wave('w1', T0);
    await Promise.all([produceAll(kafka, baselineNames.transactionsTopic, first.map(asKafkaMessage)), produceAll(kafka, names.transactionsTopic, first.map(asKafkaMessage))]);
    await Promise.all([baselineScores, scores].map((c) => c.waitFor((ms) => ms.length >= first.length, 'every decision')));

    const records = scores.messages.map((m) => parse<DecisionMessage>(m));
    expect(records).toHaveLength(first.length);
    for (const r of records) {
      expect(r.modelVersion).toBe('champion-v1');
      expect(r.challengerVersion).toBe('challenger-v2');
      expect(r.challengerScore).toBeGreaterThanOrEqual(0);
      expect(r.challengerScore).toBeLessThanOrEqual(1);
    }
    // Another network: its scores differ from the champion's on the same features.
    expect(records.every((r) => Math.abs(r.challengerScore! - r.modelScore!) > 0.01 * r.modelScore!)).toBe(true);

    // Never decides: the decisions and the alerts are those of the run without a challenger.
    const decision = (r: DecisionMessage) => ({ id: r.transactionId, score: r.score, action: r.action, reasons: r.reasons, modelScore: r.modelScore, alertId: r.alertId });
    const byId = (rs: DecisionMessage[]) => rs.map(decision).sort((a, b) => a.id.localeCompare(b.id));
    expect(byId(records)).toEqual(byId(baselineScores.messages.map((m) => parse<DecisionMessage>(m))));
    expect(records.some((r) => r.alertId !== undefined)).toBe(true);
    await Promise.all([baselineAlerts, alerts].map((c) => c.waitFor((ms) => ms.length >= records.filter((r) => r.alertId).length, 'the alerts')));
    const alertContent = (c: Collector) =>
      c.messages
        .map((m) => {
          const { createdAt: _createdAt, ...rest } = parse<AlertMessage>(m);
          return rest;
        })
        .sort((a, b) => a.alertId.localeCompare(b.alertId));
    expect(alertContent(alerts)).toEqual(alertContent(baselineAlerts));

    const text = await metricsText();
    expect(counter(text, 'cardshield_challenger_score_count')).toBe(first.length);
    expect(counter(text, 'cardshield_challenger_decisions_total')).toBe(first.length);
    const championBlocks = records.filter((r) => r.action === 'block').length;
    expect(counter(text, 'cardshield_challenger_decisions_total', 'champion="block"')).toBe(championBlocks);
    expect(text).toMatch(/^cardshield_challenger_info\{version="challenger-v2",backend="\w+"\} 1$/m);
    expect(text).toMatch(/^cardshield_model_info\{version="champion-v1",backend="\w+"\} 1$/m);
    expect(await modelView()).toMatchObject({ version: 'champion-v1', challenger: { version: 'challenger-v2' } });

    // The two judged on this traffic from a dump of the topic and the burst's fraud labels.
    const scoresFile = join(root, 'scores.ndjson');
    writeFileSync(scoresFile, scores.messages.map((m) => String(m.value)).join('\n'));
    const labelsFile = join(root, 'labels.ndjson');
    const frauds = first.filter((t) => t.transactionId.includes('burst'));
    writeFileSync(labelsFile, frauds.map((t) => JSON.stringify({ transactionId: t.transactionId, pan: t.pan, label: 'fraud', reportedAt: t.timestamp })).join('\n'));
    const reportFile = join(root, 'report.json');
    await run(join(repo, 'node_modules', '.bin', 'tsx'), [join(repo, 'src', 'cli', 'challenger-report.ts'), '--scores', scoresFile, '--labels', labelsFile, '--json', reportFile], { cwd: repo });
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as ChallengerComparison;
    expect(report).toMatchObject({ rows: first.length, frauds: frauds.length, champion: { versions: { 'champion-v1': first.length } }, challenger: { versions: { 'challenger-v2': first.length } } });
    expect(report.champion.auc).toBeGreaterThan(0.5);
  });

  it('swaps the challenger with the champion when an operator flips the two links, without a restart', async () => {
    const loaded: Array<TelemetryEvents['model.loaded']> = [];
    const bothSwapped = new Promise<void>((resolve) => {
      const off = telemetry.on('model.loaded', (e) => {
        loaded.push(e);
        if (loaded.length === 2) {
          off();
          resolve();
        }
      });
    });
    pointLink(join(root, 'champion'), join(root, 'v2'));
    pointLink(join(root, 'challenger'), join(root, 'v1'));
    await bothSwapped;
    expect(loaded.map((e) => `${e.role}=${e.version}`).sort()).toEqual(['challenger=champion-v1', 'champion=challenger-v2']);

    const before = scores.messages.length;
    const second = wave('w2', T0 + 86_400_000);
    await produceAll(kafka, names.transactionsTopic, second.map(asKafkaMessage));
    await scores.waitFor((ms) => ms.length >= before + second.length, 'the decisions after the swap');
    const after = scores.messages.slice(before).map((m) => parse<DecisionMessage>(m));
    expect(after.every((r) => r.modelVersion === 'challenger-v2' && r.challengerVersion === 'champion-v1')).toBe(true);

    const text = await metricsText();
    expect(text).toMatch(/^cardshield_challenger_info\{version="champion-v1",backend="\w+"\} 1$/m);
    expect(text).toMatch(/^cardshield_model_info\{version="challenger-v2",backend="\w+"\} 1$/m);
    expect(counter(text, 'cardshield_challenger_reloads_total', 'result="accepted"')).toBe(2);
    expect(counter(text, 'cardshield_model_reloads_total', 'result="accepted"')).toBe(2);
    expect(await modelView()).toMatchObject({ version: 'challenger-v2', challenger: { version: 'champion-v1' } });
  });

  it('keeps the champion scoring and the instance ready when the challenger does not load', async () => {
    const brokenNames = await prepareNames('challenger-broken');
    const broken = join(root, 'broken');
    modelCopy(broken, 'broken');
    writeFileSync(join(broken, 'weights.bin'), 'half a model');
    const brokenScores = await collect(kafka, brokenNames.scoresTopic);
    const running = await startService({ env: {}, overrides: serviceOverrides(brokenNames, { modelDir: join(root, 'v1'), challengerModelDir: broken }), logger });
    try {
      const body = await readinessUntil(running.port, (status) => status === 200, 'ready');
      expect(body.checks.model).toBe(true);
      const third = wave('w3', T0);
      await produceAll(kafka, brokenNames.transactionsTopic, third.map(asKafkaMessage));
      await brokenScores.waitFor((ms) => ms.length >= third.length, 'every decision');
      const records = brokenScores.messages.map((m) => parse<DecisionMessage>(m));
      expect(records.every((r) => r.modelVersion === 'champion-v1' && r.challengerScore === undefined && r.challengerVersion === undefined)).toBe(true);
      const text = await (await fetch(`http://127.0.0.1:${running.port}/metrics`)).text();
      expect(counter(text, 'cardshield_challenger_reloads_total', 'result="rejected"')).toBe(1);
      expect(counter(text, 'cardshield_challenger_score_count')).toBe(0);
    } finally {
      await running.stop();
      await brokenScores.stop();
      await deleteKeysWithPrefix(redis, brokenNames.redisKeyPrefix);
    }
  });
});
