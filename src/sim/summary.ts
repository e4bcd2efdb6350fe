/** The end-of-run summary: volumes, fraud per scenario, the population and its compromised points. */
import { FRAUD_SCENARIOS } from './options';
import type { Simulation } from './simulator';

const number = new Intl.NumberFormat('en-US');
const percent = (part: number, whole: number) => (whole === 0 ? '0%' : `${((100 * part) / whole).toFixed(part / whole < 0.01 ? 3 : 2)}%`);

export interface SummaryTiming {
  elapsedMs: number;
}

export function formatSummary(simulation: Simulation, timing?: SummaryTiming): string {
  const { stats, population, compromisedPoints, options } = simulation;
  const fraud = FRAUD_SCENARIOS.reduce((sum, s) => sum + stats.fraudTransactions[s], 0);
  const places = population.places;
  const count = (predicate: (p: (typeof places)[number]) => boolean) => places.filter(predicate).length;
  const breaches = compromisedPoints.filter((p) => p.scenario === 'point-of-compromise');
  const rogues = compromisedPoints.filter((p) => p.scenario === 'fraudulent-merchant');
  const byKind = (points: typeof compromisedPoints) =>
    (['pos', 'atm', 'ecom'] as const)
      .map((kind) => [kind, points.filter((p) => p.kind === kind).length] as const)
      .filter(([, n]) => n > 0)
      .map(([kind, n]) => `${n} ${kind}`)
      .join(', ');
  const lines = [
    `seed ${options.seed}, ${options.days} days, ${number.format(options.customers)} customers`,
    `transactions        ${number.format(stats.transactions)} (${percent(stats.declined, stats.transactions)} declined)`,
    `fraud transactions  ${number.format(fraud)} (${percent(fraud, stats.transactions)} of transactions)`,
    ...FRAUD_SCENARIOS.map((s) => `  ${s.padEnd(20)} ${number.format(stats.fraudTransactions[s]).padStart(8)}  ${percent(stats.fraudTransactions[s], stats.transactions).padStart(7)}  ${number.format(stats.incidents[s])} ${s === 'point-of-compromise' ? 'breached points' : s === 'fraudulent-merchant' ? 'fraudulent points' : 'incidents'}`),
    `labels              ${number.format(stats.labels)} (${number.format(stats.falseReports)} genuine transactions wrongly reported)`,
    `cards               ${number.format(population.cardCountTotal)} on ${number.format(population.customerCount)} accounts`,
    `places              ${number.format(count((p) => p.kind === 'pos'))} merchants, ${number.format(count((p) => p.kind === 'atm'))} ATMs, ${number.format(count((p) => p.kind === 'ecom'))} online merchants`,
    `points of compromise ${breaches.length}${breaches.length ? ` (${byKind(breaches)})` : ''}: ${number.format(stats.cardsExposed)} cards exposed, ${number.format(stats.cardsExploited)} used fraudulently within the run`,
    `fraudulent points   ${rogues.length}${rogues.length ? ` (${byKind(rogues)})` : ''}`,
  ];
  if (timing !== undefined) {
    const seconds = timing.elapsedMs / 1000;
    lines.push(`elapsed             ${seconds.toFixed(1)} s (${number.format(Math.round((stats.transactions + stats.labels) / Math.max(seconds, 1e-3)))} messages/s)`);
  }
  return lines.join('\n');
}
