/**
 * Hot reload on real files in a temporary directory. Every wait is on the holder's own telemetry event, never on
 * time; the debounce is short only to keep the suite quick.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decide } from '../../../src/decision/policy';
import { createRulesHolder, RuleSetError, type RulesHolder } from '../../../src/rules';
import { Telemetry } from '../../../src/telemetry/events';
import { nextEvent } from '../../support/telemetry';
import { createLogger } from '../../../src/telemetry/logger';
import { FEATURE_INDEX, features, txn } from './fixtures';

const policy = { reviewThreshold: 0.5, blockThreshold: 0.85 };
const logger = createLogger({ level: 'silent' });

function ruleFile(version: string, limit: number, feature = 'card.count_10m'): string {
  return `version: "${version}"
rules:
  - id: card_count_velocity_10m
    description: velocity
    when: { ${feature}: { gt: ${limit} } }
    score: 0.6
    action: review
    reason: { code: CARD_VELOCITY_10M, message: "{value} transactions in 10 minutes (limit {threshold})" }
`;
}

describe('rules holder', () => {
  let directory: string;
  let holder: RulesHolder | undefined;
  let telemetry: Telemetry;

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'card-shield-rules-'));
    telemetry = new Telemetry();
  });

  afterEach(() => {
    holder?.close();
    holder = undefined;
    rmSync(directory, { recursive: true, force: true });
  });

  const open = (file: string) => createRulesHolder({ file, featureIndex: FEATURE_INDEX, telemetry, logger, debounceMs: 20 });
  const decisionFor = (h: RulesHolder, count10m: number) => decide({ hits: h.current().evaluate(txn(), features({ 'card.count_10m': count10m })) }, policy);

  it('serves a changed threshold after the file is edited, and keeps it when a broken file follows', async () => {
    const file = join(directory, 'rules.yaml');
    writeFileSync(file, ruleFile('v1', 5));
    holder = await open(file);
    expect(decisionFor(holder, 4).action).toBe('allow');

    const reloaded = nextEvent(telemetry, 'rules.reloaded');
    writeFileSync(file, ruleFile('v2', 3));
    expect(await reloaded).toEqual({ version: 'v2' });
    expect(holder.current().version).toBe('v2');
    const decision = decisionFor(holder, 4);
    expect(decision.action).toBe('review');
    expect(decision.reasons[0].message).toBe('4 transactions in 10 minutes (limit 3)');

    const rejected = nextEvent(telemetry, 'rules.reload_rejected');
    writeFileSync(file, ruleFile('v3', 1, 'card.count_10mm'));
    const { error } = await rejected;
    expect(error).toContain('rule "card_count_velocity_10m", when.card.count_10mm: unknown feature');
    expect(holder.current().version).toBe('v2');
    expect(decisionFor(holder, 4).action).toBe('review');
    expect(decisionFor(holder, 2).action).toBe('allow');
    expect(holder.status().lastRejection?.error).toBe(error);
    expect(holder.describe()).toMatchObject({ version: 'v2', status: { version: 'v2', lastRejection: { error } } });
  });

  it('sees a Kubernetes ConfigMap update (the ..data symlink swapped to a new directory)', async () => {
    // The layout kubelet writes: rules.yaml -> ..data/rules.yaml, ..data -> ..<timestamp>/
    mkdirSync(join(directory, '..v1'));
    writeFileSync(join(directory, '..v1', 'rules.yaml'), ruleFile('cm-1', 5));
    symlinkSync('..v1', join(directory, '..data'));
    symlinkSync(join('..data', 'rules.yaml'), join(directory, 'rules.yaml'));
    holder = await open(join(directory, 'rules.yaml'));
    expect(holder.current().version).toBe('cm-1');

    const reloaded = nextEvent(telemetry, 'rules.reloaded');
    mkdirSync(join(directory, '..v2'));
    writeFileSync(join(directory, '..v2', 'rules.yaml'), ruleFile('cm-2', 3));
    symlinkSync('..v2', join(directory, '..data_tmp'));
    renameSync(join(directory, '..data_tmp'), join(directory, '..data'));
    rmSync(join(directory, '..v1'), { recursive: true });
    expect(await reloaded).toEqual({ version: 'cm-2' });
    expect(decisionFor(holder, 4).action).toBe('review');
  });

  it('reloads when a list file in another directory changes', async () => {
    const file = join(directory, 'rules.yaml');
    mkdirSync(join(directory, 'lists'));
    writeFileSync(join(directory, 'lists', 'terminals.txt'), 't-1\n');
    writeFileSync(
      file,
      `version: "lists-1"
lists:
  compromised_terminals: { kind: terminal, file: lists/terminals.txt }
rules:
  - id: compromised_terminal
    description: listed terminal
    when: { txn.terminalId: { in_list: compromised_terminals } }
    score: 0.6
    action: review
    reason: { code: COMPROMISED_TERMINAL, message: "terminal {txn.terminalId} is listed as compromised" }
`,
    );
    holder = await open(file);
    const atTerminal = (h: RulesHolder, terminalId: string) => h.current().evaluate(txn({ terminalId }), features()).length;
    expect(atTerminal(holder, 't-2')).toBe(0);

    const reloaded = nextEvent(telemetry, 'rules.reloaded');
    writeFileSync(join(directory, 'lists', 'terminals.txt'), 't-1\nt-2\n');
    expect(await reloaded).toEqual({ version: 'lists-1' });
    expect(atTerminal(holder, 't-2')).toBe(1);
  });

  it('announces the first version, and reports an unchanged file as unchanged without another event', async () => {
    const file = join(directory, 'rules.yaml');
    writeFileSync(file, ruleFile('v1', 5));
    const seen: string[] = [];
    const off = telemetry.on('rules.reloaded', ({ version }) => seen.push(version));
    holder = await open(file);
    expect(seen).toEqual(['v1']);
    await expect(holder.reload()).resolves.toEqual({ status: 'unchanged', version: 'v1' });
    off();
    expect(seen).toEqual(['v1']);
  });

  it('runs concurrent reloads one after another, each seeing the file as it then is', async () => {
    const file = join(directory, 'rules.yaml');
    writeFileSync(file, ruleFile('v1', 5));
    holder = await open(file);
    writeFileSync(file, ruleFile('v2', 4));
    const [first, second] = await Promise.all([holder.reload(), holder.reload()]);
    expect(first).toEqual({ status: 'reloaded', version: 'v2', previousVersion: 'v1' });
    expect(second).toEqual({ status: 'unchanged', version: 'v2' });
  });

  it('refuses to start on an unusable first file', async () => {
    const file = join(directory, 'rules.yaml');
    writeFileSync(file, 'version: "v1"\nrules: [ {\n');
    await expect(open(file)).rejects.toBeInstanceOf(RuleSetError);
    await expect(open(join(directory, 'missing.yaml'))).rejects.toThrow(/cannot read the rule file/);
  });
});
