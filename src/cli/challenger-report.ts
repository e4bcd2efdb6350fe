/**
 * `npm run challenger:report -- --scores scores.ndjson --labels labels.ndjson`
 *
 * The champion and the challenger (CHALLENGER_MODEL_DIR) judged on the same live traffic: a dump of the scores topic
 * joined with the fraud labels (src/offline/challenger-report.ts). Prints AUC and average precision of each model
 * score; --json writes them.
 */
import { writeFileSync } from 'node:fs';
import { NonRetriableError } from '../errors';
import { compareChallengerFile, type ModelFigures } from '../offline/challenger-report';
import { readLabelsNdjson, SourceReport } from '../offline/sources';
import { parseToolArgs } from './args';

const HELP = `Usage: npm run challenger:report -- --scores <file> --labels <file> [--json <file>]
  --scores <file>   a dump of SCORES_TOPIC (one decision record a line) from a service with CHALLENGER_MODEL_DIR
  --labels <file>   fraud labels, v1 NDJSON (every label counts, whenever reported)
  --json <file>     also write the figures as JSON`;

const { values: args } = parseToolArgs('challenger:report', { options: { scores: { type: 'string' }, labels: { type: 'string' }, json: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });

const fixed = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : '–');
const versions = (m: ModelFigures) => Object.entries(m.versions).map(([v, n]) => `${v} (${n})`).join(', ');

async function main(): Promise<void> {
  if (args.help) return console.log(HELP);
  if (args.scores === undefined || args.labels === undefined) throw new NonRetriableError('--scores and --labels are required (see --help)');
  const labelReport = new SourceReport();
  const scoresReport = new SourceReport();
  const labels = await readLabelsNdjson(args.labels, { report: labelReport });
  const result = await compareChallengerFile(args.scores, labels, scoresReport);
  console.log(`${result.rows} transactions scored by both models (${result.frauds} labelled fraud); left out: ${result.withoutBothScores} without a challenger score, ${result.duplicates} redelivered, ${scoresReport.skipped} not decision records`);
  for (const problem of [...scoresReport.problems, ...labelReport.problems].slice(0, 5)) console.log(`  skipped ${problem}`);
  console.log('model      |   AUC  |   AP   | versions');
  console.log(`champion   | ${fixed(result.champion.auc)} | ${fixed(result.champion.averagePrecision)} | ${versions(result.champion)}`);
  console.log(`challenger | ${fixed(result.challenger.auc)} | ${fixed(result.challenger.averagePrecision)} | ${versions(result.challenger)}`);
  if (args.json) writeFileSync(args.json, `${JSON.stringify(result, null, 2)}\n`);
}

main().catch((error: unknown) => {
  console.error(error instanceof NonRetriableError ? `challenger:report: ${error.message}` : error);
  process.exitCode = 1;
});
