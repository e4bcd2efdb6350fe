/**
 * Reason message templates: `"{card.count_10m} transactions in 10 minutes (limit {threshold})"`. Parsed at load into
 * literal parts and readers; a message is built only when its rule hits.
 */
import type { CardTransaction } from '../contract/transaction';
import type { FieldValue } from './fields';

export type TemplatePart = string | ((txn: CardTransaction, features: Float64Array) => FieldValue);
export type MessageRenderer = (txn: CardTransaction, features: Float64Array) => string;

const PLACEHOLDER = /\{([^{}]*)\}/g;

/**
 * `resolve` returns the reader or constant for a placeholder name, or a problem string when the name is unknown;
 * `fail` throws with it.
 */
export function compileTemplate(
  template: string,
  resolve: (name: string) => TemplatePart | { problem: string },
  fail: (problem: string) => never,
): MessageRenderer {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    const name = match[1].trim();
    if (name === '') fail(`empty placeholder {} at character ${match.index}`);
    pushLiteral(parts, template.slice(last, match.index), fail);
    const part = resolve(name);
    if (typeof part === 'object') fail(part.problem);
    parts.push(part);
    last = match.index + match[0].length;
  }
  pushLiteral(parts, template.slice(last), fail);
  if (parts.every((p) => typeof p === 'string')) {
    const text = parts.join('');
    return () => text;
  }
  return (txn, features) => {
    let text = '';
    for (const part of parts) text += typeof part === 'string' ? part : formatValue(part(txn, features));
    return text;
  };
}

function pushLiteral(parts: TemplatePart[], literal: string, fail: (problem: string) => never): void {
  if (literal.includes('{') || literal.includes('}')) fail(`unbalanced brace in "${literal}"; placeholders are written {name}`);
  if (literal !== '') parts.push(literal);
}

/** Whole numbers as they are, others to two decimals at most: messages are read by people, not parsed. */
export function formatValue(value: FieldValue): string {
  if (value === undefined) return 'unknown';
  if (typeof value !== 'number') return String(value);
  if (Number.isNaN(value)) return 'unknown';
  if (Number.isInteger(value) || !Number.isFinite(value)) return String(value);
  const rounded = value.toFixed(2).replace(/\.?0+$/, '');
  return rounded === '0' || rounded === '-0' ? value.toPrecision(2) : rounded;
}
