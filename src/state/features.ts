/**
 * The feature catalog (rules and the model refer to features by these names) and the pure arithmetic that turns an
 * entity's buckets into features. Both stores call `computeFeatures` on the same bytes, so their vectors agree.
 *
 * Windows are event-time windows ending at the transaction's own time and include the transaction itself. Each is
 * read from a tier of buckets W/10 wide, as the 11 buckets ending at the transaction's bucket, so it covers at least
 * the last W and at most W/10 more. A transaction the store did not count (too old, or its bucket already left the
 * ring) is added to its windows here, so "current transaction included" holds for every transaction.
 */
import type { CardTransaction } from '../contract/transaction';
import { ReturnCode } from './codes';
import { LINKED_KINDS, isCardPresent, type LinkedKind } from './entity-events';
import {
  FRAUD_DELAY_DAYS,
  FRAUD_WINDOW_DAYS,
  LAYOUTS,
  NO_TIME,
  bucketOf,
  isLive,
  lastOf,
  readHeader,
  tierOf,
  windowSumsInto,
  type Layout,
  type Tier,
  type TierName,
} from './layout';
import type { StateOptions } from './options';
import type { CardUpdate, EntityUpdate } from './twin';

/** seconds_since_last when there is no previous transaction: 30 days, far from anything suspicious. */
export const NO_PREVIOUS_SECONDS = 30 * 24 * 3600;
/** The implied speed divides by at least this much time, so two swipes in the same second do not give infinity. */
export const MIN_TRAVEL_SECONDS = 60;

const WINDOWS = [
  ['10m', '10 minutes', 'm10'],
  ['1h', '1 hour', 'h1'],
  ['24h', '24 hours', 'd1'],
  ['7d', '7 days', 'd7'],
  ['30d', '30 days', 'd30'],
] as const satisfies ReadonlyArray<readonly [string, string, TierName]>;

function amountFeatures(entity: 'card' | 'account') {
  return [
    ...WINDOWS.map(([w, span]) => [`${entity}.count_${w}`, `Transactions of this ${entity} in the last ${span}, this one included.`] as const),
    ...WINDOWS.map(([w, span]) => [`${entity}.amount_${w}`, `Sum of amounts of this ${entity} in the last ${span}, this one included.`] as const),
    [`${entity}.avg_amount_1d`, `Mean amount of this ${entity} over the last 24 hours.`],
    [`${entity}.avg_amount_7d`, `Mean amount of this ${entity} over the last 7 days.`],
    [`${entity}.avg_amount_30d`, `Mean amount of this ${entity} over the last 30 days.`],
    [`${entity}.amount_zscore`, `(amount − mean) / std of this ${entity}'s earlier 30-day amounts; std floored; 0 without history.`],
    [`${entity}.amount_ratio_30d`, `amount / mean of this ${entity}'s earlier 30-day amounts; mean floored; 1 without history.`],
    [`${entity}.seconds_since_last`, `Seconds since this ${entity}'s previous transaction; ${NO_PREVIOUS_SECONDS} (30 days) when none.`],
  ] as const;
}

function acceptorFeatures(entity: 'terminal' | 'merchant') {
  return [
    [`${entity}.count_1h`, `Transactions at this ${entity} in the last hour.`],
    [`${entity}.count_24h`, `Transactions at this ${entity} in the last 24 hours.`],
    [`${entity}.count_7d`, `Transactions at this ${entity} in the last 7 days.`],
    [`${entity}.distinct_cards_1h`, `Distinct cards at this ${entity} in the last hour.`],
    [`${entity}.distinct_cards_24h`, `Distinct cards at this ${entity} in the last 24 hours.`],
    [`${entity}.distinct_cards_7d`, `Distinct cards at this ${entity} in the last 7 days.`],
    [`${entity}.fraud_count_30d`, `Fraud-labelled transactions at this ${entity} over the last 30 days (labels known so far).`],
    [`${entity}.fraud_share_30d`, `fraud_count_30d / transactions at this ${entity} over the last 30 days.`],
    [
      `${entity}.fraud_share_30d_delay7d`,
      `Fraud share at this ${entity} over the 30 days that end 7 days ago: most labels of that period have arrived.`,
    ],
  ] as const;
}

function clientFeatures(entity: 'device' | 'ip') {
  return [
    [`${entity}.count_24h`, `Transactions from this ${entity} in the last 24 hours; 0 when absent.`],
    [`${entity}.distinct_cards_24h`, `Distinct cards from this ${entity} in the last 24 hours; 0 when absent.`],
  ] as const;
}

const CATALOG = [
  ...amountFeatures('card'),
  ['card.distinct_merchants_24h', 'Distinct merchants of this card in the last 24 hours.'],
  ['card.distinct_terminals_24h', 'Distinct terminals of this card in the last 24 hours.'],
  ['card.distinct_countries_24h', 'Distinct merchant countries of this card in the last 24 hours.'],
  ['card.declines_10m', 'Declined transactions of this card in the last 10 minutes.'],
  ['card.declines_1h', 'Declined transactions of this card in the last hour.'],
  ['card.small_amounts_10m', 'Transactions at or below the small-amount limit in the last 10 minutes (card testing).'],
  ['card.small_amounts_1h', 'Transactions at or below the small-amount limit in the last hour (card testing).'],
  ['card.distance_km_from_last_present', 'Great-circle km from the previous card-present transaction with coordinates; 0 when unknown.'],
  ['card.speed_kmh_from_last_present', 'That distance over the time between the two, in km/h (at least 1 minute); 0 when unknown.'],
  ['card.first_country', '1 when the card has not been seen in this country within 30 days; 0 when seen or absent.'],
  ['card.first_mcc', '1 when the card has not been seen at this MCC within 30 days; 0 when seen or absent.'],
  ['card.first_merchant', '1 when the card has not been seen at this merchant within 30 days; 0 when seen or absent.'],
  ...amountFeatures('account'),
  ...acceptorFeatures('terminal'),
  ...acceptorFeatures('merchant'),
  ...clientFeatures('device'),
  ...clientFeatures('ip'),
  // Filled after the state round trip from compromise detection's warnings (src/compromise/exposures.ts); the
  // stores leave them 0.
  ['card.exposed', '1 when compromise detection had warned this card (it was at a point later found compromised, inside the breach window) before this transaction; 0 otherwise.'],
  ['card.days_since_exposure', 'Days from the card’s visit to that point to this transaction; 0 when not exposed.'],
  ['card.exposure_evidence', '−log10 of the point’s p-value (capped at 50): how sure the finding is; 0 when not exposed.'],
] as const;

export type FeatureName = (typeof CATALOG)[number][0];

export interface FeatureDefinition {
  name: FeatureName;
  description: string;
}

export const FEATURES: readonly FeatureDefinition[] = Object.freeze(CATALOG.map(([name, description]) => Object.freeze({ name, description })));
export const FEATURE_NAMES: readonly FeatureName[] = Object.freeze(FEATURES.map((f) => f.name));
export const FEATURE_INDEX: Readonly<Record<FeatureName, number>> = Object.freeze(
  Object.fromEntries(FEATURE_NAMES.map((name, index) => [name, index])) as Record<FeatureName, number>,
);

/** What the stores hand over for one transaction: each entity's update (absent: the transaction has no such entity). */
export interface TransactionUpdates {
  card: CardUpdate;
  account?: EntityUpdate;
  terminal?: EntityUpdate;
  merchant?: EntityUpdate;
  device?: EntityUpdate;
  ip?: EntityUpdate;
}

type Update = { code: ReturnCode; aggregate: Buffer | null };

/** Positions of one entity's features, looked up once instead of per transaction. */
function indexesOf<const N extends string>(entity: string, names: readonly N[]): Record<N, number> {
  return Object.fromEntries(names.map((name) => [name, FEATURE_INDEX[`${entity}.${name}` as FeatureName]])) as Record<N, number>;
}

const AMOUNT_NAMES = [
  ...WINDOWS.map(([w]) => `count_${w}` as const),
  ...WINDOWS.map(([w]) => `amount_${w}` as const),
  'avg_amount_1d',
  'avg_amount_7d',
  'avg_amount_30d',
  'amount_zscore',
  'amount_ratio_30d',
  'seconds_since_last',
] as const;
const ACCEPTOR_NAMES = [
  'count_1h',
  'count_24h',
  'count_7d',
  'distinct_cards_1h',
  'distinct_cards_24h',
  'distinct_cards_7d',
  'fraud_count_30d',
  'fraud_share_30d',
  'fraud_share_30d_delay7d',
] as const;
const CLIENT_NAMES = ['count_24h', 'distinct_cards_24h'] as const;

const AT = {
  card: indexesOf('card', AMOUNT_NAMES),
  account: indexesOf('account', AMOUNT_NAMES),
  terminal: indexesOf('terminal', ACCEPTOR_NAMES),
  merchant: indexesOf('merchant', ACCEPTOR_NAMES),
  device: indexesOf('device', CLIENT_NAMES),
  ip: indexesOf('ip', CLIENT_NAMES),
};

/** Positions of the windowed count and amount features, in WINDOWS order (no names built per transaction). */
const WINDOW_AT = {
  card: { count: WINDOWS.map(([w]) => AT.card[`count_${w}`]), amount: WINDOWS.map(([w]) => AT.card[`amount_${w}`]) },
  account: { count: WINDOWS.map(([w]) => AT.account[`count_${w}`]), amount: WINDOWS.map(([w]) => AT.account[`amount_${w}`]) },
};

/** Window length in buckets of every feature window: 11 buckets of W/10 cover at least W. */
const WINDOW_BUCKETS = 11;

/** The tiers and lanes features read, resolved once (a lane index is its position in the tier's sums). */
function amountTiers(layout: Layout) {
  const tiers = WINDOWS.map(([, , name]) => tierOf(layout, name));
  return {
    windows: tiers.map((tier) => ({ tier, count: tier.laneIndex.count, amount: tier.laneIndex.amount })),
    d30: tierOf(layout, 'd30'),
  };
}
const CARD_TIERS = { ...amountTiers(LAYOUTS.card), m10: tierOf(LAYOUTS.card, 'm10'), h1: tierOf(LAYOUTS.card, 'h1'), d1: tierOf(LAYOUTS.card, 'd1') };
const ACCOUNT_TIERS = amountTiers(LAYOUTS.account);
const ACCEPTOR_TIERS = {
  h1: tierOf(LAYOUTS.acceptor, 'h1'),
  d1: tierOf(LAYOUTS.acceptor, 'd1'),
  d7: tierOf(LAYOUTS.acceptor, 'd7'),
  days: tierOf(LAYOUTS.acceptor, 'days'),
};
const CLIENT_TIERS = { d1: tierOf(LAYOUTS.client, 'd1') };
const MAX_TIERS = Math.max(...Object.values(LAYOUTS).map((layout) => layout.tiers.length));
const MAX_LANES = Math.max(...Object.values(LAYOUTS).flatMap((layout) => layout.tiers.map((tier) => tier.lanes.length)));

/**
 * The windows of one entity around one transaction; each tier's window is summed once, all lanes together, into
 * arrays the reader owns. One reader serves every entity of every transaction in turn (`reset`): the feature path
 * allocates nothing per transaction but the output vector. Not reentrant, and it need not be: features are computed
 * synchronously.
 */
class WindowReader {
  private layout: Layout = LAYOUTS.card;
  private update: Update = { code: ReturnCode.Applied, aggregate: null };
  private timeMs = 0;
  last = NO_TIME;
  private readonly sums = Array.from({ length: MAX_TIERS }, () => new Float64Array(MAX_LANES));
  private readonly summed = new Array<boolean>(MAX_TIERS).fill(false);
  private readonly extra = new Float64Array(MAX_LANES);

  reset(layout: Layout, update: Update, timeMs: number): this {
    this.layout = layout;
    this.update = update;
    this.timeMs = timeMs;
    this.last = update.aggregate === null ? NO_TIME : lastOf(update.aggregate);
    this.summed.fill(false);
    return this;
  }

  header(field: Parameters<typeof readHeader>[2]): number {
    return this.update.aggregate === null ? NO_TIME : readHeader(this.layout, this.update.aggregate, field);
  }

  /** True when the store counted this transaction in this tier's buckets. */
  counted(tier: Tier): boolean {
    const { code, aggregate } = this.update;
    if (aggregate === null || (code !== ReturnCode.Applied && code !== ReturnCode.Duplicate)) return false;
    return isLive(tier, bucketOf(tier, this.timeMs), this.last);
  }

  /** Lane sums over the 11 buckets ending at the transaction's bucket (valid until the next reset). */
  window(tier: Tier): Float64Array {
    const sums = this.sums[tier.index];
    if (!this.summed[tier.index]) {
      this.summed[tier.index] = true;
      if (this.update.aggregate === null) sums.fill(0);
      else windowSumsInto(sums, tier, this.update.aggregate, bucketOf(tier, this.timeMs), WINDOW_BUCKETS);
    }
    return sums;
  }

  /** Lane sums over `length` buckets ending `delay` buckets before the transaction's bucket (valid until the next call). */
  windowAt(tier: Tier, length: number, delay: number): Float64Array {
    if (this.update.aggregate === null) return this.extra.fill(0);
    return windowSumsInto(this.extra, tier, this.update.aggregate, bucketOf(tier, this.timeMs) - delay, length);
  }

  /** A windowed sum with this transaction's own contribution added when the store did not count it. */
  including(tier: Tier, lane: number, own: number): number {
    return this.window(tier)[lane] + (this.counted(tier) ? 0 : own);
  }

  /**
   * Distinct places (or cards) in the window. Each is counted in the bucket of its latest sighting; this
   * transaction's own is added when that sighting is outside the window (seen later, or not counted at all).
   */
  distinct(tier: Tier, lane: number, lastSeenMs: number, present: boolean): number {
    const end = bucketOf(tier, this.timeMs);
    const seenBucket = bucketOf(tier, lastSeenMs);
    const inWindow = this.update.aggregate !== null && seenBucket <= end && seenBucket > end - WINDOW_BUCKETS && isLive(tier, seenBucket, this.last);
    return this.window(tier)[lane] + (present && !inWindow ? 1 : 0);
  }
}

const reader = new WindowReader();

function setAmountFeatures(out: Float64Array, entity: 'card' | 'account', update: Update, txn: CardTransaction, options: StateOptions): void {
  const layout = LAYOUTS[entity];
  const tiers = entity === 'card' ? CARD_TIERS : ACCOUNT_TIERS;
  const at = AT[entity];
  reader.reset(layout, update, txn.eventTimeMs);
  const amount = txn.amount;
  const { count: countAt, amount: amountAt } = WINDOW_AT[entity];
  for (let i = 0; i < tiers.windows.length; i++) {
    const { tier, count, amount: amountLane } = tiers.windows[i];
    out[countAt[i]] = reader.including(tier, count, 1);
    out[amountAt[i]] = reader.including(tier, amountLane, amount);
  }
  out[at.avg_amount_1d] = out[amountAt[2]] / out[countAt[2]];
  out[at.avg_amount_7d] = out[amountAt[3]] / out[countAt[3]];
  out[at.avg_amount_30d] = out[amountAt[4]] / out[countAt[4]];

  // History = the 30-day window without this transaction.
  const d30 = tiers.d30;
  const counted = reader.counted(d30);
  const sums = reader.window(d30);
  const n = sums[d30.laneIndex.count] - (counted ? 1 : 0);
  const total = sums[d30.laneIndex.amount] - (counted ? amount : 0);
  const squares = sums[d30.laneIndex.sumsq] - (counted ? amount * amount : 0);
  if (n > 0) {
    const mean = total / n;
    const std = Math.sqrt(Math.max(0, squares / n - mean * mean));
    out[at.amount_zscore] = (amount - mean) / Math.max(std, options.amountStdFloor);
    out[at.amount_ratio_30d] = amount / Math.max(mean, options.amountMeanFloor);
  } else {
    out[at.amount_zscore] = 0;
    out[at.amount_ratio_30d] = 1;
  }

  const prev = reader.header('prev');
  // The newest event is this one (or one at the same instant): the previous transaction is `prev`. A late
  // transaction only knows `prev` when it is earlier than itself.
  const previous = reader.last === txn.eventTimeMs ? prev : prev <= txn.eventTimeMs ? prev : NO_TIME;
  out[at.seconds_since_last] = previous === NO_TIME ? NO_PREVIOUS_SECONDS : (txn.eventTimeMs - previous) / 1000;
}

const EARTH_RADIUS_KM = 6371.0088;

export function haversineKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(a)));
}

const CARD_AT = {
  distinctMerchants: FEATURE_INDEX['card.distinct_merchants_24h'],
  distinctTerminals: FEATURE_INDEX['card.distinct_terminals_24h'],
  distinctCountries: FEATURE_INDEX['card.distinct_countries_24h'],
  declines10m: FEATURE_INDEX['card.declines_10m'],
  declines1h: FEATURE_INDEX['card.declines_1h'],
  small10m: FEATURE_INDEX['card.small_amounts_10m'],
  small1h: FEATURE_INDEX['card.small_amounts_1h'],
  distance: FEATURE_INDEX['card.distance_km_from_last_present'],
  speed: FEATURE_INDEX['card.speed_kmh_from_last_present'],
  firstCountry: FEATURE_INDEX['card.first_country'],
  firstMcc: FEATURE_INDEX['card.first_mcc'],
  firstMerchant: FEATURE_INDEX['card.first_merchant'],
};

/** Writes the card's features into `out` (entity by entity, as setLinkedFeatures). */
export function setCardFeatures(out: Float64Array, update: CardUpdate, txn: CardTransaction, options: StateOptions): void {
  setAmountFeatures(out, 'card', update, txn, options); // leaves the reader on the card
  const { m10, h1, d1 } = CARD_TIERS;
  out[CARD_AT.distinctMerchants] = reader.distinct(d1, d1.laneIndex.merchants, update.merchantLastSeenMs, txn.merchantId !== undefined);
  out[CARD_AT.distinctTerminals] = reader.distinct(d1, d1.laneIndex.terminals, update.terminalLastSeenMs, txn.terminalId !== undefined);
  out[CARD_AT.distinctCountries] = reader.distinct(d1, d1.laneIndex.countries, update.countryLastSeenMs, txn.country !== undefined);
  const declined = txn.approved ? 0 : 1;
  const small = txn.amount <= options.smallAmountLimit ? 1 : 0;
  out[CARD_AT.declines10m] = reader.including(m10, m10.laneIndex.declines, declined);
  out[CARD_AT.declines1h] = reader.including(h1, h1.laneIndex.declines, declined);
  out[CARD_AT.small10m] = reader.including(m10, m10.laneIndex.small, small);
  out[CARD_AT.small1h] = reader.including(h1, h1.laneIndex.small, small);

  // Only a card-present transaction with coordinates that is the card's newest one has a well-defined predecessor.
  let distance = 0;
  let speed = 0;
  const hasPosition = txn.latitude !== undefined && txn.longitude !== undefined && isCardPresent(txn);
  if (hasPosition && reader.header('presentAt') === txn.eventTimeMs && reader.header('prevPresentAt') !== NO_TIME) {
    distance = haversineKm(reader.header('prevPresentLat'), reader.header('prevPresentLon'), txn.latitude as number, txn.longitude as number);
    const seconds = Math.max(MIN_TRAVEL_SECONDS, (txn.eventTimeMs - reader.header('prevPresentAt')) / 1000);
    speed = distance / (seconds / 3600);
  }
  out[CARD_AT.distance] = distance;
  out[CARD_AT.speed] = speed;
  out[CARD_AT.firstCountry] = update.firstCountry ? 1 : 0;
  out[CARD_AT.firstMcc] = update.firstMcc ? 1 : 0;
  out[CARD_AT.firstMerchant] = update.firstMerchant ? 1 : 0;
}

function setAcceptorFeatures(out: Float64Array, entity: 'terminal' | 'merchant', update: EntityUpdate, txn: CardTransaction): void {
  const at = AT[entity];
  const { h1, d1, d7, days } = ACCEPTOR_TIERS;
  reader.reset(LAYOUTS.acceptor, update, txn.eventTimeMs);
  out[at.count_1h] = reader.including(h1, h1.laneIndex.count, 1);
  out[at.count_24h] = reader.including(d1, d1.laneIndex.count, 1);
  out[at.count_7d] = reader.including(d7, d7.laneIndex.count, 1);
  out[at.distinct_cards_1h] = reader.distinct(h1, h1.laneIndex.cards, update.cardLastSeenMs, true);
  out[at.distinct_cards_24h] = reader.distinct(d1, d1.laneIndex.cards, update.cardLastSeenMs, true);
  out[at.distinct_cards_7d] = reader.distinct(d7, d7.laneIndex.cards, update.cardLastSeenMs, true);

  const { count: countLane, fraud: fraudLane } = days.laneIndex;
  const length = FRAUD_WINDOW_DAYS + 1; // whole days ending today: at least 30 days
  const recent = reader.windowAt(days, length, 0);
  const fraud = recent[fraudLane];
  const count = recent[countLane] + (reader.counted(days) ? 0 : 1);
  out[at.fraud_count_30d] = fraud;
  out[at.fraud_share_30d] = fraud / count;
  const delayed = reader.windowAt(days, length, FRAUD_DELAY_DAYS);
  out[at.fraud_share_30d_delay7d] = delayed[countLane] > 0 ? delayed[fraudLane] / delayed[countLane] : 0;
}

function setClientFeatures(out: Float64Array, entity: 'device' | 'ip', update: EntityUpdate, txn: CardTransaction): void {
  const at = AT[entity];
  const { d1 } = CLIENT_TIERS;
  reader.reset(LAYOUTS.client, update, txn.eventTimeMs);
  out[at.count_24h] = reader.including(d1, d1.laneIndex.count, 1);
  out[at.distinct_cards_24h] = reader.distinct(d1, d1.laneIndex.cards, update.cardLastSeenMs, true);
}

/**
 * Writes the features of one linked entity (account, terminal, merchant, device, IP) into `out`. The Redis store
 * calls it entity by entity as it rebuilds each one's aggregates in place, so no copy per transaction is kept.
 */
export function setLinkedFeatures(out: Float64Array, kind: LinkedKind, update: EntityUpdate, txn: CardTransaction, options: StateOptions): void {
  switch (kind) {
    case 'account':
      setAmountFeatures(out, 'account', update, txn, options);
      return;
    case 'terminal':
    case 'merchant':
      setAcceptorFeatures(out, kind, update, txn);
      return;
    case 'device':
    case 'ip':
      setClientFeatures(out, kind, update, txn);
  }
}

/**
 * Zeroed feature vectors for a batch of `count` transactions, views of one buffer: one allocation per batch instead
 * of one backing store per transaction (a vector's 552 bytes live outside V8's heap, costly to allocate and free).
 */
export function featureRows(count: number): Float64Array[] {
  const buffer = new Float64Array(count * FEATURES.length);
  const rows = new Array<Float64Array>(count);
  for (let i = 0; i < count; i++) rows[i] = buffer.subarray(i * FEATURES.length, (i + 1) * FEATURES.length);
  return rows;
}

/** Writes the feature vector of one transaction into `out` (zeroed), in catalog order. Features of an absent entity stay 0. */
export function computeFeaturesInto(out: Float64Array, txn: CardTransaction, updates: TransactionUpdates, options: StateOptions): Float64Array {
  setCardFeatures(out, updates.card, txn, options);
  for (const kind of LINKED_KINDS) {
    const update = updates[kind];
    if (update !== undefined) setLinkedFeatures(out, kind, update, txn, options);
  }
  return out;
}

/** Reads one feature by name: `featureValue(vector, 'card.count_1h')`. */
export function featureValue(vector: Float64Array, name: FeatureName): number {
  return vector[FEATURE_INDEX[name]];
}
