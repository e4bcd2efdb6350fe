/**
 * What compromise detection keeps, behind one interface with two implementations: Redis (`redis-store.ts`, the
 * service: shared by every instance, cluster-safe) and memory (`memory-store.ts`, the embedded mode, the demo and
 * offline replays). Every write is idempotent, so a redelivered transaction or label changes nothing.
 *
 * The transaction path writes only the visit log (`recordVisits`): which cards were seen at which point, when. The
 * rest is written by the detector from labels, at a few hundred a minute at most.
 */
import type { CardTransaction } from '../contract/transaction';

export type PointKind = 'terminal' | 'merchant';

/** A point of purchase, as `kind:id` (e.g. `terminal:t-000117-1`): the key of everything kept per point. */
export type PointKey = string;

export interface PointRef {
  kind: PointKind;
  id: string;
}

export function pointKey(point: PointRef): PointKey {
  return `${point.kind}:${point.id}`;
}

export function parsePointKey(key: PointKey): PointRef {
  const colon = key.indexOf(':');
  return { kind: key.slice(0, colon) as PointKind, id: key.slice(colon + 1) };
}

/** The points a transaction passed through: its terminal (a skimmer sits on one) and its merchant (a hacked till system or web shop leaks them all). */
export function pointsOf(txn: { terminalId?: string; merchantId?: string }): PointKey[] {
  const points: PointKey[] = [];
  if (txn.terminalId !== undefined) points.push(`terminal:${txn.terminalId}`);
  if (txn.merchantId !== undefined) points.push(`merchant:${txn.merchantId}`);
  return points;
}

/** The visit log names a card by the first 8 bytes of its token (16 hex digits): a third of the token's size. */
export function visitorId(cardToken: string): string {
  return cardToken.slice(0, 16);
}

/** One card seen at a point. */
export interface Visit {
  /** visitorId of the card. */
  card: string;
  /** Minute precision. */
  atMs: number;
}

/** A card's own visits: where it was, when (for a victim, the look-back before its first fraud). */
export interface CardVisits {
  accountId?: string;
  visits: Array<{ atMs: number; points: PointKey[] }>;
}

/** A card counted as a victim: its first fraud and the points it visited in the look-back before it. */
export interface VictimRecord {
  cardToken: string;
  /** Cards of one account fall victim together and shop together: they count as one victim. */
  accountId?: string;
  firstFraudMs: number;
  /** 1 for fraud confirmed by a label; less for a card only the service itself blocked. */
  weight: number;
  /** Each point the card used in the look-back, with every visit there (minute precision). */
  points: Array<{ point: PointKey; visitsMs: number[] }>;
}

export interface PointVictim {
  cardToken: string;
  accountId?: string;
  visitsMs: number[];
  weight: number;
}

/** A fraud-labelled transaction at a point (the other shape: fraud happening at the point itself). */
export interface PointFraud {
  /** transactionFingerprint, hex. */
  transaction: string;
  /** visitorId of the defrauded card. */
  card: string;
  atMs: number;
}

export type Shape = 'common-point' | 'fraud-at-point';

/** A flagged point: what its alerts say. */
export interface Finding {
  point: PointKey;
  shape: Shape;
  fromMs: number;
  untilMs: number;
  /** k: victim weight (common-point) or fraud transactions (fraud-at-point) inside the window. */
  victims: number;
  /** n: distinct cards (common-point) or transactions (fraud-at-point) inside the window. */
  visitors: number;
  expected: number;
  /** The corrected tail. */
  pValue: number;
  /** Event time at which the finding was made. */
  raisedAtMs: number;
}

/**
 * A publication the detector has decided on, written before its first alert: a crash before its finding is stored
 * leaves it behind, and the next evaluation carries it out again exactly as decided, so every alert id keeps one
 * content even when the evidence has grown since (the grown finding is published after it, superseding it).
 */
export interface Publication {
  finding: Finding;
  findingId: string;
  revision: number;
  /** The alert id of the point's previous revision. */
  supersedes?: string;
  recommendation: 'reissue' | 'monitor';
}

/** What the detector last published for a point. */
export interface FindingState {
  /** Stable across the point's updated alerts: downstream relates them by it. */
  findingId: string;
  alertId: string;
  revision: number;
  shape: Shape;
  fromMs: number;
  untilMs: number;
  victims: number;
  /** The corrected tail of the alert last published (or of stronger evidence since, in the same window). */
  pValue: number;
  /** victims / expected. */
  lift: number;
  raisedAtMs: number;
}

/** A warned card, as scoring sees it (features card.exposed, card.days_since_exposure, card.exposure_evidence). */
export interface Exposure {
  cardToken: string;
  point: PointKey;
  /** When the card was at the point. */
  exposedAtMs: number;
  /** Event time at which the finding was made: exposure counts for transactions from then on. */
  raisedAtMs: number;
  /** −log10 of the point's corrected tail. */
  evidence: number;
  recommendation: 'reissue' | 'monitor';
}

export interface CompromiseStore {
  // ---- written by the transaction path
  /** Appends each transaction's visits (terminal and merchant) to the point's log and the card's, and counts the card as active. */
  recordVisits(txns: readonly CardTransaction[]): Promise<void>;

  // ---- read and written by the detector
  /**
   * Visits at a point from `fromMs` (inclusive) to `untilMs` (exclusive), in time order. A redelivered transaction may
   * appear twice: every reader counts distinct cards, which duplicates do not change.
   */
  visitsAt(point: PointKey, fromMs: number, untilMs: number): Promise<Visit[]>;
  /** The card's visits from `fromMs` (inclusive) to `untilMs` (exclusive), duplicates removed. */
  cardVisits(cardToken: string, fromMs: number, untilMs: number): Promise<CardVisits>;
  /** Visits per day (UTC days since the epoch) at a point over [fromDay, untilDay]: what the detector screens with. */
  dailyVisits(point: PointKey, fromDay: number, untilDay: number): Promise<number[]>;
  /** Card tokens of visitor ids (those the store knows). */
  cardTokens(visitors: readonly string[]): Promise<Map<string, string>>;
  /** Distinct cards seen over whole UTC days [fromDay, untilDay]. */
  activeCards(fromDay: number, untilDay: number): Promise<number>;

  victim(cardToken: string): Promise<VictimRecord | undefined>;
  /** Replaces the card's record; points the new record no longer names forget the card. */
  putVictim(record: VictimRecord): Promise<void>;
  removeVictim(cardToken: string): Promise<void>;
  victimsAt(point: PointKey): Promise<PointVictim[]>;
  /** Σ weight of victims whose first fraud falls in [fromMs, untilMs). */
  victimWeight(fromMs: number, untilMs: number): Promise<number>;
  /** The cards among these that are confirmed victims (weight 1). */
  confirmedVictims(cardTokens: readonly string[]): Promise<Set<string>>;

  /** Which finding explains each of these victims (the strongest that claimed it), when one does. */
  claims(cardTokens: readonly string[]): Promise<Map<string, { point: PointKey; pValue: number }>>;
  /** A finding claims the victims inside its window; a stronger claim already there stays. */
  claim(point: PointKey, pValue: number, cardTokens: readonly string[]): Promise<void>;

  putFrauds(point: PointKey, frauds: readonly PointFraud[]): Promise<void>;
  fraudsAt(point: PointKey): Promise<PointFraud[]>;

  finding(point: PointKey): Promise<FindingState | undefined>;
  putFinding(point: PointKey, finding: FindingState): Promise<void>;
  /** Publications begun and not ended (see Publication): none, unless a crash interrupted one. */
  unfinishedPublications(): Promise<Publication[]>;
  beginPublication(publication: Publication): Promise<void>;
  endPublication(point: PointKey): Promise<void>;
  /** The cards among these not yet warned about this point. */
  unwarned(point: PointKey, cardTokens: readonly string[]): Promise<string[]>;
  markWarned(point: PointKey, cardTokens: readonly string[]): Promise<void>;

  /** Appends exposures to the feed every instance's ExposureIndex follows. */
  putExposures(exposures: readonly Exposure[]): Promise<void>;
  /** Exposures after `cursor` ('' for the beginning), at most `limit`, and the cursor to continue from. */
  exposuresAfter(cursor: string, limit: number): Promise<{ exposures: Exposure[]; cursor: string }>;
  /** Adds a detected point to a named list (compromised_terminals, compromised_merchants) the rules read. */
  addToList(list: string, id: string): Promise<void>;
  close(): Promise<void>;
}

export const DAY_MS = 86_400_000;
export const MINUTE_MS = 60_000;

export function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS);
}
