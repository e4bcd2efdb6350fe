/**
 * Conditions: parsed and type-checked once per rule file, compiled into closures over feature indexes, so a
 * transaction pays for comparisons only.
 *
 * Grammar (YAML):
 *   all: [condition, …]     every one holds            any: [condition, …]   at least one holds
 *   not: condition
 *   <ref>: { <operator>: operand, … }   every operator holds (`{ gte: 1, lt: 5 }`)
 *   <ref>: literal                      shorthand for `{ eq: literal }` (`txn.cardPresent: false`)
 * A ref is a feature name (`card.count_10m`) or a transaction field (`txn.amount`). Operands are literals, `$param`
 * (a rule's params), or for numbers `{ of: <numeric ref>, times: k }` (compare with another value, scaled).
 * Operators: eq ne gt gte lt lte between [lo, hi] (inclusive), in [..], not_in [..], in_list <name>,
 * not_in_list <name>, exists (transaction fields only).
 *
 * A comparison on an absent transaction field is false whatever the operator (ne and not_in included): a rule never
 * fires on what the transaction does not say. Only `exists: false` matches an absent field. Features are never
 * absent: state reports 0 (or a documented neutral value) instead.
 */
import type { CardTransaction } from '../contract/transaction';
import { TRANSACTION_FIELDS, type FieldType, type FieldValue, type TransactionField } from './fields';
import { LIST_KIND_FIELD, type ListKind, type ListMembership } from './lists';
import { didYouMean } from './suggest';

export type Predicate = (txn: CardTransaction, features: Float64Array) => boolean;
export type ValueReader = (txn: CardTransaction, features: Float64Array) => FieldValue;
/** NaN when the value is absent, so every comparison with it is false. */
export type NumberReader = (txn: CardTransaction, features: Float64Array) => number;

export interface ValueRef {
  /** As written in the file: `card.count_10m` or `txn.amount`. */
  name: string;
  type: FieldType;
  /** Position in the feature vector, for features. */
  featureIndex?: number;
  field?: TransactionField;
  read: ValueReader;
  readNumber: NumberReader;
}

export interface DeclaredList {
  name: string;
  kind: ListKind;
  source: 'inline' | 'file' | 'external' | 'file+external';
  members: ListMembership;
}

export interface ConditionScope {
  featureIndex: Readonly<Record<string, number>>;
  params: ReadonlyMap<string, unknown>;
  lists: ReadonlyMap<string, DeclaredList>;
  /** Throws a RuleSetError located at `field` (a path such as `when.all[1].card.count_10m.gt`). */
  fail(field: string, problem: string): never;
}

/** A threshold comparison (gt, gte, lt, lte, between) outside any `not`: the default value and threshold of a reason. */
export interface Comparison {
  ref: ValueRef;
  threshold: NumberReader;
}

export interface CompiledCondition {
  test: Predicate;
  /** Readable form for GET /v1/rules: `card.count_10m > 5 and txn.channel in [ecom, moto]`. */
  text: string;
  comparisons: Comparison[];
}

export const OPERATORS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'between', 'in', 'not_in', 'in_list', 'not_in_list', 'exists'] as const;
type Operator = (typeof OPERATORS)[number];

const OPERATORS_BY_TYPE: Readonly<Record<FieldType, readonly Operator[]>> = {
  number: ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'between', 'in', 'not_in', 'exists'],
  string: ['eq', 'ne', 'in', 'not_in', 'in_list', 'not_in_list', 'exists'],
  boolean: ['eq', 'ne', 'exists'],
};

const SYMBOLS: Partial<Record<Operator, string>> = { eq: '=', ne: '≠', gt: '>', gte: '≥', lt: '<', lte: '≤' };
const MAX_DEPTH = 16;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `the text "${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  return `${typeof value} ${String(value)}`;
}

/** Resolves a feature name or `txn.<field>` to a reader; unknown names fail with the closest known one. */
export function resolveRef(name: string, scope: ConditionScope, path: string): ValueRef {
  if (name.startsWith('txn.')) {
    const fieldName = name.slice(4);
    const field = Object.prototype.hasOwnProperty.call(TRANSACTION_FIELDS, fieldName) ? TRANSACTION_FIELDS[fieldName] : undefined;
    if (field === undefined) {
      scope.fail(path, `unknown transaction field "${name}"${didYouMean(fieldName, Object.keys(TRANSACTION_FIELDS)).replace('mean ', 'mean txn.')}`);
    }
    const read = (txn: CardTransaction): FieldValue => field.read(txn);
    const readNumber =
      field.type === 'number'
        ? (txn: CardTransaction): number => {
            const value = field.read(txn);
            return typeof value === 'number' ? value : NaN;
          }
        : (): number => NaN;
    return { name, type: field.type, field, read, readNumber };
  }
  const index = Object.prototype.hasOwnProperty.call(scope.featureIndex, name) ? scope.featureIndex[name] : undefined;
  if (index === undefined) {
    scope.fail(path, `unknown feature "${name}"${didYouMean(name, Object.keys(scope.featureIndex))}; transaction fields are written txn.<field>`);
  }
  const readFeature = (_txn: CardTransaction, features: Float64Array): number => features[index];
  return { name, type: 'number', featureIndex: index, read: readFeature, readNumber: readFeature };
}

export function compileCondition(raw: unknown, scope: ConditionScope, path = 'when', depth = 0): CompiledCondition {
  if (depth > MAX_DEPTH) scope.fail(path, `conditions nest deeper than ${MAX_DEPTH} levels`);
  if (!isPlainObject(raw)) {
    scope.fail(path, `a condition is a map (all, any, not, or a feature or txn field with operators), got ${describeValue(raw)}`);
  }
  const keys = Object.keys(raw);
  if (keys.length !== 1) {
    const found = keys.length === 0 ? 'none' : `${keys.length}: ${keys.join(', ')}`;
    scope.fail(path, `a condition has exactly one key (all, any, not, a feature or a txn field); found ${found}${keys.length > 1 ? ' — wrap them in all: [...]' : ''}`);
  }
  const key = keys[0];
  const value = raw[key];
  if (key === 'all' || key === 'any') return compileGroup(key, value, scope, `${path}.${key}`, depth);
  if (key === 'not') {
    const inner = compileCondition(value, scope, `${path}.not`, depth + 1);
    const test = inner.test;
    return { test: (txn, features) => !test(txn, features), text: `not ${parenthesize(inner.text)}`, comparisons: [] };
  }
  return compileLeaf(key, value, scope, `${path}.${key}`);
}

function compileGroup(kind: 'all' | 'any', raw: unknown, scope: ConditionScope, path: string, depth: number): CompiledCondition {
  if (!Array.isArray(raw) || raw.length === 0) scope.fail(path, `${kind} takes a non-empty list of conditions, got ${describeValue(raw)}`);
  const children = raw.map((child, i) => compileCondition(child, scope, `${path}[${i}]`, depth + 1));
  const text = children.map((c) => parenthesize(c.text)).join(kind === 'all' ? ' and ' : ' or ');
  return { test: combine(kind, children.map((c) => c.test)), text, comparisons: children.flatMap((c) => c.comparisons) };
}

/** Short groups get straight-line closures: the default library is all groups of two to four. */
function combine(kind: 'all' | 'any', tests: Predicate[]): Predicate {
  if (tests.length === 1) return tests[0];
  if (kind === 'all') {
    if (tests.length === 2) {
      const [a, b] = tests;
      return (t, f) => a(t, f) && b(t, f);
    }
    if (tests.length === 3) {
      const [a, b, c] = tests;
      return (t, f) => a(t, f) && b(t, f) && c(t, f);
    }
    return (t, f) => {
      for (let i = 0; i < tests.length; i++) if (!tests[i](t, f)) return false;
      return true;
    };
  }
  if (tests.length === 2) {
    const [a, b] = tests;
    return (t, f) => a(t, f) || b(t, f);
  }
  return (t, f) => {
    for (let i = 0; i < tests.length; i++) if (tests[i](t, f)) return true;
    return false;
  };
}

function parenthesize(text: string): string {
  return / (and|or) /.test(text) ? `(${text})` : text;
}

function compileLeaf(refName: string, spec: unknown, scope: ConditionScope, path: string): CompiledCondition {
  const ref = resolveRef(refName, scope, path);
  const operators: Record<string, unknown> = isPlainObject(spec) ? spec : { eq: spec };
  const names = Object.keys(operators);
  if (names.length === 0) scope.fail(path, `no operator; use one of ${OPERATORS_BY_TYPE[ref.type].join(', ')}`);
  const parts = names.map((op) => compileOperator(ref, op, operators[op], scope, isPlainObject(spec) ? `${path}.${op}` : path));
  const text = parts.map((p) => p.text).join(' and ');
  return { test: combine('all', parts.map((p) => p.test)), text, comparisons: parts.flatMap((p) => (p.comparison ? [p.comparison] : [])) };
}

interface CompiledOperator {
  test: Predicate;
  text: string;
  comparison?: Comparison;
}

function compileOperator(ref: ValueRef, op: string, rawOperand: unknown, scope: ConditionScope, path: string): CompiledOperator {
  if (!(OPERATORS as readonly string[]).includes(op)) {
    scope.fail(path, `unknown operator "${op}"${didYouMean(op, OPERATORS)}; operators are ${OPERATORS.join(', ')}`);
  }
  const operator = op as Operator;
  const allowed = OPERATORS_BY_TYPE[ref.type];
  if (!allowed.includes(operator)) {
    scope.fail(path, `${ref.name} is a ${ref.type}; ${operator} does not apply (use ${allowed.filter((o) => ref.field || o !== 'exists').join(', ')})`);
  }
  const operand = substituteParams(rawOperand, scope, path);
  switch (operator) {
    case 'exists':
      return compileExists(ref, operand, scope, path);
    case 'in_list':
    case 'not_in_list':
      return compileListMembership(ref, operator, operand, scope, path);
    case 'in':
    case 'not_in':
      return compileSetMembership(ref, operator, operand, scope, path);
    case 'between':
      return compileBetween(ref, operand, scope, path);
    default:
      return ref.type === 'number'
        ? compileNumberComparison(ref, operator, operand, scope, path)
        : compileEquality(ref, operator as 'eq' | 'ne', operand, scope, path);
  }
}

/** `$name` operands (and list elements) come from the rule's params, so a threshold is written once. */
function substituteParams(operand: unknown, scope: ConditionScope, path: string): unknown {
  if (Array.isArray(operand)) return operand.map((item) => substituteParams(item, scope, path));
  if (typeof operand !== 'string' || !operand.startsWith('$')) return operand;
  const name = operand.slice(1);
  if (!scope.params.has(name)) scope.fail(path, `unknown parameter ${operand}${didYouMean(name, scope.params.keys())}`);
  return scope.params.get(name);
}

function compileExists(ref: ValueRef, operand: unknown, scope: ConditionScope, path: string): CompiledOperator {
  if (ref.field === undefined) scope.fail(path, `exists applies to transaction fields; features always have a value (compare with 0)`);
  if (typeof operand !== 'boolean') scope.fail(path, `exists takes true or false, got ${describeValue(operand)}`);
  const read = ref.read;
  return operand
    ? { test: (t, f) => read(t, f) !== undefined, text: `${ref.name} exists` }
    : { test: (t, f) => read(t, f) === undefined, text: `${ref.name} is absent` };
}

function compileListMembership(ref: ValueRef, op: 'in_list' | 'not_in_list', operand: unknown, scope: ConditionScope, path: string): CompiledOperator {
  if (typeof operand !== 'string') scope.fail(path, `${op} takes the name of a list, got ${describeValue(operand)}`);
  const list = scope.lists.get(operand);
  if (list === undefined) scope.fail(path, `unknown list "${operand}"${didYouMean(operand, scope.lists.keys())}; declare it under lists:`);
  const expectedField = `txn.${LIST_KIND_FIELD[list.kind]}`;
  if (ref.name !== expectedField) scope.fail(path, `list "${operand}" is a ${list.kind} list; it matches ${expectedField}, not ${ref.name}`);
  const read = ref.read as (t: CardTransaction, f: Float64Array) => string | undefined;
  const members = list.members;
  return op === 'in_list'
    ? { test: (t, f) => { const v = read(t, f); return v !== undefined && members.has(v); }, text: `${ref.name} in list ${operand}` }
    : { test: (t, f) => { const v = read(t, f); return v !== undefined && !members.has(v); }, text: `${ref.name} not in list ${operand}` };
}

function compileSetMembership(ref: ValueRef, op: 'in' | 'not_in', operand: unknown, scope: ConditionScope, path: string): CompiledOperator {
  if (!Array.isArray(operand) || operand.length === 0) scope.fail(path, `${op} takes a non-empty list of values, got ${describeValue(operand)}`);
  const values = operand.map((item, i) => literalFor(ref, item, scope, `${path}[${i}]`));
  const text = `${ref.name} ${op === 'in' ? 'in' : 'not in'} [${values.map(formatLiteral).join(', ')}]`;
  if (ref.type === 'number') {
    const numbers = values as number[];
    const read = ref.readNumber;
    return op === 'in'
      ? { test: (t, f) => numbers.includes(read(t, f)), text }
      : { test: (t, f) => { const v = read(t, f); return v === v && !numbers.includes(v); }, text };
  }
  const set = new Set(values as string[]);
  const read = ref.read as (t: CardTransaction, f: Float64Array) => string | undefined;
  return op === 'in'
    ? { test: (t, f) => { const v = read(t, f); return v !== undefined && set.has(v); }, text }
    : { test: (t, f) => { const v = read(t, f); return v !== undefined && !set.has(v); }, text };
}

function compileBetween(ref: ValueRef, operand: unknown, scope: ConditionScope, path: string): CompiledOperator {
  if (!Array.isArray(operand) || operand.length !== 2) scope.fail(path, `between takes [low, high], got ${describeValue(operand)}`);
  const low = literalFor(ref, operand[0], scope, `${path}[0]`) as number;
  const high = literalFor(ref, operand[1], scope, `${path}[1]`) as number;
  if (low > high) scope.fail(path, `between [${low}, ${high}]: low is above high`);
  const read = ref.readNumber;
  const test: Predicate =
    ref.featureIndex !== undefined
      ? ((i) => (_t: CardTransaction, f: Float64Array) => f[i] >= low && f[i] <= high)(ref.featureIndex)
      : (t, f) => {
          const v = read(t, f);
          return v >= low && v <= high;
        };
  return { test, text: `${ref.name} between ${low} and ${high}`, comparison: { ref, threshold: () => low } };
}

function compileEquality(ref: ValueRef, op: 'eq' | 'ne', operand: unknown, scope: ConditionScope, path: string): CompiledOperator {
  const literal = literalFor(ref, operand, scope, path);
  const read = ref.read;
  const text = `${ref.name} ${SYMBOLS[op]} ${formatLiteral(literal)}`;
  return op === 'eq'
    ? { test: (t, f) => read(t, f) === literal, text }
    : { test: (t, f) => { const v = read(t, f); return v !== undefined && v !== literal; }, text };
}

function compileNumberComparison(ref: ValueRef, op: Exclude<Operator, 'between' | 'in' | 'not_in' | 'in_list' | 'not_in_list' | 'exists'>, operand: unknown, scope: ConditionScope, path: string): CompiledOperator {
  const symbol = SYMBOLS[op] as string;
  const isThreshold = op !== 'eq' && op !== 'ne';
  if (isPlainObject(operand)) {
    const other = scaledOperand(operand, scope, path);
    const read = ref.readNumber;
    const readOther = other.ref.readNumber;
    const times = other.times;
    const threshold: NumberReader = (t, f) => readOther(t, f) * times;
    const test = numberTest(op, read, threshold);
    const text = `${ref.name} ${symbol} ${times === 1 ? '' : `${times} × `}${other.ref.name}`;
    return isThreshold ? { test, text, comparison: { ref, threshold } } : { test, text };
  }
  const value = literalFor(ref, operand, scope, path) as number;
  const test = ref.featureIndex !== undefined ? featureTest(op, ref.featureIndex, value) : numberTest(op, ref.readNumber, () => value);
  const text = `${ref.name} ${symbol} ${value}`;
  return isThreshold ? { test, text, comparison: { ref, threshold: () => value } } : { test, text };
}

function scaledOperand(operand: Record<string, unknown>, scope: ConditionScope, path: string): { ref: ValueRef; times: number } {
  const unknownKey = Object.keys(operand).find((k) => k !== 'of' && k !== 'times');
  if (unknownKey !== undefined) scope.fail(`${path}.${unknownKey}`, `unknown key; a value operand is { of: <feature or txn field>, times: <number> }`);
  if (typeof operand.of !== 'string') scope.fail(`${path}.of`, `names the feature or txn field to compare with, got ${describeValue(operand.of)}`);
  const ref = resolveRef(operand.of, scope, `${path}.of`);
  if (ref.type !== 'number') scope.fail(`${path}.of`, `${ref.name} is a ${ref.type}; only numbers can be compared this way`);
  const times = operand.times === undefined ? 1 : operand.times;
  if (typeof times !== 'number' || !Number.isFinite(times)) scope.fail(`${path}.times`, `expects a number, got ${describeValue(times)}`);
  return { ref, times };
}

/** The hot case: a feature against a constant, one typed-array read and one comparison. */
function featureTest(op: 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte', i: number, v: number): Predicate {
  switch (op) {
    case 'eq':
      return (_t, f) => f[i] === v;
    case 'ne':
      return (_t, f) => f[i] !== v;
    case 'gt':
      return (_t, f) => f[i] > v;
    case 'gte':
      return (_t, f) => f[i] >= v;
    case 'lt':
      return (_t, f) => f[i] < v;
    case 'lte':
      return (_t, f) => f[i] <= v;
  }
}

/** NaN (an absent value) makes every branch false; `ne` is written as < or > so NaN stays false there too. */
function numberTest(op: 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte', read: NumberReader, threshold: NumberReader): Predicate {
  switch (op) {
    case 'eq':
      return (t, f) => read(t, f) === threshold(t, f);
    case 'ne':
      return (t, f) => {
        const v = read(t, f);
        const w = threshold(t, f);
        return v < w || v > w;
      };
    case 'gt':
      return (t, f) => read(t, f) > threshold(t, f);
    case 'gte':
      return (t, f) => read(t, f) >= threshold(t, f);
    case 'lt':
      return (t, f) => read(t, f) < threshold(t, f);
    case 'lte':
      return (t, f) => read(t, f) <= threshold(t, f);
  }
}

/** Checks a literal against the ref's type (and enum or format), so `txn.channel: ecomm` fails at load. */
function literalFor(ref: ValueRef, value: unknown, scope: ConditionScope, path: string): number | string | boolean {
  switch (ref.type) {
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) scope.fail(path, `${ref.name} is a number; got ${describeValue(value)}`);
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') scope.fail(path, `${ref.name} is true or false; got ${describeValue(value)}`);
      return value;
    case 'string': {
      const text = stringLiteral(ref, value);
      if (text === undefined) scope.fail(path, `${ref.name} is text; got ${describeValue(value)}`);
      const field = ref.field;
      if (field?.values !== undefined && !field.values.includes(text)) {
        scope.fail(path, `${ref.name} is one of ${field.values.join(', ')}; got "${text}"${didYouMean(text, field.values)}`);
      }
      if (field?.format !== undefined && !field.format.pattern.test(text)) scope.fail(path, `${ref.name} must be ${field.format.expected}; got "${text}"`);
      return text;
    }
  }
}

/** YAML reads an unquoted MCC (6011) as a number; an MCC is a code, so whole numbers are taken as the 4-digit text. */
function stringLiteral(ref: ValueRef, value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (ref.name === 'txn.mcc' && typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 9999) {
    return String(value).padStart(4, '0');
  }
  return undefined;
}

function formatLiteral(value: number | string | boolean): string {
  return typeof value === 'string' && !/^[A-Za-z0-9_.:-]+$/.test(value) ? JSON.stringify(value) : String(value);
}
