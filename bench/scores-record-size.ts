/**
 * Bytes per record on SCORES_TOPIC: a traffic file is scored through the real pipeline (in-memory state, the
 * shipped model as champion and as challenger, the shipped rules) and each decision record is measured as the
 * service serialises it, without and with the challenger's fields and SCORES_INCLUDE_FEATURES. Not a timing.
 *
 *   npm run simulate -- --seed 1 --days 35 --customers 2000 --out /tmp/size/traffic.ndjson
 *   npx tsx bench/scores-record-size.ts /tmp/size/traffic.ndjson [/tmp/size/scores.ndjson]
 *
 * With a second path it also writes the records, features included, one a line: a features-logged scores file as a
 * dump of the topic would be, to try `npm run train -- --scores` on (labels: the simulator's labels.ndjson).
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import type { DecisionRecord } from '../src/alerts/sinks';
import { RecentAlerts } from '../src/alerts/sinks';
import { createMemorySuppressor } from '../src/alerts/suppression';
import { createModelSlot } from '../src/model/scorer';
import { readTransactionsNdjson } from '../src/offline/sources';
import { createRulesHolder } from '../src/rules';
import { scoreChunk } from '../src/scoring/pipeline';
import { FEATURE_INDEX, FEATURE_NAMES } from '../src/state/features';
import { createMemoryStore } from '../src/state/memory-store';
import { Telemetry } from '../src/telemetry/events';

async function main(): Promise<void> {
  const [input, output] = process.argv.slice(2);
  const dump = output === undefined ? undefined : createWriteStream(output);
  if (input === undefined) throw new Error('usage: npx tsx bench/scores-record-size.ts <traffic.ndjson>');
  const root = join(__dirname, '..');
  const rules = await createRulesHolder({ file: join(root, 'rules', 'default.yaml'), featureIndex: FEATURE_INDEX, telemetry: new Telemetry(), logger: pino({ level: 'silent' }), watch: false });
  const model = await createModelSlot(join(root, 'models', 'default'), { catalog: FEATURE_NAMES });
  const sizes = { plain: 0, challenger: 0, features: 0, records: 0, largest: 0 };
  const measure = async (records: readonly DecisionRecord[]) => {
    for (const r of records) {
      const { challengerScore, challengerVersion, features, ...plain } = r;
      const withChallenger = { ...plain, challengerScore, challengerVersion };
      const full = Buffer.byteLength(JSON.stringify({ ...withChallenger, features }));
      sizes.plain += Buffer.byteLength(JSON.stringify(plain));
      sizes.challenger += Buffer.byteLength(JSON.stringify(withChallenger));
      sizes.features += full;
      sizes.largest = Math.max(sizes.largest, full);
      sizes.records++;
      if (dump && !dump.write(`${JSON.stringify(r)}\n`)) await new Promise<void>((resolve) => dump.once('drain', () => resolve()));
    }
  };
  const deps = {
    store: createMemoryStore(),
    rules: () => rules.current(),
    model: () => model.current,
    challenger: () => model.current,
    decisionFeatures: true,
    policy: { reviewThreshold: 0.5, blockThreshold: 0.85 },
    suppressor: createMemorySuppressor(3600_000),
    alerts: new RecentAlerts(10),
    decisions: { publish: measure },
    telemetry: new Telemetry(),
    now: Date.now,
  };
  let chunk = [];
  for await (const { transaction } of readTransactionsNdjson(input)) {
    chunk.push(transaction);
    if (chunk.length === 500) {
      await scoreChunk(deps, chunk);
      chunk = [];
    }
  }
  if (chunk.length > 0) await scoreChunk(deps, chunk);
  rules.close();
  model.dispose();
  if (dump) await new Promise<void>((resolve) => dump.end(() => resolve()));
  const mean = (total: number) => Math.round(total / sizes.records);
  console.log(`${sizes.records} decision records, ${FEATURE_NAMES.length} features`);
  console.log(`  mean bytes per record: ${mean(sizes.plain)} plain, ${mean(sizes.challenger)} with the challenger, ${mean(sizes.features)} with the features too (largest ${sizes.largest})`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
