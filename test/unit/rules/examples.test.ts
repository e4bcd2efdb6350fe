import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRulesHolder } from '../../../src/rules';
import { Telemetry } from '../../../src/telemetry/events';
import { createLogger } from '../../../src/telemetry/logger';
import { FEATURE_INDEX } from './fixtures';

const rulesDir = join(__dirname, '..', '..', '..', 'rules');
const lines = (path: string) => readFileSync(path, 'utf8').split('\n');

describe('rules/examples', () => {
  const example = join(rulesDir, 'examples', 'velocity-10m-3.yaml');

  const load = async (file: string) => {
    const holder = await createRulesHolder({ file, featureIndex: FEATURE_INDEX, telemetry: new Telemetry(), logger: createLogger({ level: 'silent' }), watch: false });
    holder.close();
    return holder.current();
  };

  it('velocity-10m-3.yaml compiles with the same lists as default.yaml', async () => {
    const [base, candidate] = await Promise.all([load(join(rulesDir, 'default.yaml')), load(example)]);
    expect(candidate.rules.find((r) => r.id === 'card_count_velocity_10m')?.condition).toContain('card.count_10m > 3');
    expect(candidate.describe().lists).toEqual(base.describe().lists);
  });

  it('is rules/default.yaml with only its version, list paths and the one threshold changed', () => {
    // The README's backtest figures are of this change alone: a default.yaml edit must be carried over.
    const base = lines(join(rulesDir, 'default.yaml'));
    const candidate = lines(example)
      .filter((line, i) => !(i < 3 && line.startsWith('#')))
      .map((line) => line.replace('file: ../lists/', 'file: lists/'));
    expect(candidate).toHaveLength(base.length);
    const differences = base.flatMap((line, i) => (line === candidate[i] ? [] : [[line.trim(), candidate[i].trim()]]));
    expect(differences).toEqual([
      [expect.stringMatching(/^version: "/), expect.stringMatching(/^version: ".*-velocity-10m-3"$/)],
      ['- card.count_10m: { gt: 5 }', '- card.count_10m: { gt: 3 }'],
    ]);
  });
});
