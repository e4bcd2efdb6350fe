/**
 * `npm run compromise -- --input traffic.ndjson --labels labels.ndjson [--truth truth.ndjson] --out findings.ndjson`
 *
 * Compromise detection over a file, with the service's own detector: every compromised-point and card-at-risk alert
 * the service would have published, each with the event time at which it was raised (`timestamp`). With --truth
 * (the simulator's truth.ndjson) it prints how good that was (M1–M3, src/compromise/truth.ts).
 */
import { createWriteStream } from 'node:fs';
import { DEFAULT_DETECTOR_SETTINGS, type DetectorSettings } from '../compromise/detector';
import { replayCompromise, type ReplayReport } from '../compromise/replay';
import { readTruth, scoreCompromise, TruthTracker, type CompromiseMetrics } from '../compromise/truth';
import { DAY_MS } from '../compromise/store';
import { INPUT_HELP, INPUT_OPTIONS, openInputs } from '../offline/inputs';
import { DatasetInputError } from '../offline/sources';
import { parseToolArgs } from './args';

const HELP = `Usage: npm run compromise -- --input <file> [--labels <file>] [--truth truth.ndjson] [--out findings.ndjson]

Replays transactions and labels in event-time order through the compromise detector and writes every
compromised-point and card-at-risk alert it raises (NDJSON, v1 alert contract; timestamp = when it was raised).

${INPUT_HELP}

Output:
  --out <file>              the alerts, one per line (default: none; the summary is printed either way)
  --truth <file>            the simulator's truth.ndjson: prints detection latency, points found, cards warned

Detector (defaults are the service's; COMPROMISE_* variables set the same in the service):
  --lookback-days <n>       a victim's visits count this long before its first fraud (default ${DEFAULT_DETECTOR_SETTINGS.lookbackMs / DAY_MS})
  --retention-days <n>      visits and victims are kept this long (default ${DEFAULT_DETECTOR_SETTINGS.retentionMs / DAY_MS})
  --max-window-days <n>     longest breach window tried (default ${DEFAULT_DETECTOR_SETTINGS.maxWindowMs / DAY_MS})
  --min-victims <n>         victims a finding needs inside its window (default ${DEFAULT_DETECTOR_SETTINGS.minVictims})
  --alarm-p <p>             flag a point at or below this corrected p-value (default ${DEFAULT_DETECTOR_SETTINGS.alarmPValue})
  --reissue-p <p>           recommend reissue at or below this p-value, monitor above (default ${DEFAULT_DETECTOR_SETTINGS.reissuePValue})
`;

function numberOption(name: string, raw: string | undefined, fallback: number, scale = 1): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value <= 0) throw new DatasetInputError(`--${name} must be a positive number, not "${raw}"`);
  return value * scale;
}

export function settingsFromArgs(values: Record<string, string | boolean | undefined>): DetectorSettings {
  const d = DEFAULT_DETECTOR_SETTINGS;
  const get = (name: string) => values[name] as string | undefined;
  return {
    ...d,
    lookbackMs: numberOption('lookback-days', get('lookback-days'), d.lookbackMs, DAY_MS),
    retentionMs: numberOption('retention-days', get('retention-days'), d.retentionMs, DAY_MS),
    maxWindowMs: numberOption('max-window-days', get('max-window-days'), d.maxWindowMs, DAY_MS),
    minVictims: numberOption('min-victims', get('min-victims'), d.minVictims),
    alarmPValue: numberOption('alarm-p', get('alarm-p'), d.alarmPValue),
    reissuePValue: numberOption('reissue-p', get('reissue-p'), d.reissuePValue),
  };
}

export const DETECTOR_OPTIONS = {
  'lookback-days': { type: 'string' },
  'retention-days': { type: 'string' },
  'max-window-days': { type: 'string' },
  'min-victims': { type: 'string' },
  'alarm-p': { type: 'string' },
  'reissue-p': { type: 'string' },
} as const;

const pct = (x: number) => (Number.isNaN(x) ? 'n/a' : `${(x * 100).toFixed(1)} %`);
const days = (x: number) => (Number.isNaN(x) ? 'n/a' : x.toFixed(2));

export function formatMetrics(m: CompromiseMetrics): string {
  return [
    `M1 latency      from breach start: median ${days(m.latencyFromStartDays.median)} d, P90 ${days(m.latencyFromStartDays.p90)} d (${m.breaches} breaches observed to their end + 30 d, undetected ones censored there; ${m.unobservedBreaches} ended too late to measure)`,
    `                from 3rd victim's label: median ${days(m.latencyFromThirdLabelDays.median)} d, P90 ${days(m.latencyFromThirdLabelDays.p90)} d (${m.latencyFromThirdLabelDays.count} breaches; ${m.withoutThirdLabel} never had 3 labelled victims)`,
    `M2 points       found ${m.found}/${m.breaches} (${pct(m.foundShare)}); alerted points ${m.alertedPoints}, precision ${pct(m.precision)}; false alerts ${m.falseAlertsPerWeekPer10k.toFixed(2)} per week per 10,000 points (${m.pointsSeen} points, ${m.weeks.toFixed(1)} weeks); fraudulent points found ${m.fraudulentFound}/${m.fraudulentPoints}`,
    `M3 cards        warned before first fraudulent use ${m.warnedBeforeFraud}/${m.exposedSavable} (${pct(m.warnedBeforeFraudShare)}) of exposed cards not yet defrauded when found (${m.exposedCards} exposed)`,
    `                warned cards truly exposed ${m.warningsTrulyExposed}/${m.warnings} (${pct(m.warningPrecision)}); fraud amount after the warning ${pct(m.fraudAmountAfterWarningShare)}`,
  ].join('\n');
}

export function formatReport(report: ReplayReport): string {
  const points = report.alerts.filter((a) => a.type === 'compromised-point');
  const cards = report.alerts.filter((a) => a.type === 'card-at-risk');
  return (
    `replayed ${report.transactions.toLocaleString('en-US')} transactions and ${report.labels.toLocaleString('en-US')} labels in ${report.seconds.toFixed(1)} s ` +
    `(${Math.round(report.transactions / report.seconds).toLocaleString('en-US')} tx/s; ${report.evaluated.toLocaleString('en-US')} point evaluations in ${report.evaluationSeconds.toFixed(1)} s); ` +
    `${report.ignoredLabels} labels named no known transaction\n` +
    `compromised-point alerts ${points.length} (${new Set(points.map((a) => a.findingId)).size} findings), card-at-risk alerts ${cards.length}`
  );
}

async function main(): Promise<void> {
  const { values } = parseToolArgs('compromise', {
    options: { ...INPUT_OPTIONS, ...DETECTOR_OPTIONS, out: { type: 'string' }, truth: { type: 'string' }, help: { type: 'boolean' } },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const settings = settingsFromArgs(values);
  const inputs = await openInputs(values);
  const truth = values.truth !== undefined ? await readTruth(values.truth) : undefined;
  const tracker = truth !== undefined ? new TruthTracker(truth) : undefined;
  const report = await replayCompromise({ records: inputs.records(), labels: inputs.labels, settings, onTransaction: tracker ? (t) => tracker.onTransaction(t) : undefined });
  if (values.out !== undefined) {
    const out = createWriteStream(values.out);
    for (const alert of report.alerts) out.write(`${JSON.stringify(alert)}\n`);
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  }
  console.log(formatReport(report));
  if (inputs.transactionReport.skipped > 0) console.log(`skipped ${inputs.transactionReport.skipped} invalid transaction lines: ${inputs.transactionReport.problems.join('; ')}`);
  if (truth !== undefined && tracker !== undefined) console.log(formatMetrics(scoreCompromise(truth, tracker, inputs.labels, report.alerts)));
  if (values.out !== undefined) console.log(`written: ${values.out}`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`compromise: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(error instanceof DatasetInputError ? 2 : 1);
  });
}
