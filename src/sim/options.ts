/**
 * What a simulation run is made of. Every knob has a default; `resolveSimOptions` fills them in and refuses
 * impossible values with a message that names the option.
 */
import { NonRetriableError } from '../errors';

export const FRAUD_SCENARIOS = ['point-of-compromise', 'card-testing', 'account-takeover', 'cloned-card', 'fraudulent-merchant'] as const;
export type FraudScenario = (typeof FRAUD_SCENARIOS)[number];

export interface CompromiseOptions {
  /** Share of the cards passing through a breached point during its breach window whose data is stolen. */
  captureShare: number;
  /** Share of the stolen cards that are later used fraudulently. */
  exploitShare: number;
  /** Median days from a card's theft to its first fraudulent use ("days to weeks later"). */
  exploitDelayMedianDays: number;
  exploitDelaySigma: number;
  /** Shortest and longest breach window, days. */
  breachMinDays: number;
  breachMaxDays: number;
  /**
   * A breach steals at most a number of cards drawn from [breachMinCards, breachMaxCards] and ends when it has them
   * (FICO counted ~185–200 cards per skimming event in 2022–23), or when its window ends.
   */
  breachMinCards: number;
  breachMaxCards: number;
}

export interface LabelOptions {
  /** Share of fraud cases nobody ever reports: no label is emitted for any of their transactions. */
  unreportedShare: number;
  /** Share of reported cases that arrive as chargebacks (slower) rather than customer reports. */
  chargebackShare: number;
  customerDelayMedianDays: number;
  chargebackDelayMedianDays: number;
  /** Sigma of the logarithm of the reporting delay (both sources). */
  delaySigma: number;
  /** Share of approved genuine transactions a customer wrongly reports as fraud. */
  falseReportRate: number;
}

export interface SimOptions {
  seed: number;
  days: number;
  customers: number;
  /** Local midnight (+05:00) that starts the first simulated day, epoch ms. */
  startMs: number;
  /** Stop once this many transactions were emitted (pending labels are still flushed). */
  maxTransactions: number;
  /** Prefix of every transactionId, so runs with different seeds never share ids in one deduplicating store. */
  idPrefix: string;
  /** Incidents started per day per 10,000 cards; 0 switches a scenario off. */
  fraudRates: Record<FraudScenario, number>;
  compromise: CompromiseOptions;
  labels: LabelOptions;
}

export type SimOptionsInput = Partial<Omit<SimOptions, 'fraudRates' | 'compromise' | 'labels'>> & {
  fraudRates?: Partial<Record<FraudScenario, number>>;
  compromise?: Partial<CompromiseOptions>;
  labels?: Partial<LabelOptions>;
};

/** Monday 5 January 2026, 00:00 in Kazakhstan: a fixed default keeps runs byte-identical. */
export const DEFAULT_START_MS = Date.parse('2026-01-05T00:00:00+05:00');

export const DEFAULT_FRAUD_RATES: Readonly<Record<FraudScenario, number>> = {
  'point-of-compromise': 0.05,
  'card-testing': 0.6,
  'account-takeover': 0.5,
  'cloned-card': 1.2,
  'fraudulent-merchant': 0.02,
};

export const DEFAULT_COMPROMISE: Readonly<CompromiseOptions> = {
  captureShare: 1,
  exploitShare: 0.35,
  exploitDelayMedianDays: 12,
  exploitDelaySigma: 0.6,
  breachMinDays: 3,
  breachMaxDays: 21,
  breachMinCards: 100,
  breachMaxCards: 300,
};

export const DEFAULT_LABELS: Readonly<LabelOptions> = {
  unreportedShare: 0.2,
  chargebackShare: 0.55,
  customerDelayMedianDays: 2,
  chargebackDelayMedianDays: 20,
  delaySigma: 0.6,
  falseReportRate: 0.0002,
};

export function resolveSimOptions(input: SimOptionsInput = {}): SimOptions {
  const seed = input.seed ?? 1;
  const options: SimOptions = {
    seed,
    days: input.days ?? 60,
    customers: input.customers ?? 20000,
    startMs: input.startMs ?? DEFAULT_START_MS,
    maxTransactions: input.maxTransactions ?? Number.POSITIVE_INFINITY,
    idPrefix: input.idPrefix ?? `s${seed}-`,
    fraudRates: withDefaults(DEFAULT_FRAUD_RATES, input.fraudRates),
    compromise: withDefaults(DEFAULT_COMPROMISE, input.compromise),
    labels: withDefaults(DEFAULT_LABELS, input.labels),
  };
  check(Number.isSafeInteger(options.seed), 'seed', 'must be an integer');
  check(Number.isInteger(options.days) && options.days >= 1 && options.days <= 3660, 'days', 'must be a whole number from 1 to 3660');
  check(Number.isInteger(options.customers) && options.customers >= 1 && options.customers <= 5_000_000, 'customers', 'must be a whole number from 1 to 5,000,000');
  check(Number.isFinite(options.startMs), 'start', 'must be a valid date');
  check(options.maxTransactions > 0, 'maxTransactions', 'must be positive');
  check(/^[A-Za-z0-9._:-]{0,24}$/.test(options.idPrefix), 'idPrefix', 'must be up to 24 letters, digits, dot, colon, dash or underscore');
  for (const [scenario, rate] of Object.entries(options.fraudRates)) {
    check((FRAUD_SCENARIOS as readonly string[]).includes(scenario), scenario, `is not a scenario (known: ${FRAUD_SCENARIOS.join(', ')})`);
    check(Number.isFinite(rate) && rate >= 0 && rate <= 1000, `${scenario} rate`, 'must be a number from 0 to 1000 (incidents per day per 10,000 cards)');
  }
  const { compromise: c, labels: l } = options;
  for (const [name, share] of [['captureShare', c.captureShare], ['exploitShare', c.exploitShare], ['unreportedShare', l.unreportedShare], ['chargebackShare', l.chargebackShare], ['falseReportRate', l.falseReportRate]] as const) {
    check(share >= 0 && share <= 1, name, 'must be a share from 0 to 1');
  }
  for (const [name, days] of [['exploitDelayMedianDays', c.exploitDelayMedianDays], ['customerDelayMedianDays', l.customerDelayMedianDays], ['chargebackDelayMedianDays', l.chargebackDelayMedianDays]] as const) {
    check(days > 0 && days <= 365, name, 'must be from 0 to 365 days');
  }
  check(c.exploitDelaySigma >= 0 && c.exploitDelaySigma <= 3 && l.delaySigma >= 0 && l.delaySigma <= 3, 'delay sigma', 'must be from 0 to 3');
  check(c.breachMinDays >= 1 && c.breachMaxDays >= c.breachMinDays, 'breach window', 'needs 1 <= breachMinDays <= breachMaxDays');
  check(Number.isInteger(c.breachMinCards) && c.breachMinCards >= 1 && c.breachMaxCards >= c.breachMinCards, 'breach cards', 'needs whole numbers 1 <= breachMinCards <= breachMaxCards');
  return options;
}

/** Defaults overridden by the values given; an explicit `undefined` (an absent CLI flag) keeps the default. */
function withDefaults<T extends object>(defaults: Readonly<T>, given: Partial<T> | undefined): T {
  const merged = { ...defaults };
  for (const [key, value] of Object.entries(given ?? {})) if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  return merged;
}

function check(ok: boolean, option: string, problem: string): void {
  if (!ok) throw new NonRetriableError(`simulation option ${option}: ${problem}`);
}
