import { scrubPans } from '../contract/card';
import { NonRetriableError } from '../errors';

export interface RuleSetErrorLocation {
  sourceName: string;
  line?: number;
  ruleId?: string;
  field?: string;
}

/**
 * A rule file that cannot be used. The message is the one line an analyst reads at 3 a.m., so it names the file,
 * the line, the rule id and the field: `rules/default.yaml:42: rule "card_count_velocity_10m", when.card.count_10mm:
 * unknown feature (did you mean card.count_10m?)`.
 */
export class RuleSetError extends NonRetriableError {
  readonly problem: string;
  readonly ruleId: string | undefined;
  readonly field: string | undefined;
  readonly line: number | undefined;

  constructor(problem: string, where: RuleSetErrorLocation) {
    // Errors echo values from the file; a PAN pasted where a token belongs must not reach a log line through them.
    const scrubbed = scrubPans(problem);
    super(scrubPans(formatLocation(where)) + scrubbed);
    this.name = 'RuleSetError';
    this.problem = scrubbed;
    this.ruleId = where.ruleId;
    this.field = where.field;
    this.line = where.line;
  }
}

function formatLocation(where: RuleSetErrorLocation): string {
  let text = where.line === undefined ? `${where.sourceName}: ` : `${where.sourceName}:${where.line}: `;
  if (where.ruleId !== undefined) text += `rule "${where.ruleId}", `;
  if (where.field !== undefined && where.field !== '') text += `${where.field}: `;
  return text;
}
