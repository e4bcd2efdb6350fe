/**
 * The simulation engine: a pure, seeded, streaming generator of v1 wire messages in time order.
 *
 * Day by day, it plans every customer's genuine transactions (count, time of day, kind) into typed arrays and sorts
 * them; fraud incidents, their transactions and the labels still to come wait in a time-ordered heap. Emission
 * merges the two, materialising each message only when it is due, so memory is bounded by one day's plan and the
 * pending fraud and labels, never by the length of the run.
 */
import type { LabelMessage, TransactionMessage } from '../contract/schemas';
import { NonRetriableError } from '../errors';
import { ATM_MEDIAN_WITHDRAWAL, BIG_PURCHASE_CATEGORIES, ECOM_CATEGORIES, roundTenge, roundWithdrawal } from './catalog';
import { FOREIGN_CITIES, HOME_OFFSET_MINUTES, TimestampFormatter, distanceKm, formatLocalTimestamp, utcOffsetAt, type City } from './geo';
import { TimeHeap } from './heap';
import { decideCaseReport, labelTimeMs, reportDelayMs } from './labels';
import { FRAUD_SCENARIOS, resolveSimOptions, type FraudScenario, type SimOptions, type SimOptionsInput } from './options';
import { MAX_ECOM_FAVOURITES, MAX_FAVOURITES, buildIndex, buildPopulation, type Bucket, type Place, type PlaceKind, type Population, type PopulationIndex } from './population';
import { Random, cumulative, hashString } from './random';

type Channel = NonNullable<TransactionMessage['channel']>;
type EntryMode = NonNullable<TransactionMessage['entryMode']>;

/** Ground truth of a fraudulent transaction: for evaluation only, never part of the wire message. */
export interface FraudTruth {
  scenario: FraudScenario;
  /** One card's fraud episode; all its transactions are reported (or not) together. */
  caseId: string;
  caseStartMs: number;
  /** The breached or fraudulent point behind it, for point-of-compromise and fraudulent-merchant fraud. */
  pointId?: string;
}

export interface TransactionEvent {
  kind: 'transaction';
  /** Event time, epoch ms (equals Date.parse(message.timestamp)). */
  atMs: number;
  /** Stable per-card reference that is not the PAN (`card-000123`): the Kafka key. */
  cardRef: string;
  message: TransactionMessage;
  truth?: FraudTruth;
  /** Set on the genuine transaction through which a breached point stole this card's data. */
  exposedTo?: string;
}

export interface LabelEvent {
  kind: 'label';
  /** Reporting time, epoch ms (equals Date.parse(message.reportedAt)). */
  atMs: number;
  cardRef: string;
  message: LabelMessage;
  /** The fraud case reported; absent for a genuine transaction wrongly reported. */
  caseId?: string;
  caseStartMs?: number;
}

export type SimEvent = TransactionEvent | LabelEvent;

export type PointScenario = Extract<FraudScenario, 'point-of-compromise' | 'fraudulent-merchant'>;

/** A breached point (its data is stolen during the window) or a fraudulent one (all its transactions are fraud). */
export interface CompromisedPoint {
  pointId: string;
  scenario: PointScenario;
  kind: PlaceKind;
  merchantId: string;
  /** Only one terminal was breached (a skimmer); absent when the whole merchant or site was. */
  terminalId?: string;
  city?: string;
  country: string;
  fromMs: number;
  untilMs: number;
}

export interface SimStats {
  transactions: number;
  declined: number;
  fraudTransactions: Record<FraudScenario, number>;
  /**
   * Incidents started, the unit of the configured rates: card-testing bursts, takeovers and clonings (per card),
   * breached points and fraudulent points.
   */
  incidents: Record<FraudScenario, number>;
  labels: number;
  falseReports: number;
  cardsExposed: number;
  /** Exposed cards scheduled for fraudulent use (their use may fall after the end of the run). */
  cardsScheduledForExploit: number;
  /** Exposed cards whose fraudulent use started within the run. */
  cardsExploited: number;
  firstEventMs?: number;
  lastTransactionMs?: number;
}

export interface Simulation extends Iterable<SimEvent> {
  readonly options: SimOptions;
  readonly population: Population;
  readonly compromisedPoints: readonly CompromisedPoint[];
  /** Counts so far; complete once iteration has finished. */
  readonly stats: SimStats;
}

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** Share of a local day's card spending in each hour, 00:00 to 23:00: quiet nights, lunch and evening peaks. */
const HOURLY_RHYTHM = [0.3, 0.15, 0.1, 0.08, 0.08, 0.15, 0.5, 1.2, 2.2, 2.6, 2.8, 3.0, 3.6, 3.4, 3.0, 3.0, 3.2, 3.8, 4.2, 4.0, 3.4, 2.6, 1.6, 0.8];
/** Spending by weekday, Sunday first (Date.getUTCDay order): Friday and Saturday are busiest. */
const WEEKDAY_RHYTHM = [0.85, 0.95, 0.95, 1.0, 1.0, 1.15, 1.2];
const DAILY_TRIP_CHANCE = 1 / 120;
const FOREIGN_TRIP_SHARE = 0.35;
const DAILY_BIG_PURCHASE_CHANCE = 1 / 150;
const PAYDAY_RATE_FACTOR = 1.8;
const PAYDAY_AMOUNT_FACTOR = 1.25;
/** Cloned cards are used at least this far from where the real card just was. */
const CLONE_MIN_DISTANCE_KM = 700;

const POINT_NONE = 0;
const POINT_BREACHED = 1;
const POINT_FRAUDULENT = 2;

const SLOT_NORMAL = 0;
const SLOT_ATM = 1;
const SLOT_BIG = 2;
/** Planned transactions are sorted by `secondOfDay × SLOT_KEY_SPACE + slot`, one numeric typed-array sort per day. */
const SLOT_KEY_SPACE = 2 ** 26;

interface FraudSpec {
  card: number;
  place: Place;
  terminalId?: string;
  amount: number;
  approved: boolean;
  channel: Channel;
  entryMode: EntryMode;
  cardPresent: boolean;
  deviceId?: string;
  ip?: string;
  truth: FraudTruth;
}

type CardIncident = Extract<FraudScenario, 'card-testing' | 'account-takeover' | 'cloned-card'>;

type Pending =
  | { type: 'label'; atMs: number; card: number; message: LabelMessage; caseId?: string; caseStartMs?: number }
  | { type: 'fraud'; atMs: number; spec: FraudSpec }
  | { type: 'anchor'; atMs: number; card: number }
  | { type: 'incident'; atMs: number; scenario: CardIncident; card: number }
  | { type: 'exploit'; atMs: number; card: number; breach: Breach };

interface Breach {
  point: CompromisedPoint;
  place: Place;
  captured: Set<number>;
  /** The breach ends once it has stolen this many cards (a skimmer removed, a web skimmer found). */
  maxCards: number;
}

interface RoguePoint {
  point: CompromisedPoint;
  place: Place;
  dailyTransactions: number;
}

interface Day {
  index: number;
  startMs: number;
  endMs: number;
  dayOfMonth: number;
}

export function createSimulation(input: SimOptionsInput = {}): Simulation {
  const options = resolveSimOptions(input);
  const population = buildPopulation(options.seed, options.customers);
  const engine = new Engine(options, population);
  let started = false;
  return {
    options,
    population,
    compromisedPoints: engine.compromisedPoints,
    stats: engine.stats,
    [Symbol.iterator]() {
      if (started) throw new Error('a Simulation can be iterated once; create another one to run again');
      started = true;
      return engine.run();
    },
  };
}

/** The simplest entry: every event of a run, in time order. */
export function simulate(input: SimOptionsInput = {}): Iterable<SimEvent> {
  return createSimulation(input);
}

function emptyCounts(): Record<FraudScenario, number> {
  return Object.fromEntries(FRAUD_SCENARIOS.map((s) => [s, 0])) as Record<FraudScenario, number>;
}

class Engine {
  readonly stats: SimStats = {
    transactions: 0,
    declined: 0,
    fraudTransactions: emptyCounts(),
    incidents: emptyCounts(),
    labels: 0,
    falseReports: 0,
    cardsExposed: 0,
    cardsScheduledForExploit: 0,
    cardsExploited: 0,
  };
  readonly compromisedPoints: CompromisedPoint[] = [];

  private readonly rng: Random;
  private readonly index: PopulationIndex;
  private readonly pending = new TimeHeap<Pending>();
  private readonly hourly = cumulative(HOURLY_RHYTHM);
  private readonly domesticCityWeights: Float64Array;
  private readonly foreignCityWeights: Float64Array;
  /** The breach or fraudulent point on a place, if any (one per place); `pointOnPlace` flags them for the hot path. */
  private readonly breachAt = new Map<number, Breach>();
  private readonly rogueAt = new Map<number, RoguePoint>();
  private readonly pointOnPlace: Uint8Array;
  private readonly rogues: RoguePoint[] = [];
  private readonly tripCity: Int16Array;
  private readonly tripEndDay: Int32Array;
  private readonly deviceSalt: number;
  private readonly timestamps = new TimestampFormatter();
  private transactionSerial = 0;
  private caseSerial = 0;
  private slotKeys = new Float64Array(1024);
  private slotCustomer = new Int32Array(1024);
  private slotKind = new Uint8Array(1024);

  constructor(
    private readonly options: SimOptions,
    private readonly population: Population,
  ) {
    this.rng = new Random(options.seed, 'events');
    this.index = buildIndex(population.places, population.cities.length);
    const domestic = population.cities.slice(0, population.domesticCityCount);
    this.domesticCityWeights = cumulative(domestic.map((c) => c.weight));
    this.foreignCityWeights = cumulative(FOREIGN_CITIES.map((c) => c.weight));
    this.pointOnPlace = new Uint8Array(population.places.length);
    this.tripCity = new Int16Array(population.customerCount).fill(-1);
    this.tripEndDay = new Int32Array(population.customerCount);
    this.deviceSalt = hashString(`devices-${options.seed}`);
    this.schedulePoints();
  }

  private get cardUnits(): number {
    return this.population.cardCountTotal / 10_000;
  }

  // ---------------------------------------------------------------- points: breaches and fraudulent merchants

  /** Breach windows and fraudulent points are fixed up front (their own stream), so callers can list them before a run. */
  private schedulePoints(): void {
    const rng = new Random(this.options.seed, 'points');
    const { days, startMs, fraudRates, compromise } = this.options;
    const breaches = rng.poisson(fraudRates['point-of-compromise'] * this.cardUnits * days);
    for (let i = 0; i < breaches; i++) {
      const roll = rng.next();
      const kind: PlaceKind = roll < 0.65 ? 'pos' : roll < 0.85 ? 'atm' : 'ecom';
      const place = this.freePlace(rng, kind);
      if (place === undefined) continue;
      const lengthMs = rng.int(compromise.breachMinDays, compromise.breachMaxDays) * DAY_MS;
      const fromMs = startMs + Math.floor(rng.next() * Math.max(DAY_MS, days * DAY_MS - lengthMs) / SECOND_MS) * SECOND_MS;
      // A skimmer sits on one terminal; a hacked till system or checkout page leaks every card the point sees.
      const oneTerminal = kind === 'pos' && place.terminalIds.length > 1 && rng.chance(0.6);
      const point: CompromisedPoint = {
        pointId: `poc-${i + 1}`,
        scenario: 'point-of-compromise',
        kind,
        merchantId: place.merchantId,
        ...(oneTerminal ? { terminalId: rng.pick(place.terminalIds) } : kind === 'atm' ? { terminalId: place.terminalIds[0] } : {}),
        ...(kind === 'ecom' ? {} : { city: place.location.name }),
        country: place.location.country,
        fromMs,
        untilMs: fromMs + lengthMs,
      };
      const breach: Breach = { point, place, captured: new Set(), maxCards: rng.int(compromise.breachMinCards, compromise.breachMaxCards) };
      this.breachAt.set(place.index, breach);
      this.pointOnPlace[place.index] = POINT_BREACHED;
      this.compromisedPoints.push(point);
      this.stats.incidents['point-of-compromise']++;
    }
    const rogueCount = rng.poisson(fraudRates['fraudulent-merchant'] * this.cardUnits * days);
    for (let i = 0; i < rogueCount; i++) {
      const place = this.freePlace(rng, rng.chance(0.5) ? 'ecom' : 'pos');
      if (place === undefined) continue;
      const lengthMs = rng.int(3, 14) * DAY_MS;
      const fromMs = startMs + Math.floor(rng.next() * Math.max(DAY_MS, days * DAY_MS - lengthMs) / SECOND_MS) * SECOND_MS;
      const point: CompromisedPoint = {
        pointId: `rogue-${i + 1}`,
        scenario: 'fraudulent-merchant',
        kind: place.kind,
        merchantId: place.merchantId,
        ...(place.kind === 'ecom' ? {} : { city: place.location.name }),
        country: place.location.country,
        fromMs,
        untilMs: fromMs + lengthMs,
      };
      const rogue: RoguePoint = { point, place, dailyTransactions: rng.uniform(5, 30) };
      this.rogueAt.set(place.index, rogue);
      // Flagged for scheduling only; `planDay` flags it fraudulent on the days of its window.
      this.pointOnPlace[place.index] = POINT_FRAUDULENT;
      this.rogues.push(rogue);
      this.compromisedPoints.push(point);
      this.stats.incidents['fraudulent-merchant']++;
    }
  }

  /** A popular domestic place of the kind that carries no other breach or fraud yet. */
  private freePlace(rng: Random, kind: PlaceKind): Place | undefined {
    for (let attempt = 0; attempt < 20; attempt++) {
      const city = rng.weighted(this.domesticCityWeights);
      const bucket = kind === 'pos' ? this.index.anyPosInCity(city) : kind === 'atm' ? this.index.atmsInCity(city) : this.index.ecom;
      if (bucket.places.length < 2) continue;
      const place = this.population.places[bucket.places[rng.weighted(bucket.popularity)]];
      if (kind === 'ecom' && place.location.country !== 'KZ') continue;
      if (this.pointOnPlace[place.index] === POINT_NONE) return place;
    }
    return undefined;
  }

  // ---------------------------------------------------------------- the run

  *run(): Generator<SimEvent, void, undefined> {
    const { days, startMs, maxTransactions } = this.options;
    let stopped = false;
    for (let d = 0; d < days && !stopped; d++) {
      const dayStart = startMs + d * DAY_MS;
      const day: Day = { index: d, startMs: dayStart, endMs: dayStart + DAY_MS, dayOfMonth: new Date(dayStart + HOME_OFFSET_MINUTES * MINUTE_MS).getUTCDate() };
      const slots = this.planDay(day);
      let next = 0;
      for (;;) {
        const slotTime = next < slots ? day.startMs + Math.floor(this.slotKeys[next] / SLOT_KEY_SPACE) * SECOND_MS : Number.POSITIVE_INFINITY;
        const top = this.pending.peek();
        const pendingTime = top !== undefined && top.atMs < day.endMs ? top.atMs : Number.POSITIVE_INFINITY;
        if (slotTime === Number.POSITIVE_INFINITY && pendingTime === Number.POSITIVE_INFINITY) break;
        let event: SimEvent | undefined;
        if (pendingTime <= slotTime) event = this.handle(this.pending.pop()!, day);
        else {
          const slot = this.slotKeys[next++] % SLOT_KEY_SPACE;
          event = this.genuine(this.slotCustomer[slot], -1, this.slotKind[slot], slotTime, day);
        }
        if (event === undefined) continue;
        yield event;
        if (event.kind === 'transaction' && this.stats.transactions >= maxTransactions) {
          stopped = true;
          break;
        }
      }
    }
    // Labels keep arriving after the last transaction; fraud planned past the end never happens.
    for (let item = this.pending.pop(); item !== undefined; item = this.pending.pop()) {
      if (item.type === 'label') yield this.labelEvent(item);
    }
  }

  private handle(item: Pending, day: Day): SimEvent | undefined {
    switch (item.type) {
      case 'label':
        return this.labelEvent(item);
      case 'fraud':
        return this.fraud(item.spec, item.atMs);
      case 'anchor':
        return this.genuine(this.population.cardCustomer[item.card], item.card, SLOT_NORMAL, item.atMs, day, true);
      case 'incident':
        this.stats.incidents[item.scenario]++;
        if (item.scenario === 'card-testing') this.expandCardTesting(item.card, item.atMs);
        else if (item.scenario === 'account-takeover') this.expandTakeover(item.card, item.atMs);
        else this.expandCloning(item.card, item.atMs);
        return undefined;
      case 'exploit':
        this.stats.cardsExploited++;
        this.expandExploit(item.card, item.breach, item.atMs);
        return undefined;
    }
  }

  /** Plans today's genuine transactions into the slot arrays (sorted) and today's fraud into the heap; returns the slot count. */
  private planDay(day: Day): number {
    const rng = this.rng;
    const p = this.population;
    const weekday = new Date(day.startMs + HOME_OFFSET_MINUTES * MINUTE_MS).getUTCDay();
    const weekdayFactor = WEEKDAY_RHYTHM[weekday];
    const weekend = weekday === 0 || weekday === 6;
    let slots = 0;
    const addSlot = (customer: number, kind: number, secondOfDay: number) => {
      if (slots === this.slotKeys.length) this.growSlots();
      this.slotKeys[slots] = secondOfDay * SLOT_KEY_SPACE + slots;
      this.slotCustomer[slots] = customer;
      this.slotKind[slots] = kind;
      slots++;
    };
    for (let c = 0; c < p.customerCount; c++) {
      if (this.tripCity[c] >= 0 && this.tripEndDay[c] <= day.index) this.tripCity[c] = -1;
      if (this.tripCity[c] < 0 && rng.chance(DAILY_TRIP_CHANCE)) this.startTrip(c, day);
      const travelling = this.tripCity[c] >= 0;
      const payday = this.isPayday(c, day);
      const rate = p.dailyRate[c] * weekdayFactor * (weekend ? p.weekendFactor[c] : 1) * (payday ? PAYDAY_RATE_FACTOR : 1) * (travelling ? 1.2 : 1);
      // A traveller's day follows the destination's clock: shift the home-clock plan by the difference.
      const clockShift = travelling ? this.clockShiftSeconds(p.cities[this.tripCity[c]], day.startMs) : 0;
      const shift = p.hourShift[c];
      for (let n = rng.poisson(rate); n > 0; n--) addSlot(c, SLOT_NORMAL, this.secondOfDay(shift, clockShift));
      for (let n = rng.poisson(p.atmRate[c] * (payday ? 2 : 1)); n > 0; n--) addSlot(c, SLOT_ATM, this.secondOfDay(shift, clockShift));
      if (rng.chance(DAILY_BIG_PURCHASE_CHANCE)) addSlot(c, SLOT_BIG, this.secondOfDay(shift, clockShift));
    }
    this.slotKeys.subarray(0, slots).sort();

    const { fraudRates } = this.options;
    for (const scenario of ['card-testing', 'account-takeover', 'cloned-card'] as const) {
      for (let n = rng.poisson(fraudRates[scenario] * this.cardUnits); n > 0; n--) {
        const card = rng.int(0, p.cardCountTotal - 1);
        this.pending.push({ type: 'incident', scenario, card, atMs: day.startMs + rng.int(0, 86399) * SECOND_MS });
      }
    }
    for (const rogue of this.rogues) {
      // Customers avoid a fraudulent point on the days of its window (all its transactions then are fraud) and
      // shop there as usual before and after: a merchant that turns, not one that only ever sees stolen cards.
      const active = rogue.point.fromMs < day.endMs && rogue.point.untilMs > day.startMs;
      this.pointOnPlace[rogue.place.index] = active ? POINT_FRAUDULENT : POINT_NONE;
      if (active) this.planRogueDay(rogue, day);
    }
    return slots;
  }

  /** A second of the (home-clock) day drawn from the daily rhythm, shifted by the customer's habits and clock. */
  private secondOfDay(hourShift: number, clockShiftSeconds: number): number {
    const hour = (this.rng.weighted(this.hourly) + hourShift + 24) % 24;
    return (((hour * 3600 + this.rng.int(0, 3599) - clockShiftSeconds) % 86400) + 86400) % 86400;
  }

  private growSlots(): void {
    const size = this.slotKeys.length * 2;
    const keys = new Float64Array(size);
    keys.set(this.slotKeys);
    const customers = new Int32Array(size);
    customers.set(this.slotCustomer);
    const kinds = new Uint8Array(size);
    kinds.set(this.slotKind);
    this.slotKeys = keys;
    this.slotCustomer = customers;
    this.slotKind = kinds;
  }

  private clockShiftSeconds(city: City, atMs: number): number {
    return (utcOffsetAt(city, atMs) - HOME_OFFSET_MINUTES) * 60;
  }

  private isPayday(customer: number, day: Day): boolean {
    const payday = this.population.payday[customer];
    return day.dayOfMonth === payday || day.dayOfMonth === payday + 15;
  }

  private startTrip(customer: number, day: Day): void {
    const rng = this.rng;
    const p = this.population;
    let city: number;
    if (rng.chance(FOREIGN_TRIP_SHARE)) city = p.domesticCityCount + rng.weighted(this.foreignCityWeights);
    else {
      city = rng.weighted(this.domesticCityWeights);
      if (city === p.homeCity[customer]) return; // stays home this time
    }
    this.tripCity[customer] = city;
    this.tripEndDay[customer] = day.index + rng.int(2, 10);
  }

  private currentCity(customer: number): number {
    const trip = this.tripCity[customer];
    return trip >= 0 ? trip : this.population.homeCity[customer];
  }

  // ---------------------------------------------------------------- genuine transactions

  /**
   * One genuine transaction of `customer` at `atMs`. `forcedCard` >= 0 (with `cardPresent`) is the anchor of a
   * cloning: the real card, in the owner's hands, where the owner is.
   */
  private genuine(customer: number, forcedCard: number, kind: number, atMs: number, day: Day, cardPresent = false): TransactionEvent {
    const rng = this.rng;
    const p = this.population;
    const city = this.currentCity(customer);
    const payday = this.isPayday(customer, day);
    const scale = p.amountScale[customer] * (payday ? PAYDAY_AMOUNT_FACTOR : 1);
    let place: Place;
    let amount: number;
    let online = false;
    if (kind === SLOT_ATM) {
      place = this.pickFrom(this.index.atmsInCity(city));
      amount = roundWithdrawal(rng.logNormal(ATM_MEDIAN_WITHDRAWAL * scale, 0.7));
    } else if (kind === SLOT_BIG) {
      const category = BIG_PURCHASE_CATEGORIES[rng.int(0, BIG_PURCHASE_CATEGORIES.length - 1)];
      place = this.pickFrom(this.index.posBucket(city, category) ?? this.index.anyPosInCity(city), this.index.anyPosInCity(city));
      amount = roundTenge(rng.logNormal(category.medianAmount * Math.sqrt(scale), category.sigma));
    } else {
      online = !cardPresent && rng.chance(p.ecomShare[customer]);
      place = online ? this.pickOnline(customer) : this.pickShop(customer, city);
      amount = roundTenge(rng.logNormal(place.category.medianAmount * scale, place.category.sigma));
    }
    const card = forcedCard >= 0 ? forcedCard : this.pickCard(customer, online);
    const terminalId = place.terminalIds.length === 0 ? undefined : place.terminalIds.length === 1 ? place.terminalIds[0] : rng.pick(place.terminalIds);
    let channel: Channel;
    let entryMode: EntryMode;
    if (place.kind === 'ecom') {
      // Hotels and airlines still take some card details over the phone.
      const moto = (place.category.mcc === '7011' || place.category.mcc === '4511') && rng.chance(0.1);
      channel = moto ? 'moto' : 'ecom';
      entryMode = moto ? 'manual' : 'ecom';
    } else {
      channel = place.kind === 'atm' ? 'atm' : 'pos';
      const abroad = place.cityIndex >= p.domesticCityCount;
      entryMode = place.kind === 'pos' && rng.chance(p.contactlessShare[customer]) ? 'contactless' : rng.chance(abroad ? 0.06 : 0.015) ? 'magstripe' : 'chip';
    }
    const declineChance = 0.012 + (amount > 100_000 ? 0.03 : 0) + (online ? 0.01 : 0) + (day.dayOfMonth >= 25 ? 0.006 : 0);
    const approved = !rng.chance(declineChance);
    const message = this.message(card, place, terminalId, atMs, amount, approved, channel, entryMode, place.kind !== 'ecom');
    if (channel === 'ecom') {
      const device = rng.chance(0.85) ? 0 : 1;
      message.deviceId = this.deviceId(customer, device);
      message.ip = this.ip(customer * 4 + device + (rng.chance(0.3) ? 2 : 0));
    }
    const event: TransactionEvent = { kind: 'transaction', atMs, cardRef: p.cardRef[card], message };
    if (this.pointOnPlace[place.index] === POINT_BREACHED) this.maybeCapture(this.breachAt.get(place.index)!, card, terminalId, atMs, event);
    if (approved && rng.chance(this.options.labels.falseReportRate)) {
      this.stats.falseReports++;
      const reportedAt = atMs + reportDelayMs(rng, this.options.labels.customerDelayMedianDays, this.options.labels.delaySigma);
      this.pending.push({ type: 'label', atMs: reportedAt, card, message: this.labelMessage(card, message.transactionId, reportedAt, 'customer') });
    }
    return this.count(event);
  }

  /**
   * A place from `bucket` by popularity, never one that is fraudulent right now: all of a fraudulent point's
   * transactions during its window are its own fraud. `fallback` (a wider bucket) serves when `bucket` holds nothing else.
   */
  private pickFrom(bucket: Bucket, fallback: Bucket = bucket): Place {
    const places = this.population.places;
    for (let attempt = 0; attempt < 4; attempt++) {
      const from = attempt < 2 ? bucket : fallback;
      const place = places[from.places[this.rng.weighted(from.popularity)]];
      if (this.pointOnPlace[place.index] !== POINT_FRAUDULENT) return place;
    }
    // Fraudulent points are a handful among thousands: a scan finds an ordinary one at once.
    for (const index of fallback.places) if (this.pointOnPlace[index] !== POINT_FRAUDULENT) return places[index];
    throw new NonRetriableError('every place in a city is fraudulent: the population is too small for the fraudulent-merchant rate');
  }

  /** Nobody but the fraud itself uses a point while it is fraudulent: all of its transactions then are fraud. */
  private usable(place: Place): boolean {
    return this.pointOnPlace[place.index] !== POINT_FRAUDULENT;
  }

  private pickShop(customer: number, city: number): Place {
    const rng = this.rng;
    const p = this.population;
    if (city === p.homeCity[customer] && !rng.chance(p.newMerchantShare[customer])) {
      const base = customer * MAX_FAVOURITES;
      const place = p.places[p.favourites[base + rng.weighted(p.favouriteWeights, base, base + p.favouriteCount[customer])]];
      if (this.usable(place)) return place;
    }
    const categories = p.posCategories.length;
    const category = p.posCategories[rng.weighted(p.posPreference, customer * categories, (customer + 1) * categories)];
    const bucket = this.index.posBucket(city, category) ?? this.index.anyPosInCity(city);
    return this.pickFrom(bucket, this.index.anyPosInCity(city));
  }

  private pickOnline(customer: number): Place {
    const rng = this.rng;
    const p = this.population;
    if (!rng.chance(p.newMerchantShare[customer])) {
      const base = customer * MAX_ECOM_FAVOURITES;
      const place = p.places[p.ecomFavourites[base + rng.weighted(p.ecomFavouriteWeights, base, base + p.ecomFavouriteCount[customer])]];
      if (this.usable(place)) return place;
    }
    const categories = p.ecomCategories.length;
    const category = p.ecomCategories[rng.weighted(p.ecomPreference, customer * categories, (customer + 1) * categories)];
    return this.pickFrom(this.index.ecomByCategory(category) ?? this.index.ecom, this.index.ecom);
  }

  /** Virtual cards only online; online shoppers prefer one when they have it. */
  private pickCard(customer: number, online: boolean): number {
    const p = this.population;
    const first = p.firstCard[customer];
    const count = p.cardCount[customer];
    if (count === 1) return first;
    if (online) {
      for (let k = 0; k < count; k++) if (p.cardVirtual[first + k] === 1 && this.rng.chance(0.6)) return first + k;
      return first + this.rng.int(0, count - 1);
    }
    const second = first + 1;
    return p.cardVirtual[second] === 0 && this.rng.chance(0.25) ? second : first;
  }

  private maybeCapture(breach: Breach, card: number, terminalId: string | undefined, atMs: number, event: TransactionEvent): void {
    const { point } = breach;
    if (atMs < point.fromMs || atMs >= point.untilMs) return;
    if (point.terminalId !== undefined && point.terminalId !== terminalId) return;
    if (breach.captured.has(card)) return;
    const { captureShare, exploitShare, exploitDelayMedianDays, exploitDelaySigma } = this.options.compromise;
    if (!this.rng.chance(captureShare)) return;
    breach.captured.add(card);
    // Its last theft ends the breach: the truth's window is when cards were actually stolen.
    if (breach.captured.size >= breach.maxCards) point.untilMs = atMs + MINUTE_MS;
    event.exposedTo = point.pointId;
    this.stats.cardsExposed++;
    if (this.rng.chance(exploitShare)) {
      this.stats.cardsScheduledForExploit++;
      const delay = Math.max(DAY_MS, this.rng.logNormal(exploitDelayMedianDays * DAY_MS, exploitDelaySigma));
      this.pending.push({ type: 'exploit', atMs: atMs + Math.round(delay / SECOND_MS) * SECOND_MS, card, breach });
    }
  }

  // ---------------------------------------------------------------- fraud

  private newCase(prefix: string): string {
    return `${prefix}-${++this.caseSerial}`;
  }

  private pushFraud(atMs: number, spec: FraudSpec): void {
    this.pending.push({ type: 'fraud', atMs, spec });
  }

  /** Bursts of tiny online authorisations, many declined, then (if one went through) a large purchase. */
  private expandCardTesting(card: number, atMs: number): void {
    const rng = this.rng;
    const caseId = this.newCase('ct');
    const truth: FraudTruth = { scenario: 'card-testing', caseId, caseStartMs: atMs };
    const deviceId = this.fraudsterDevice(caseId);
    const ip = this.ip(hashString(caseId));
    const testSites = [this.pickFrom(this.index.riskyEcom), this.pickFrom(this.index.foreignEcom)];
    let cursor = atMs;
    let anyApproved = false;
    for (let n = rng.int(4, 25); n > 0; n--) {
      const approved = !rng.chance(0.6);
      anyApproved ||= approved;
      const amount = rng.chance(0.4) ? rng.int(1, 10) * 100 : rng.int(10, 1000);
      this.pushFraud(cursor, { card, place: rng.pick(testSites), amount, approved, channel: 'ecom', entryMode: 'ecom', cardPresent: false, deviceId, ip, truth });
      cursor += rng.int(5, 120) * SECOND_MS;
    }
    if (!anyApproved) return;
    cursor += rng.int(10, 360) * MINUTE_MS;
    for (let n = rng.int(1, 2); n > 0; n--) {
      const place = rng.chance(0.5) ? this.pickFrom(this.index.riskyEcom) : this.pickFrom(this.index.ecomByCategory(ECOM_CATEGORIES.find((c) => c.mcc === '5732')!) ?? this.index.foreignEcom, this.index.foreignEcom);
      this.pushFraud(cursor, { card, place, amount: roundTenge(rng.logNormal(150_000, 0.5)), approved: rng.chance(0.85), channel: 'ecom', entryMode: 'ecom', cardPresent: false, deviceId, ip, truth });
      cursor += rng.int(2, 30) * MINUTE_MS;
    }
  }

  /** A taken-over card: for days, amounts several times the owner's usual, in categories and places the owner never uses. */
  private expandTakeover(card: number, atMs: number): void {
    const rng = this.rng;
    const p = this.population;
    const customer = p.cardCustomer[card];
    const caseId = this.newCase('ato');
    const truth: FraudTruth = { scenario: 'account-takeover', caseId, caseStartMs: atMs };
    const deviceId = this.fraudsterDevice(caseId);
    const ip = this.ip(hashString(caseId));
    const usualAmount = 7000 * p.amountScale[customer];
    const physical = p.cardVirtual[card] === 0;
    let first = true;
    for (let d = 0, days = rng.int(2, 6); d < days; d++) {
      for (let n = rng.int(1, 4); n > 0; n--) {
        const at = first ? atMs : atMs + d * DAY_MS + rng.int(0, 16 * 3600) * SECOND_MS;
        first = false;
        const amount = roundTenge(usualAmount * rng.uniform(3, 10) * rng.logNormal(1, 0.3));
        const approved = rng.chance(0.9);
        if (physical && rng.chance(0.2)) {
          // A stolen wallet: tapped in shops of the owner's city that the owner never visits.
          const place = this.unfamiliarShop(customer);
          this.pushFraud(at, { card, place, terminalId: place.terminalIds[0], amount, approved, channel: 'pos', entryMode: 'contactless', cardPresent: true, truth });
        } else {
          const place = rng.chance(0.5) ? this.pickFrom(this.index.riskyEcom) : this.unfamiliarOnline(customer);
          this.pushFraud(at, { card, place, amount, approved, channel: 'ecom', entryMode: 'ecom', cardPresent: false, deviceId, ip, truth });
        }
      }
    }
  }

  /** A shop selling resaleable goods in the customer's city, not among the customer's favourites. */
  private unfamiliarShop(customer: number): Place {
    const p = this.population;
    const home = p.homeCity[customer];
    const base = customer * MAX_FAVOURITES;
    const favourites = p.favourites.subarray(base, base + p.favouriteCount[customer]);
    let place: Place | undefined;
    for (let attempt = 0; attempt < 6 && (place === undefined || favourites.includes(place.index)); attempt++) {
      const bucket = attempt < 4 ? this.index.posBucket(home, this.rng.pick(BIG_PURCHASE_CATEGORIES)) : this.index.anyPosInCity(home);
      if (bucket !== undefined) place = this.pickFrom(bucket, this.index.anyPosInCity(home));
    }
    return place ?? this.pickFrom(this.index.anyPosInCity(home));
  }

  /** A foreign online shop that is not among the customer's usual ones: a takeover shows as a change of habits. */
  private unfamiliarOnline(customer: number): Place {
    const p = this.population;
    const base = customer * MAX_ECOM_FAVOURITES;
    const favourites = p.ecomFavourites.subarray(base, base + p.ecomFavouriteCount[customer]);
    let place = this.pickFrom(this.index.foreignEcom);
    for (let attempt = 0; attempt < 4 && favourites.includes(place.index); attempt++) place = this.pickFrom(this.index.foreignEcom);
    return place;
  }

  /**
   * A cloned card: the real one is used where its owner is (the anchor, a genuine transaction), and minutes later
   * the clone is used in person hundreds of kilometres away.
   */
  private expandCloning(card: number, atMs: number): void {
    const rng = this.rng;
    const p = this.population;
    const customer = p.cardCustomer[card];
    const physicalCard = p.cardVirtual[card] === 1 ? p.firstCard[customer] : card;
    const here = p.cities[this.currentCity(customer)];
    const far = this.distantCity(here);
    const caseId = this.newCase('clone');
    let cursor = atMs + rng.int(5, 90) * MINUTE_MS;
    const truth: FraudTruth = { scenario: 'cloned-card', caseId, caseStartMs: cursor };
    this.pending.push({ type: 'anchor', atMs, card: physicalCard });
    for (let n = rng.int(1, 3); n > 0; n--) {
      this.pushClonedUse(physicalCard, far, cursor, truth);
      cursor += rng.int(5, 60) * MINUTE_MS;
    }
  }

  private distantCity(from: City): number {
    const p = this.population;
    for (let attempt = 0; attempt < 20; attempt++) {
      const foreign = this.rng.chance(0.5);
      const city = foreign ? p.domesticCityCount + this.rng.weighted(this.foreignCityWeights) : this.rng.weighted(this.domesticCityWeights);
      if (distanceKm(from, p.cities[city]) >= CLONE_MIN_DISTANCE_KM) return city;
    }
    return p.domesticCityCount; // the first foreign city (Istanbul) is far from all of Kazakhstan
  }

  /** A counterfeit card in person: ATM cash-outs or resaleable goods, mostly read from the magnetic stripe. */
  private pushClonedUse(card: number, city: number, atMs: number, truth: FraudTruth): void {
    const rng = this.rng;
    if (rng.chance(0.55)) {
      const place = this.pickFrom(this.index.atmsInCity(city));
      const amount = roundWithdrawal(rng.logNormal(80_000, 0.4));
      this.pushFraud(atMs, { card, place, terminalId: place.terminalIds[0], amount, approved: rng.chance(0.85), channel: 'atm', entryMode: rng.chance(0.8) ? 'magstripe' : 'chip', cardPresent: true, truth });
    } else {
      const category = rng.pick(BIG_PURCHASE_CATEGORIES);
      const place = this.pickFrom(this.index.posBucket(city, category) ?? this.index.anyPosInCity(city), this.index.anyPosInCity(city));
      const amount = roundTenge(rng.logNormal(120_000, 0.6));
      this.pushFraud(atMs, { card, place, terminalId: rng.pick(place.terminalIds), amount, approved: rng.chance(0.85), channel: 'pos', entryMode: rng.chance(0.7) ? 'magstripe' : 'chip', cardPresent: true, truth });
    }
  }

  /** A card stolen at a breached point, used elsewhere: cloned in person for skimmed cards, online for web-skimmed ones. */
  private expandExploit(card: number, breach: Breach, atMs: number): void {
    const rng = this.rng;
    const p = this.population;
    const caseId = this.newCase('poc');
    const truth: FraudTruth = { scenario: 'point-of-compromise', caseId, caseStartMs: atMs, pointId: breach.point.pointId };
    let cursor = atMs;
    if (breach.place.kind === 'ecom' || rng.chance(0.15)) {
      const deviceId = this.fraudsterDevice(caseId);
      const ip = this.ip(hashString(caseId));
      for (let n = rng.int(1, 5); n > 0; n--) {
        const place = rng.chance(0.4) ? this.pickFrom(this.index.riskyEcom) : this.pickFrom(this.index.foreignEcom);
        this.pushFraud(cursor, { card, place, amount: roundTenge(rng.logNormal(40_000, 0.8)), approved: rng.chance(0.9), channel: 'ecom', entryMode: 'ecom', cardPresent: false, deviceId, ip, truth });
        cursor += rng.int(10, 600) * MINUTE_MS;
      }
      return;
    }
    const owner = p.cities[p.homeCity[p.cardCustomer[card]]];
    const city = rng.chance(0.5) ? this.distantCity(owner) : p.domesticCityCount + rng.weighted(this.foreignCityWeights);
    for (let n = rng.int(1, 4); n > 0; n--) {
      this.pushClonedUse(card, city, cursor, truth);
      cursor += rng.int(5, 180) * MINUTE_MS;
    }
  }

  /** Today's transactions at a fraudulent point: stolen cards from all over the population, each its own case. */
  private planRogueDay(rogue: RoguePoint, day: Day): void {
    const from = Math.max(day.startMs, rogue.point.fromMs);
    const until = Math.min(day.endMs, rogue.point.untilMs);
    if (from >= until) return;
    const rng = this.rng;
    const { place } = rogue;
    const count = rng.poisson((rogue.dailyTransactions * (until - from)) / DAY_MS);
    for (let n = 0; n < count; n++) {
      const atMs = from + Math.floor((rng.next() * (until - from)) / SECOND_MS) * SECOND_MS;
      const card = rng.int(0, this.population.cardCountTotal - 1);
      const truth: FraudTruth = { scenario: 'fraudulent-merchant', caseId: this.newCase('rogue'), caseStartMs: atMs, pointId: rogue.point.pointId };
      const amount = roundTenge(rng.logNormal(place.category.medianAmount * 2.5, 0.6));
      const approved = rng.chance(0.9);
      if (place.kind === 'ecom') {
        const deviceId = this.fraudsterDevice(rogue.point.pointId + (n % 3));
        this.pushFraud(atMs, { card, place, amount, approved, channel: 'ecom', entryMode: 'ecom', cardPresent: false, deviceId, ip: this.ip(hashString(deviceId)), truth });
      } else {
        // Key-entered or swiped stolen card data at a colluding merchant's terminal.
        const keyed = rng.chance(0.4);
        this.pushFraud(atMs, { card, place, terminalId: place.terminalIds[0], amount, approved, channel: keyed ? 'moto' : 'pos', entryMode: keyed ? 'manual' : 'magstripe', cardPresent: !keyed, truth });
      }
    }
  }

  private fraud(spec: FraudSpec, atMs: number): TransactionEvent {
    const message = this.message(spec.card, spec.place, spec.terminalId, atMs, spec.amount, spec.approved, spec.channel, spec.entryMode, spec.cardPresent);
    if (spec.deviceId !== undefined) message.deviceId = spec.deviceId;
    if (spec.ip !== undefined) message.ip = spec.ip;
    const event: TransactionEvent = { kind: 'transaction', atMs, cardRef: this.population.cardRef[spec.card], message, truth: spec.truth };
    this.stats.fraudTransactions[spec.truth.scenario]++;
    // Only approved fraud costs anyone money, so only it is ever charged back or reported.
    if (spec.approved) {
      const report = decideCaseReport(this.options.seed, spec.truth.caseId, this.options.labels);
      if (report.reported) {
        const reportedAt = labelTimeMs(spec.truth.caseStartMs, report, atMs);
        this.pending.push({
          type: 'label',
          atMs: reportedAt,
          card: spec.card,
          message: this.labelMessage(spec.card, message.transactionId, reportedAt, report.source),
          caseId: spec.truth.caseId,
          caseStartMs: spec.truth.caseStartMs,
        });
      }
    }
    return this.count(event);
  }

  // ---------------------------------------------------------------- messages

  private message(card: number, place: Place, terminalId: string | undefined, atMs: number, amount: number, approved: boolean, channel: Channel, entryMode: EntryMode, cardPresent: boolean): TransactionMessage {
    const p = this.population;
    const customer = p.cardCustomer[card];
    const message: TransactionMessage = {
      transactionId: `${this.options.idPrefix}${String(++this.transactionSerial).padStart(9, '0')}`,
      timestamp: this.timestamps.format(atMs, utcOffsetAt(place.location, atMs)),
      pan: p.pan[card],
      amount,
      currency: 'KZT',
      accountId: p.accountId[customer],
      merchantId: place.merchantId,
    };
    if (terminalId !== undefined) message.terminalId = terminalId;
    message.mcc = place.category.mcc;
    message.country = place.location.country;
    if (place.kind !== 'ecom') {
      message.city = place.location.name;
      message.latitude = place.latitude;
      message.longitude = place.longitude;
    }
    message.channel = channel;
    message.entryMode = entryMode;
    message.cardPresent = cardPresent;
    message.approved = approved;
    return message;
  }

  private labelMessage(card: number, transactionId: string, reportedAtMs: number, source: NonNullable<LabelMessage['source']>): LabelMessage {
    return { transactionId, pan: this.population.pan[card], label: 'fraud', reportedAt: formatLocalTimestamp(reportedAtMs, HOME_OFFSET_MINUTES), source };
  }

  private labelEvent(item: Extract<Pending, { type: 'label' }>): LabelEvent {
    this.stats.labels++;
    const event: LabelEvent = { kind: 'label', atMs: item.atMs, cardRef: this.population.cardRef[item.card], message: item.message };
    if (item.caseId !== undefined) {
      event.caseId = item.caseId;
      event.caseStartMs = item.caseStartMs;
    }
    this.stats.firstEventMs ??= item.atMs;
    return event;
  }

  private count(event: TransactionEvent): TransactionEvent {
    this.stats.transactions++;
    if (event.message.approved === false) this.stats.declined++;
    this.stats.firstEventMs ??= event.atMs;
    this.stats.lastTransactionMs = event.atMs;
    return event;
  }

  private deviceId(customer: number, device: number): string {
    return `d-${((Math.imul(customer * 2 + device + 1, 0x9e3779b1) ^ this.deviceSalt) >>> 0).toString(16).padStart(8, '0')}`;
  }

  private fraudsterDevice(key: string): string {
    return `d-${((hashString(key) ^ this.deviceSalt) >>> 0).toString(16).padStart(8, '0')}`;
  }

  /** Addresses from the carrier-grade NAT range 100.64.0.0/10, where most Kazakh mobile shoppers appear. */
  private ip(key: number): string {
    const h = (Math.imul(key + 1, 0x85ebca6b) ^ this.deviceSalt) >>> 0;
    return `100.${64 + (h & 63)}.${(h >>> 6) & 255}.${1 + ((h >>> 14) % 254)}`;
  }
}
