import { compileRuleSet, InMemoryListRegistry, liveRuleIds, RuleSetError, type CompileOptions, type RuleSet } from '../../../src/rules';
import { FEATURE_INDEX, features, txn } from './fixtures';

/** A file with one rule whose condition (and any extra keys) the test gives, as YAML. */
function oneRule(when: string, extra = '', lists = ''): string {
  return `version: "t1"
${lists}
rules:
  - id: r1
    description: test rule
    when: ${when}
    score: 0.5
    action: review
    reason: { code: R1, message: "fired" }
${extra}`;
}

function compile(source: string, options: Partial<CompileOptions> = {}): RuleSet {
  return compileRuleSet(source, { featureIndex: FEATURE_INDEX, sourceName: 'test.yaml', ...options });
}

function fires(when: string, t = txn(), f = features(), lists = ''): boolean {
  return compile(oneRule(when, '', lists)).evaluate(t, f).length === 1;
}

function compileError(source: string, options: Partial<CompileOptions> = {}): RuleSetError {
  try {
    compile(source, options);
  } catch (error) {
    expect(error).toBeInstanceOf(RuleSetError);
    return error as RuleSetError;
  }
  throw new Error('expected the rule file to be rejected');
}

describe('conditions', () => {
  it.each([
    ['gt', '{ card.count_10m: { gt: 5 } }', 6, 5],
    ['gte', '{ card.count_10m: { gte: 5 } }', 5, 4],
    ['lt', '{ card.count_10m: { lt: 5 } }', 4, 5],
    ['lte', '{ card.count_10m: { lte: 5 } }', 5, 6],
    ['eq', '{ card.count_10m: { eq: 5 } }', 5, 6],
    ['ne', '{ card.count_10m: { ne: 5 } }', 6, 5],
    ['between (inclusive)', '{ card.count_10m: { between: [2, 5] } }', 2, 6],
    ['in', '{ card.count_10m: { in: [1, 3] } }', 3, 2],
    ['not_in', '{ card.count_10m: { not_in: [1, 3] } }', 2, 3],
    ['two operators, both required', '{ card.count_10m: { gte: 2, lt: 5 } }', 4, 5],
  ])('%s on a feature', (_name, when, matching, notMatching) => {
    expect(fires(when, txn(), features({ 'card.count_10m': matching }))).toBe(true);
    expect(fires(when, txn(), features({ 'card.count_10m': notMatching }))).toBe(false);
  });

  it('compares a feature with another, scaled', () => {
    const when = '{ terminal.distinct_cards_1h: { gt: { of: terminal.distinct_cards_7d, times: 0.5 } } }';
    expect(fires(when, txn(), features({ 'terminal.distinct_cards_1h': 6, 'terminal.distinct_cards_7d': 10 }))).toBe(true);
    expect(fires(when, txn(), features({ 'terminal.distinct_cards_1h': 5, 'terminal.distinct_cards_7d': 10 }))).toBe(false);
  });

  it('combines with all, any and not', () => {
    const when = `
      all:
        - txn.amount: { gt: 1000 }
        - any: [{ txn.channel: ecom }, { txn.channel: moto }]
        - not: { txn.country: KZ }`;
    expect(fires(when, txn({ amount: 5000, channel: 'moto', country: 'TR' }))).toBe(true);
    expect(fires(when, txn({ amount: 500, channel: 'moto', country: 'TR' }))).toBe(false);
    expect(fires(when, txn({ amount: 5000, channel: 'pos', country: 'TR' }))).toBe(false);
    expect(fires(when, txn({ amount: 5000, channel: 'ecom', country: 'KZ' }))).toBe(false);
  });

  it('reads string, enum and boolean transaction fields', () => {
    expect(fires('{ txn.currency: { in: [USD, EUR] } }', txn({ currency: 'USD' }))).toBe(true);
    expect(fires('{ txn.currency: { in: [USD, EUR] } }', txn({ currency: 'KZT' }))).toBe(false);
    expect(fires('{ txn.entryMode: magstripe }', txn({ entryMode: 'magstripe' }))).toBe(true);
    expect(fires('{ txn.approved: false }', txn({ approved: false }))).toBe(true);
    expect(fires('{ txn.approved: false }', txn({ approved: true }))).toBe(false);
  });

  it('takes an unquoted MCC as its 4-digit code', () => {
    expect(fires('{ txn.mcc: { in: [6011, 4829] } }', txn({ mcc: '6011' }))).toBe(true);
    expect(fires('{ txn.mcc: 742 }', txn({ mcc: '0742' }))).toBe(true);
  });

  it('reads the local hour from the timestamp in its own offset', () => {
    const when = '{ txn.localHour: { between: [0, 5] } }';
    expect(fires(when, txn({ timestamp: '2026-11-30T03:10:00+05:00' }))).toBe(true);
    // 03:10 in Almaty is 22:10 the day before in UTC: the UTC hour must not be used.
    expect(fires(when, txn({ timestamp: '2026-11-29T22:10:00Z' }))).toBe(false);
  });

  it('never fires a comparison on an absent field, whatever the operator; exists tells absent from present', () => {
    const noCountry = txn({ country: undefined });
    expect(fires('{ txn.country: { ne: KZ } }', noCountry)).toBe(false);
    expect(fires('{ txn.country: { not_in: [KZ] } }', noCountry)).toBe(false);
    expect(fires('{ txn.localHour: { ne: 3 } }', txn({ timestamp: 'not a timestamp' }))).toBe(false);
    expect(fires('{ txn.country: { exists: false } }', noCountry)).toBe(true);
    expect(fires('{ txn.country: { exists: true } }', noCountry)).toBe(false);
    expect(fires('{ txn.country: { exists: true } }', txn())).toBe(true);
  });

  it('substitutes params in conditions and messages', () => {
    const source = oneRule('{ card.count_1h: { gt: $limit } }', '    params: { limit: 9 }').replace('message: "fired"', 'message: "{value} in 1h (limit {limit})"');
    const ruleSet = compile(source);
    expect(ruleSet.evaluate(txn(), features({ 'card.count_1h': 9 }))).toEqual([]);
    expect(ruleSet.evaluate(txn(), features({ 'card.count_1h': 10 }))[0].reason).toEqual({ code: 'R1', message: '10 in 1h (limit 9)', value: 10, threshold: 9 });
  });

  it('takes an explicit reason value and threshold', () => {
    const source = oneRule('{ all: [{ txn.amount: { gt: 100 } }, { card.amount_zscore: { gt: 3 } }] }').replace(
      'message: "fired"',
      'message: "z {value} over {threshold}, amount {txn.amount}", value: card.amount_zscore',
    );
    const [hit] = compile(source).evaluate(txn({ amount: 120.5 }), features({ 'card.amount_zscore': 3.456 }));
    expect(hit.reason).toEqual({ code: 'R1', message: 'z 3.46 over 3, amount 120.5', value: 3.456, threshold: 3 });
  });

  it('matches named lists from inline values, files and a registry that changes after compiling', () => {
    const lists = `lists:
  bad_terminals: { kind: terminal, values: [t-1] }
  bad_merchants: { kind: merchant, file: merchants.txt }
  bad_countries: { kind: country, external: true }`;
    const registry = new InMemoryListRegistry({ bad_countries: [] });
    const ruleSet = compile(
      oneRule('{ any: [{ txn.terminalId: { in_list: bad_terminals } }, { txn.merchantId: { in_list: bad_merchants } }, { txn.country: { in_list: bad_countries } }] }', '', lists),
      { lists: registry, readListFile: (path) => (path === 'merchants.txt' ? '# breached\nm-9  # since May\n\n' : '') },
    );
    const hits = (t = txn()) => ruleSet.evaluate(t, features()).length;
    expect(hits()).toBe(0);
    expect(hits(txn({ terminalId: 't-1' }))).toBe(1);
    expect(hits(txn({ merchantId: 'm-9' }))).toBe(1);
    expect(hits(txn({ country: 'RU' }))).toBe(0);
    registry.add('bad_countries', 'RU');
    expect(hits(txn({ country: 'RU' }))).toBe(1);
    expect(ruleSet.describe().lists).toEqual([
      { name: 'bad_terminals', kind: 'terminal', source: 'inline', size: 1 },
      { name: 'bad_merchants', kind: 'merchant', source: 'file', size: 1 },
      { name: 'bad_countries', kind: 'country', source: 'external', size: 1 },
    ]);
  });

  it('evaluates shadow rules (marked) and skips disabled ones', () => {
    const shadow = compile(oneRule('{ txn.amount: { gt: 0 } }', '    mode: shadow'));
    expect(shadow.evaluate(txn(), features())).toMatchObject([{ ruleId: 'r1', shadow: true }]);
    const disabled = compile(oneRule('{ txn.amount: { gt: 0 } }', '    enabled: false'));
    expect(disabled.evaluate(txn(), features())).toEqual([]);
    expect(disabled.describe().counts).toEqual({ live: 0, shadow: 0, disabled: 1 });
  });

  it('names the rules that decide: live and enabled, neither shadow nor disabled', () => {
    expect(liveRuleIds(compile(oneRule('{ txn.amount: { gt: 0 } }')))).toEqual(['r1']);
    expect(liveRuleIds(compile(oneRule('{ txn.amount: { gt: 0 } }', '    mode: shadow')))).toEqual([]);
    expect(liveRuleIds(compile(oneRule('{ txn.amount: { gt: 0 } }', '    enabled: false')))).toEqual([]);
  });

  it('refuses a feature vector of another length instead of reading the wrong positions', () => {
    const ruleSet = compile(oneRule('{ card.count_10m: { gt: 5 } }'));
    expect(() => ruleSet.evaluate(txn(), new Float64Array(3))).toThrow(/feature vector has 3 values/);
  });

  it('describes itself for GET /v1/rules with readable conditions', () => {
    const ruleSet = compile(oneRule('{ all: [{ card.count_10m: { gt: 5 } }, { txn.channel: { in: [ecom, moto] } }, { not: { txn.approved: true } }] }'));
    expect(ruleSet.describe()).toEqual({
      version: 't1',
      source: 'test.yaml',
      counts: { live: 1, shadow: 0, disabled: 0 },
      rules: [
        {
          id: 'r1',
          description: 'test rule',
          enabled: true,
          mode: 'live',
          action: 'review',
          score: 0.5,
          condition: 'card.count_10m > 5 and txn.channel in [ecom, moto] and not txn.approved = true',
          reason: { code: 'R1', message: 'fired' },
        },
      ],
      lists: [],
    });
  });
});

describe('rejected rule files', () => {
  it('a YAML syntax error, with its line', () => {
    const error = compileError('version: "t1"\nrules:\n  - id: r1\n    when: { card.count_10m: { gt: 5 }\n');
    expect(error.message).toMatch(/^test\.yaml:\d+: YAML syntax error/);
    expect(error.line).toBeGreaterThanOrEqual(4);
  });

  it('an unknown feature, naming the rule, the field and the closest name', () => {
    const error = compileError(oneRule('{ card.count_10mm: { gt: 5 } }'));
    expect(error.ruleId).toBe('r1');
    expect(error.field).toBe('when.card.count_10mm');
    expect(error.message).toContain('test.yaml:6: rule "r1", when.card.count_10mm: unknown feature "card.count_10mm" (did you mean card.count_10m?)');
  });

  it('an unknown transaction field', () => {
    expect(compileError(oneRule('{ txn.amout: { gt: 5 } }')).message).toContain('unknown transaction field "txn.amout" (did you mean txn.amount?)');
  });

  it('an unknown operator', () => {
    const error = compileError(oneRule('{ card.count_10m: { greater: 5 } }'));
    expect(error.field).toBe('when.card.count_10m.greater');
    expect(error.message).toContain('unknown operator "greater"');
  });

  it('a duplicate rule id', () => {
    const source = `version: "t1"
rules:
  - { id: same, description: a, when: { txn.amount: { gt: 1 } }, score: 0.1, action: review, reason: { code: A, message: a } }
  - { id: same, description: b, when: { txn.amount: { gt: 2 } }, score: 0.1, action: review, reason: { code: B, message: b } }
`;
    const error = compileError(source);
    expect(error.ruleId).toBe('same');
    expect(error.message).toContain('duplicate rule id; rules[0] (line 3) has it too');
    expect(error.line).toBe(4);
  });

  it.each([
    ['a score as text', oneRule('{ txn.amount: { gt: 1 } }').replace('score: 0.5', 'score: high'), 'score', /must be a number from 0 to 1/],
    ['a score above 1', oneRule('{ txn.amount: { gt: 1 } }').replace('score: 0.5', 'score: 1.5'), 'score', /must be a number from 0 to 1/],
    ['an unknown action', oneRule('{ txn.amount: { gt: 1 } }').replace('action: review', 'action: deny'), 'action', /must be evidence, review or block/],
    ['text compared with a number', oneRule('{ card.count_10m: { gt: "five" } }'), 'when.card.count_10m.gt', /is a number; got the text "five"/],
    ['an order comparison on text', oneRule('{ txn.country: { gt: KZ } }'), 'when.txn.country.gt', /is a string; gt does not apply/],
    ['a misspelt enum value', oneRule('{ txn.channel: ecomm }'), 'when.txn.channel', /one of pos, ecom, atm, moto; got "ecomm" \(did you mean ecom\?\)/],
    ['a lowercase country', oneRule('{ txn.country: kz }'), 'when.txn.country', /ISO 3166-1 alpha-2/],
    ['enabled as text', oneRule('{ txn.amount: { gt: 1 } }', '    enabled: "no"'), 'enabled', /must be true or false/],
    ['an unknown mode', oneRule('{ txn.amount: { gt: 1 } }', '    mode: dry-run'), 'mode', /must be live or shadow/],
    ['between the wrong way round', oneRule('{ txn.amount: { between: [5, 1] } }'), 'when.txn.amount.between', /low is above high/],
    ['exists on a feature', oneRule('{ card.count_10m: { exists: true } }'), 'when.card.count_10m.exists', /features always have a value/],
    ['two keys in one condition', oneRule('{ txn.amount: { gt: 1 }, txn.country: KZ }'), 'when', /found 2: txn.amount, txn.country — wrap them in all/],
    ['an empty any', oneRule('{ any: [] }'), 'when.any', /non-empty list/],
    ['an unknown rule key', oneRule('{ txn.amount: { gt: 1 } }', '    sccore: 1'), 'sccore', /unknown key "sccore" \(did you mean score\?\)/],
    ['an unknown placeholder', oneRule('{ txn.amount: { gt: 1 } }').replace('"fired"', '"{treshold} spent"'), 'reason.message', /unknown placeholder \{treshold\} \(did you mean threshold\?\)/],
    ['a misspelt field placeholder', oneRule('{ txn.amount: { gt: 1 } }').replace('"fired"', '"{txn.amnt} spent"'), 'reason.message', /placeholder \{txn.amnt\}: unknown transaction field "txn.amnt" \(did you mean txn.amount\?\)/],
    ['{value} with no comparison', oneRule('{ txn.country: KZ }').replace('"fired"', '"{value}"'), 'reason.message', /\{value\} needs a threshold comparison/],
    ['an unknown parameter', oneRule('{ txn.amount: { gt: $limit } }'), 'when.txn.amount.gt', /unknown parameter \$limit/],
    ['a rule id with spaces', oneRule('{ txn.amount: { gt: 1 } }').replace('id: r1', 'id: "my rule"'), 'rules[0].id', /lowercase letters, digits and _/],
    ['a lowercase reason code', oneRule('{ txn.amount: { gt: 1 } }').replace('code: R1', 'code: r1'), 'reason.code', /UPPER_SNAKE_CASE/],
  ])('wrong types: %s', (_name, source, field, message) => {
    const error = compileError(source);
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
  });

  it('wrong types: a version that YAML reads as a number', () => {
    expect(compileError(oneRule('{ txn.amount: { gt: 1 } }').replace('version: "t1"', 'version: 1.2')).message).toContain('version: must be text');
  });

  it('an unknown list', () => {
    const error = compileError(oneRule('{ txn.terminalId: { in_list: compromised_terminalz } }', '', 'lists:\n  compromised_terminals: { kind: terminal, values: [] }'));
    expect(error.field).toBe('when.txn.terminalId.in_list');
    expect(error.message).toContain('unknown list "compromised_terminalz" (did you mean compromised_terminals?)');
  });

  it('an external list nothing supplies', () => {
    const error = compileError(oneRule('{ txn.country: { in_list: sanctions } }', '', 'lists:\n  sanctions: { kind: country, external: true }'));
    expect(error.field).toBe('lists.sanctions.external');
    expect(error.message).toContain('unknown list "sanctions"');
  });

  it('a list used on the wrong field', () => {
    const error = compileError(oneRule('{ txn.merchantId: { in_list: bad } }', '', 'lists:\n  bad: { kind: terminal, values: [t-1] }'));
    expect(error.message).toContain('list "bad" is a terminal list; it matches txn.terminalId, not txn.merchantId');
  });

  it('a list file that cannot be read', () => {
    const error = compileError(oneRule('{ txn.merchantId: { in_list: bad } }', '', 'lists:\n  bad: { kind: merchant, file: missing.txt }'), {
      readListFile: () => {
        throw new Error('ENOENT: no such file');
      },
    });
    expect(error.message).toContain('lists.bad.file: cannot read missing.txt: ENOENT');
  });

  it('a PAN in a card list, without echoing it', () => {
    const pan = '4400430000000007';
    const error = compileError(oneRule('{ txn.cardToken: { in_list: stop } }', '', 'lists:\n  stop: { kind: card, file: stop.txt }'), {
      readListFile: () => `${'c'.repeat(64)}\n${pan}\n`,
    });
    expect(error.message).toContain('stop.txt entry 2 is not a card token');
    expect(error.message).not.toContain(pan);
  });

  it('a PAN written straight into a condition is refused and masked in the error', () => {
    const error = compileError(oneRule('{ txn.cardToken: "4400430000000007" }'));
    expect(error.message).toContain('440043******0007');
    expect(error.message).not.toContain('4400430000000007');
  });

  it('an empty file, an unknown top-level key, rules that are not a list', () => {
    expect(compileError('').message).toContain('the file is empty');
    expect(compileError('version: "t1"\nrule: []\n').message).toContain('unknown key "rule" (did you mean rules?)');
    expect(compileError('version: "t1"\nrules: { id: r1 }\n').message).toContain('rules: must be a list of rules');
  });

  it('duplicate keys in a map', () => {
    expect(compileError('version: "t1"\nversion: "t2"\nrules: []\n').message).toMatch(/YAML syntax error: Map keys must be unique/);
  });
});
