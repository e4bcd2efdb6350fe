/**
 * `npm run demo`: the service on embedded defaults (no Kafka, no Redis, no configuration) scoring simulated bank
 * traffic for about a minute, with a live summary and, at the end, frauds caught and missed against the simulator's
 * ground truth. Traffic goes through the real HTTP API (POST /v1/transactions and /v1/labels) in NDJSON batches.
 *
 * It ends by printing the fraud desk's address and a sign-in (the desk runs in process on PGlite); `--keep` keeps
 * the service serving the desk until Ctrl-C.
 *
 *   npm run demo -- [--seconds 60] [--customers 3000] [--days 45] [--seed 7] [--batch 500] [--keep] [--port 8080]
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startService } from '../service';
import { createSimulation, type SimEvent } from '../sim';
import { createLogger } from '../telemetry/logger';
import { parseToolArgs } from './args';

interface DemoDecision {
  transactionId: string;
  action: 'allow' | 'review' | 'block';
  reasons: Array<{ code: string }>;
}

const { values: args } = parseToolArgs('demo', {
  options: {
    seconds: { type: 'string', default: '60' },
    customers: { type: 'string', default: '3000' },
    days: { type: 'string', default: '45' },
    seed: { type: 'string', default: '7' },
    batch: { type: 'string', default: '500' },
    keep: { type: 'boolean', default: false },
    port: { type: 'string', default: '0' },
  },
});

/** MODEL_DIR when given, else the shipped default model, else rules only (the demo must run on any clone). */
function demoModelDir(): string {
  if (process.env.MODEL_DIR) return process.env.MODEL_DIR;
  return existsSync(join(__dirname, '..', '..', 'models', 'default', 'model.json')) ? join(__dirname, '..', '..', 'models', 'default') : 'none';
}

async function main(): Promise<void> {
  const seconds = Number(args.seconds);
  const batchSize = Number(args.batch);
  const logger = createLogger({ level: 'warn' });
  const service = await startService({
    env: {},
    overrides: { httpPort: Number(args.port), kafkaBrokers: [], redisUrl: undefined, redisClusterNodes: [], modelDir: demoModelDir() },
    logger,
  });
  const base = `http://127.0.0.1:${service.port}`;
  console.log(`card-shield demo: the service runs embedded on ${base} — state lives in memory, alerts stay in process.`);
  const model = (await (await fetch(`${base}/v1/model`)).json()) as { version?: string; backend?: { detail?: string } };
  console.log(model.version ? `Model ${model.version} on ${model.backend?.detail ?? 'tfjs'}; rules from rules/default.yaml.` : 'No model: rules only.');
  console.log(`Streaming simulated traffic (seed ${args.seed}, ${args.customers} customers, ${args.days} days) for up to ${seconds} s…\n`);

  // Breaches a little denser and their cards used a little sooner than the simulator's defaults, so a one-minute run
  // sees some found: a breach's stolen cards are then used after about a week rather than twelve days.
  const simulation = createSimulation({
    seed: Number(args.seed),
    customers: Number(args.customers),
    days: Number(args.days),
    fraudRates: { 'point-of-compromise': 0.4 },
    compromise: { exploitDelayMedianDays: 7 },
  });
  const findings: Array<{ at: number; point: { kind: string; id: string }; shape?: string; reason?: string }> = [];
  let cardsWarned = 0;
  // Point-of-compromise fraud on cards the demo saw warned: was it after the warning, and flagged?
  const exposedCard = new Map<string, number>();
  const poc = { transactions: 0, afterWarning: 0, afterWarningFlagged: 0 };
  const truthOf = new Map<string, { scenario: string; caseId: string }>();
  const tally = {
    scored: 0,
    fraud: 0,
    fraudFlagged: 0,
    genuineFlagged: 0,
    review: 0,
    block: 0,
    labels: 0,
    reasons: new Map<string, number>(),
    byScenario: new Map<string, { transactions: number; flagged: number; cases: Set<string>; casesCaught: Set<string> }>(),
  };
  const started = Date.now();
  const deadline = started + seconds * 1000;
  let simulatedUntil = 0;
  let transactions: string[] = [];
  let labels: string[] = [];

  async function post(path: string, lines: string[]): Promise<unknown> {
    const response = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: lines.join('\n') });
    if (!response.ok) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
    return response.json();
  }

  async function flush(): Promise<void> {
    if (labels.length > 0) {
      const result = (await post('/v1/labels', labels)) as { compromise?: { points: Array<{ point: { kind: string; id: string }; shape?: string; reason?: string }>; cardsWarned: number } };
      tally.labels += labels.length;
      labels = [];
      for (const f of result.compromise?.points ?? []) findings.push({ at: simulatedUntil, point: f.point, shape: f.shape, reason: f.reason });
      cardsWarned += result.compromise?.cardsWarned ?? 0;
    }
    if (transactions.length === 0) return;
    const result = (await post('/v1/transactions', transactions)) as { decisions: Array<DemoDecision & { cardToken: string }> };
    transactions = [];
    for (const d of result.decisions) {
      tally.scored++;
      const truth = truthOf.get(d.transactionId);
      truthOf.delete(d.transactionId);
      const flagged = d.action !== 'allow';
      if (d.reasons.some((r) => r.code === 'EXPOSED_CARD_RISKY_USE') && !exposedCard.has(d.cardToken)) exposedCard.set(d.cardToken, tally.scored);
      if (truth?.scenario === 'point-of-compromise') {
        poc.transactions++;
        if (exposedCard.has(d.cardToken)) {
          poc.afterWarning++;
          if (flagged) poc.afterWarningFlagged++;
        }
      }
      if (d.action === 'review') tally.review++;
      if (d.action === 'block') tally.block++;
      if (flagged) for (const r of d.reasons) tally.reasons.set(r.code, (tally.reasons.get(r.code) ?? 0) + 1);
      if (truth) {
        tally.fraud++;
        const s = tally.byScenario.get(truth.scenario) ?? { transactions: 0, flagged: 0, cases: new Set(), casesCaught: new Set() };
        tally.byScenario.set(truth.scenario, s);
        s.transactions++;
        s.cases.add(truth.caseId);
        if (flagged) {
          tally.fraudFlagged++;
          s.flagged++;
          s.casesCaught.add(truth.caseId);
        }
      } else if (flagged) tally.genuineFlagged++;
    }
  }

  const live = process.stdout.isTTY;
  let lastReport = 0;
  const report = (final = false) => {
    const elapsed = (Date.now() - started) / 1000;
    const line =
      `${elapsed.toFixed(0).padStart(3)} s  scored ${tally.scored.toLocaleString('en')} (${Math.round(tally.scored / Math.max(elapsed, 0.001)).toLocaleString('en')}/s)` +
      `  alerts: review ${tally.review} block ${tally.block}  fraud flagged ${tally.fraudFlagged}/${tally.fraud}` +
      `  simulated up to ${simulatedUntil ? new Date(simulatedUntil).toISOString().slice(0, 10) : '…'}`;
    if (live && !final) process.stdout.write(`\r${line}`);
    else console.log(line);
  };

  for (const event of simulation as Iterable<SimEvent>) {
    if (event.kind === 'transaction') {
      transactions.push(JSON.stringify(event.message));
      if (event.truth) truthOf.set(event.message.transactionId, { scenario: event.truth.scenario, caseId: event.truth.caseId });
      simulatedUntil = event.atMs;
    } else labels.push(JSON.stringify(event.message));
    if (transactions.length >= batchSize) {
      await flush();
      if (Date.now() - lastReport > (live ? 250 : 5000)) {
        report();
        lastReport = Date.now();
      }
      if (Date.now() >= deadline) break;
    }
  }
  await flush();
  if (live) process.stdout.write('\n');
  report(true);

  const alerts = (await (await fetch(`${base}/v1/alerts?limit=1`)).json()) as { alerts: unknown[] };
  console.log('\nFraud caught and missed (ground truth from the simulator):');
  console.log('  scenario               fraud tx   flagged   cases caught');
  for (const [scenario, s] of [...tally.byScenario].sort()) {
    console.log(
      `  ${scenario.padEnd(22)} ${String(s.transactions).padStart(8)}   ${`${pct(s.flagged, s.transactions)}`.padStart(7)}   ${s.casesCaught.size}/${s.cases.size}`,
    );
  }
  console.log(`  all fraud              ${String(tally.fraud).padStart(8)}   ${pct(tally.fraudFlagged, tally.fraud).padStart(7)}   missed ${tally.fraud - tally.fraudFlagged} transactions`);
  const distinctPoints = new Map(findings.map((f) => [`${f.point.kind}:${f.point.id}`, f]));
  const breached = [...distinctPoints.values()].filter((f) => f.shape === 'common-point');
  console.log(
    `\nCompromise detection: ${breached.length} breached points found from the labels (common point of purchase), ${distinctPoints.size - breached.length} where the fraud itself happened; ${cardsWarned} exposed cards warned (card-at-risk alerts).`,
  );
  for (const f of [...breached, ...distinctPoints.values()].filter((f, i, all) => all.indexOf(f) === i).slice(0, 6)) {
    console.log(`  found ${new Date(f.at).toISOString().slice(0, 10)}: ${f.reason ?? `${f.point.kind} ${f.point.id}`}`);
  }
  console.log(
    `  point-of-compromise fraud: ${poc.transactions} transactions; ${poc.afterWarning} came on cards already warned and exposed-use rules ` +
      `saw (${pct(poc.afterWarning, poc.transactions)}), ${poc.afterWarningFlagged} of those flagged.`,
  );
  const flagged = tally.review + tally.block;
  console.log(`\nAlerts: ${flagged} transactions flagged (${tally.review} review, ${tally.block} block); ${pct(flagged - tally.genuineFlagged, flagged)} of them fraud.`);
  console.log('Top reasons:');
  for (const [code, count] of [...tally.reasons].sort((a, b) => b[1] - a[1]).slice(0, 10)) console.log(`  ${code.padEnd(30)} ${count}`);
  console.log(`\nLabels recorded: ${tally.labels}. Latest alert (GET ${base}/v1/alerts):`);
  console.log(JSON.stringify(alerts.alerts[0] ?? null, null, 2));
  await service.desk?.flush();
  const user = service.desk?.generatedUser;
  console.log(`\nFraud desk: ${base}/desk/  (sign in as ${user?.name ?? 'a DESK_USERS user'}${user ? ` / ${user.password}` : ''})`);
  if (!args.keep) {
    console.log('(npm run demo -- --keep keeps it serving)');
    await service.stop();
    return;
  }
  console.log('Serving until Ctrl-C.');
  await new Promise<void>((resolve) => process.once('SIGINT', resolve));
  await service.stop();
}

function pct(part: number, whole: number): string {
  return whole === 0 ? '—' : `${((100 * part) / whole).toFixed(1)}%`;
}

main().catch((error) => {
  console.error(`demo failed: ${(error as Error).message}`);
  process.exit(1);
});
