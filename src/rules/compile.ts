/**
 * The rule file compiler: YAML text in, an immutable RuleSet out, or one RuleSetError naming the line, the rule id
 * and the field. Everything that can be decided once per file (parsing, validation, feature name → vector index,
 * params, lists, message templates) is decided here, so evaluating a transaction is closures and comparisons.
 *
 * File shape (rules/default.yaml is the worked example):
 *   version: "2026-11-30.1"          # required text; travels in every alert as rulesVersion
 *   description: …                    # optional
 *   lists:                            # optional named lists
 *     <name>: { kind: card|merchant|terminal|country|mcc|device|ip, description?,
 *               values: [..] | file: path (relative to the rule file) | external: true }
 *   rules:
 *     - id: card_count_velocity_10m    # [a-z][a-z0-9_]*, unique; the metric label
 *       description: …
 *       when: <condition>              # grammar in condition.ts
 *       score: 0.45                    # this rule's evidence, 0–1; how scores combine is in src/decision/policy.ts
 *       action: evidence | review | block   # the least action a live hit asks for (evidence: none by itself)
 *       reason: { code: CARD_VELOCITY_10M, message: "{value} transactions in 10 minutes (limit {threshold})",
 *                 value?: <numeric ref>, threshold?: number | $param }
 *       params: { limit: 5 }           # optional constants, used as $limit in the condition and {limit} in the message
 *       enabled: false                 # optional: compiled and listed, never evaluated
 *       mode: shadow                   # optional: evaluated and counted, never part of a decision
 *
 * `reason.value` and `reason.threshold` default to the first threshold comparison (gt, gte, lt, lte, between) of the
 * condition outside any `not`, so `{value}` and `{threshold}` print the number that fired and its limit.
 */
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { Reason } from '../contract/schemas';
import type { CardTransaction } from '../contract/transaction';
import { NonRetriableError } from '../errors';
import { compileCondition, describeValue, isPlainObject, resolveRef, type ConditionScope, type DeclaredList, type NumberReader, type ValueRef } from './condition';
import { RuleSetError } from './errors';
import { TRANSACTION_FIELDS } from './fields';
import { LIST_KINDS, listEntryProblem, parseListText, type ListKind, type ListMembership, type ListRegistry } from './lists';
import { didYouMean } from './suggest';
import { compileTemplate, formatValue, type MessageRenderer, type TemplatePart } from './template';

/** `evidence`: the rule adds its score and reason but asks for no action by itself (weak signals that alert only together). */
export type RuleAction = 'evidence' | 'review' | 'block';
export type RuleMode = 'live' | 'shadow';

export interface RuleHit {
  ruleId: string;
  action: RuleAction;
  score: number;
  /** Shadow hits are for counting and tuning; the decision policy ignores them. */
  shadow: boolean;
  reason: Reason;
}

export interface CompiledRule {
  readonly id: string;
  readonly description: string;
  readonly action: RuleAction;
  readonly score: number;
  readonly mode: RuleMode;
  readonly enabled: boolean;
  readonly reasonCode: string;
  /** The condition in readable form. */
  readonly condition: string;
  /** The message template as written. */
  readonly message: string;
  matches(txn: CardTransaction, features: Float64Array): boolean;
  /** The hit with its rendered reason; call only when `matches` is true. */
  hit(txn: CardTransaction, features: Float64Array): RuleHit;
}

export interface RuleSetDescription {
  version: string;
  source: string;
  description?: string;
  counts: { live: number; shadow: number; disabled: number };
  rules: Array<{
    id: string;
    description: string;
    enabled: boolean;
    mode: RuleMode;
    action: RuleAction;
    score: number;
    condition: string;
    reason: { code: string; message: string };
  }>;
  lists: Array<{ name: string; kind: ListKind; source: DeclaredList['source']; size: number }>;
}

export interface RuleSet {
  readonly version: string;
  readonly sourceName: string;
  /** Every rule in file order, disabled ones included. */
  readonly rules: readonly CompiledRule[];
  /** Hits of the enabled rules (live and shadow) in file order. Pure: no I/O, no telemetry. */
  evaluate(txn: CardTransaction, features: Float64Array): RuleHit[];
  /** For GET /v1/rules. */
  describe(): RuleSetDescription;
}

export interface CompileOptions {
  /** Feature name → position in the vector (FEATURE_INDEX of src/state/features.ts). */
  featureIndex: Readonly<Record<string, number>>;
  /** Supplies the members of lists declared `external: true`. */
  lists?: ListRegistry;
  /** Names the file in errors and in describe(). */
  sourceName?: string;
  /** Reads a list file declared `file: <path>`; the rules holder resolves paths against the rule file's directory. */
  readListFile?: (path: string) => string;
}

const RULE_ID = /^[a-z][a-z0-9_]{0,63}$/;
const REASON_CODE = /^[A-Z][A-Z0-9_]{0,63}$/;
const LIST_NAME = /^[a-z][a-z0-9_]{0,63}$/;
const PARAM_NAME = /^[a-z][a-z0-9_]{0,63}$/;
const TOP_LEVEL_KEYS = ['version', 'description', 'lists', 'rules'];
const LIST_KEYS = ['kind', 'description', 'values', 'file', 'external'];
const RULE_KEYS = ['id', 'description', 'when', 'score', 'action', 'reason', 'params', 'enabled', 'mode'];
const REASON_KEYS = ['code', 'message', 'value', 'threshold'];
const RESERVED_PLACEHOLDERS = ['value', 'threshold'];

/** The ids of the rules that decide: enabled and live (not shadow). */
export function liveRuleIds(ruleSet: Pick<RuleSet, 'rules'>): string[] {
  return ruleSet.rules.filter((rule) => rule.enabled && rule.mode === 'live').map((rule) => rule.id);
}

export function compileRuleSet(yamlSource: string, options: CompileOptions): RuleSet {
  const sourceName = options.sourceName ?? 'rules';
  const lineCounter = new LineCounter();
  const doc = parseDocument(yamlSource, { lineCounter, uniqueKeys: true, prettyErrors: true });
  const lineOf = (path: Array<string | number>): number | undefined => nodeLine(doc, lineCounter, path);
  const failAt: (path: Array<string | number>, field: string, problem: string, ruleId?: string) => never = (path, field, problem, ruleId) => {
    throw new RuleSetError(problem, { sourceName, line: lineOf(path), ruleId, field });
  };

  if (doc.errors.length > 0) {
    const error = doc.errors[0];
    throw new RuleSetError(`YAML syntax error: ${error.message.split('\n')[0]}`, { sourceName, line: error.linePos?.[0].line });
  }
  const root: unknown = doc.toJS({ maxAliasCount: 100 });
  if (root === null || root === undefined) failAt([], '', 'the file is empty; it needs a version and a list of rules');
  if (!isPlainObject(root)) failAt([], '', `the file must be a map with version and rules, got ${describeValue(root)}`);
  rejectUnknownKeys(root, TOP_LEVEL_KEYS, (key, problem) => failAt([key], key, problem));

  const version = root.version;
  if (typeof version !== 'string' || version.trim() === '' || version.length > 64) {
    failAt(['version'], 'version', `must be text of 1–64 characters (quote numbers: version: "1.2"), got ${describeValue(version)}`);
  }
  if (root.description !== undefined && typeof root.description !== 'string') failAt(['description'], 'description', 'must be text');
  const lists = compileLists(root.lists, options, (path, field, problem) => failAt(['lists', ...path], `lists.${field}`, problem));
  if (!Array.isArray(root.rules)) failAt(['rules'], 'rules', `must be a list of rules, got ${describeValue(root.rules)}`);

  const expectedFeatureCount = featureCount(options.featureIndex);
  const seen = new Map<string, number>();
  const rules = root.rules.map((raw, i) => {
    const rule = compileRule(raw, i, { featureIndex: options.featureIndex, lists }, (field, problem, ruleId) =>
      failAt(['rules', i, ...field.split('.').slice(0, 1).filter(Boolean)], field, problem, ruleId),
    );
    const first = seen.get(rule.id);
    if (first !== undefined) {
      failAt(['rules', i, 'id'], 'id', `duplicate rule id; rules[${first}] (line ${lineOf(['rules', first]) ?? '?'}) has it too`, rule.id);
    }
    seen.set(rule.id, i);
    return rule;
  });
  const active = rules.filter((r) => r.enabled);
  const description = root.description as string | undefined;

  return Object.freeze({
    version,
    sourceName,
    rules: Object.freeze(rules),
    evaluate(txn: CardTransaction, features: Float64Array): RuleHit[] {
      if (features.length !== expectedFeatureCount) {
        // A vector from another catalog would be read at the wrong positions: fail loudly instead of deciding on it.
        throw new NonRetriableError(`feature vector has ${features.length} values; rule set ${version} was compiled for ${expectedFeatureCount}`);
      }
      const hits: RuleHit[] = [];
      for (let i = 0; i < active.length; i++) {
        const rule = active[i];
        if (rule.matches(txn, features)) hits.push(rule.hit(txn, features));
      }
      return hits;
    },
    describe(): RuleSetDescription {
      return {
        version,
        source: sourceName,
        ...(description === undefined ? {} : { description }),
        counts: {
          live: active.filter((r) => r.mode === 'live').length,
          shadow: active.filter((r) => r.mode === 'shadow').length,
          disabled: rules.length - active.length,
        },
        rules: rules.map((r) => ({
          id: r.id,
          description: r.description,
          enabled: r.enabled,
          mode: r.mode,
          action: r.action,
          score: r.score,
          condition: r.condition,
          reason: { code: r.reasonCode, message: r.message },
        })),
        lists: [...lists.values()].map((l) => ({ name: l.name, kind: l.kind, source: l.source, size: l.members.size })),
      };
    },
  });
}

function featureCount(featureIndex: Readonly<Record<string, number>>): number {
  let max = -1;
  for (const index of Object.values(featureIndex)) if (index > max) max = index;
  return max + 1;
}

function nodeLine(doc: Document, lineCounter: LineCounter, path: Array<string | number>): number | undefined {
  for (let length = path.length; length >= 0; length--) {
    const node = length === 0 ? doc.contents : doc.getIn(path.slice(0, length), true);
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    if (range) return lineCounter.linePos(range[0]).line;
  }
  return undefined;
}

function rejectUnknownKeys(map: Record<string, unknown>, known: readonly string[], fail: (key: string, problem: string) => never): void {
  for (const key of Object.keys(map)) {
    if (!known.includes(key)) fail(key, `unknown key "${key}"${didYouMean(key, known)}; expected ${known.join(', ')}`);
  }
}

type ListFail = (path: Array<string | number>, field: string, problem: string) => never;

function compileLists(raw: unknown, options: CompileOptions, fail: ListFail): Map<string, DeclaredList> {
  const lists = new Map<string, DeclaredList>();
  if (raw === undefined || raw === null) return lists;
  if (!isPlainObject(raw)) fail([], '', `lists must be a map of list name → { kind, values | file | external }, got ${describeValue(raw)}`);
  for (const [name, spec] of Object.entries(raw)) {
    const failHere: (key: string | undefined, problem: string) => never = (key, problem) =>
      fail(key ? [name, key] : [name], key ? `${name}.${key}` : name, problem);
    if (!LIST_NAME.test(name)) failHere(undefined, 'a list name is lowercase letters, digits and _');
    if (!isPlainObject(spec)) failHere(undefined, `a list is a map { kind, values | file | external }, got ${describeValue(spec)}`);
    rejectUnknownKeys(spec, LIST_KEYS, (key, problem) => failHere(key, problem));
    const kind = spec.kind;
    if (typeof kind !== 'string' || !(LIST_KINDS as readonly string[]).includes(kind)) {
      failHere('kind', `must be one of ${LIST_KINDS.join(', ')}, got ${describeValue(kind)}`);
    }
    const listKind = kind as ListKind;
    const sources = (['values', 'file', 'external'] as const).filter((key) => spec[key] !== undefined);
    // `file` with `external: true`: the file's entries (investigations) plus what the registry supplies (detection).
    const fileAndExternal = sources.length === 2 && spec.file !== undefined && spec.external !== undefined;
    if (sources.length !== 1 && !fileAndExternal) {
      failHere(undefined, `give exactly one of values, file or external: true, or file with external: true (found ${sources.length === 0 ? 'none' : sources.join(', ')})`);
    }
    if (spec.description !== undefined && typeof spec.description !== 'string') failHere('description', 'must be text');
    let members: ListMembership;
    let source: DeclaredList['source'];
    if (spec.values !== undefined) {
      if (!Array.isArray(spec.values)) failHere('values', `must be a list, got ${describeValue(spec.values)}`);
      members = new Set(spec.values.map((value, i) => listEntry(listKind, value, (problem) => failHere('values', `[${i}] ${problem}`))));
      source = 'inline';
    } else if (spec.file !== undefined) {
      const file = spec.file;
      if (typeof file !== 'string' || file === '') failHere('file', `must be a path, got ${describeValue(file)}`);
      if (options.readListFile === undefined) failHere('file', 'list files cannot be read here (no readListFile given to the compiler)');
      let text: string;
      try {
        text = options.readListFile(file);
      } catch (error) {
        failHere('file', `cannot read ${file}: ${(error as Error).message}`);
      }
      const entries = parseListText(text).map((entry, i) => listEntry(listKind, entry, (problem) => failHere('file', `${file} entry ${i + 1} ${problem}`)));
      members = new Set(entries);
      source = 'file';
      if (fileAndExternal) {
        if (spec.external !== true) failHere('external', 'must be true (or remove it)');
        // Without a registry (offline tools) the file alone serves; with one, both.
        const supplied = options.lists?.get(name);
        if (supplied !== undefined) {
          members = unionOf(members as Set<string>, supplied);
          source = 'file+external';
        }
      }
    } else {
      if (spec.external !== true) failHere('external', 'must be true (or remove it and give values or file)');
      const supplied = options.lists?.get(name);
      if (supplied === undefined) failHere('external', `unknown list "${name}": nothing supplies an external list of that name`);
      members = supplied;
      source = 'external';
    }
    lists.set(name, { name, kind: listKind, source, members });
  }
  return lists;
}

/** Members of a file list and of a live external one; the external one is read at each test (it changes underneath). */
function unionOf(file: ReadonlySet<string>, external: ListMembership): ListMembership {
  return {
    has: (value) => file.has(value) || external.has(value),
    get size() {
      return file.size + external.size;
    },
  };
}

function listEntry(kind: ListKind, value: unknown, fail: (problem: string) => never): string {
  // YAML reads an unquoted MCC as a number; as in conditions, a whole number is taken as the 4-digit code.
  const text = kind === 'mcc' && typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 9999 ? String(value).padStart(4, '0') : value;
  if (typeof text !== 'string') fail(`must be text, got ${describeValue(value)}`);
  const problem = listEntryProblem(kind, text);
  if (problem !== undefined) fail(problem);
  return text;
}

interface RuleScope {
  featureIndex: Readonly<Record<string, number>>;
  lists: ReadonlyMap<string, DeclaredList>;
}

type RuleFail = (field: string, problem: string, ruleId?: string) => never;

function compileRule(raw: unknown, index: number, scope: RuleScope, failRule: RuleFail): CompiledRule {
  if (!isPlainObject(raw)) failRule(`rules[${index}]`, `a rule is a map with id, description, when, score, action and reason; got ${describeValue(raw)}`);
  const rawId = raw.id;
  if (typeof rawId !== 'string' || !RULE_ID.test(rawId)) {
    failRule(`rules[${index}].id`, `a rule id is lowercase letters, digits and _ (it becomes a metric label), got ${describeValue(rawId)}`);
  }
  const id = rawId;
  const fail: (field: string, problem: string) => never = (field, problem) => failRule(field, problem, id);
  rejectUnknownKeys(raw, RULE_KEYS, fail);

  if (typeof raw.description !== 'string' || raw.description.trim() === '') fail('description', `is required text, got ${describeValue(raw.description)}`);
  const score = raw.score;
  if (typeof score !== 'number' || !(score >= 0 && score <= 1)) fail('score', `must be a number from 0 to 1, got ${describeValue(score)}`);
  const action = raw.action;
  if (action !== 'evidence' && action !== 'review' && action !== 'block') fail('action', `must be evidence, review or block, got ${describeValue(action)}`);
  const enabled = raw.enabled ?? true;
  if (typeof enabled !== 'boolean') fail('enabled', `must be true or false, got ${describeValue(enabled)}`);
  const mode = raw.mode ?? 'live';
  if (mode !== 'live' && mode !== 'shadow') fail('mode', `must be live or shadow, got ${describeValue(mode)}`);

  const params = compileParams(raw.params, fail);
  const conditionScope: ConditionScope = {
    featureIndex: scope.featureIndex,
    params,
    lists: scope.lists,
    fail: (field, problem) => fail(field, problem),
  };
  if (raw.when === undefined) fail('when', 'is required: the condition under which the rule fires');
  const condition = compileCondition(raw.when, conditionScope);

  const reasonSpec = raw.reason;
  if (!isPlainObject(reasonSpec)) fail('reason', `is required: { code, message }, got ${describeValue(reasonSpec)}`);
  rejectUnknownKeys(reasonSpec, REASON_KEYS, (key, problem) => fail(`reason.${key}`, problem));
  const code = reasonSpec.code;
  if (typeof code !== 'string' || !REASON_CODE.test(code)) fail('reason.code', `is UPPER_SNAKE_CASE text, got ${describeValue(code)}`);
  const template = reasonSpec.message;
  if (typeof template !== 'string' || template.trim() === '' || template.length > 300) {
    fail('reason.message', `is required text of up to 300 characters, got ${describeValue(template)}`);
  }
  const { value: valueRef, threshold } = reasonNumbers(reasonSpec, condition.comparisons, conditionScope, fail);
  const render = compileMessage(template, { valueRef, threshold, params, scope: conditionScope }, (problem) => fail('reason.message', problem));

  const test = condition.test;
  const readValue = valueRef?.readNumber;
  const shadow = mode === 'shadow';
  return Object.freeze({
    id,
    description: raw.description,
    action,
    score,
    mode,
    enabled,
    reasonCode: code,
    condition: condition.text,
    message: template,
    matches: test,
    hit(txn: CardTransaction, features: Float64Array): RuleHit {
      const reason: Reason = { code, message: render(txn, features) };
      if (readValue !== undefined) {
        const value = readValue(txn, features);
        if (Number.isFinite(value)) reason.value = value;
      }
      if (threshold !== undefined) {
        const limit = threshold(txn, features);
        if (Number.isFinite(limit)) reason.threshold = limit;
      }
      return { ruleId: id, action, score, shadow, reason };
    },
  });
}

function compileParams(raw: unknown, fail: (field: string, problem: string) => never): Map<string, unknown> {
  const params = new Map<string, unknown>();
  if (raw === undefined) return params;
  if (!isPlainObject(raw)) fail('params', `must be a map of name → value, got ${describeValue(raw)}`);
  for (const [name, value] of Object.entries(raw)) {
    if (!PARAM_NAME.test(name) || RESERVED_PLACEHOLDERS.includes(name)) {
      fail(`params.${name}`, `a parameter name is lowercase letters, digits and _ (not ${RESERVED_PLACEHOLDERS.join(' or ')})`);
    }
    const scalar = (v: unknown) => typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean';
    if (!scalar(value) && !(Array.isArray(value) && value.every(scalar))) fail(`params.${name}`, `must be a number, text, true/false or a list of them, got ${describeValue(value)}`);
    params.set(name, value);
  }
  return params;
}

function reasonNumbers(
  spec: Record<string, unknown>,
  comparisons: ReadonlyArray<{ ref: ValueRef; threshold: NumberReader }>,
  scope: ConditionScope,
  fail: (field: string, problem: string) => never,
): { value?: ValueRef; threshold?: NumberReader } {
  let value: ValueRef | undefined;
  let threshold: NumberReader | undefined;
  if (spec.value !== undefined) {
    if (typeof spec.value !== 'string') fail('reason.value', `names a feature or numeric txn field, got ${describeValue(spec.value)}`);
    value = resolveRef(spec.value, scope, 'reason.value');
    if (value.type !== 'number') fail('reason.value', `${value.name} is a ${value.type}; a reason value is a number`);
    const name = value.name;
    threshold = comparisons.find((c) => c.ref.name === name)?.threshold;
  } else if (comparisons.length > 0) {
    value = comparisons[0].ref;
    threshold = comparisons[0].threshold;
  }
  if (spec.threshold !== undefined) {
    let limit: unknown = spec.threshold;
    if (typeof limit === 'string' && limit.startsWith('$')) {
      if (!scope.params.has(limit.slice(1))) fail('reason.threshold', `unknown parameter ${limit}`);
      limit = scope.params.get(limit.slice(1));
    }
    if (typeof limit !== 'number' || !Number.isFinite(limit)) fail('reason.threshold', `must be a number or $param, got ${describeValue(limit)}`);
    const fixed = limit;
    threshold = () => fixed;
  }
  return { value, threshold };
}

function compileMessage(
  template: string,
  context: { valueRef?: ValueRef; threshold?: NumberReader; params: ReadonlyMap<string, unknown>; scope: ConditionScope },
  fail: (problem: string) => never,
): MessageRenderer {
  const { valueRef, threshold, params, scope } = context;
  const resolve = (name: string): TemplatePart | { problem: string } => {
    if (name === 'value') return valueRef ? valueRef.readNumber : { problem: '{value} needs a threshold comparison in the condition or reason.value' };
    if (name === 'threshold') return threshold ?? { problem: '{threshold} needs a threshold comparison in the condition or reason.threshold' };
    if (params.has(name)) {
      const value = params.get(name);
      return Array.isArray(value) ? value.map((v) => formatValue(v as number | string | boolean)).join(', ') : formatValue(value as number | string | boolean);
    }
    if (name.startsWith('txn.') || Object.prototype.hasOwnProperty.call(scope.featureIndex, name)) {
      return resolveRef(name, { ...scope, fail: (_field, problem) => fail(`placeholder {${name}}: ${problem}`) }, 'reason.message').read;
    }
    const candidates = [...RESERVED_PLACEHOLDERS, ...params.keys(), ...Object.keys(scope.featureIndex), ...Object.keys(TRANSACTION_FIELDS).map((f) => `txn.${f}`)];
    return { problem: `unknown placeholder {${name}}${didYouMean(name, candidates)}` };
  };
  return compileTemplate(template, resolve, fail);
}
