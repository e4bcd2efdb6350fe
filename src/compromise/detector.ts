/**
 * Compromise detection, streaming: labels (and, as weaker evidence, the service's own block decisions) in,
 * `compromised-point` and `card-at-risk` alerts out, exposures for scoring and detected points for the rules'
 * lists. The same code runs in the service (Redis store, Kafka sink), the embedded mode and offline replays (memory
 * store, collecting sink).
 *
 * For each victim card: its first fraud f (earliest fraud-labelled transaction) and every point it used in the
 * look-back [f − L, f). For each point those victims touch: the scan statistic of statistics.ts over the victims'
 * visits and the point's own visit log; a point whose corrected tail is at or below the alarm threshold is flagged.
 * The other shape, fraud at the point itself, is the same scan over the point's fraud-labelled transactions against
 * all its transactions, at the bank's fraud rate.
 *
 * Effects are ordered so a crash anywhere redoes only what is missing: the publication is written first (what will be
 * published, decided once), then alerts are published (acknowledged), then cards are marked warned, then the finding
 * is stored and the publication ends. Every id is deterministic and a redo carries out the written publication, not
 * one recomputed from evidence that may have grown since, so an id is never republished with other content and no
 * card is warned twice once its mark is stored.
 */
import type { AlertMessage } from '../contract/schemas';
import type { CardLabel } from '../contract/transaction';
import type { AlertSink } from '../alerts/sinks';
import type { CardHistoryEntry, LabelOutcome } from '../state/store';
import type { Telemetry } from '../telemetry/events';
import { cardAtRiskAlert, compromisedPointAlert, compromisedPointAlertId, findingIdFor, type Finding } from './alerts';
import { poissonTail, scanWindows, surprise, type Marker, type ScanResult } from './statistics';
import { DAY_MS, dayOf, parsePointKey, pointsOf, visitorId, type CompromiseStore, type Exposure, type PointKey, type Publication, type VictimRecord } from './store';

export interface DetectorSettings {
  /** A victim's visits count within this long before its first fraud. */
  lookbackMs: number;
  /** Visits, victims and the base rates reach back this far from the newest evidence. */
  retentionMs: number;
  /** Longest breach window tried. */
  maxWindowMs: number;
  /** A finding needs at least this much victim weight (or fraud transactions) inside its window. */
  minVictims: number;
  /** Flag a point when its corrected tail is at or below this. */
  alarmPValue: number;
  /** …and it has at least this many times the victims expected. */
  minLift: number;
  /** Recommend reissuing the exposed cards when the corrected tail is at or below this; monitoring otherwise. */
  reissuePValue: number;
  /** Weight of a card the service blocked but nobody confirmed yet; 0 ignores block decisions. */
  suspectWeight: number;
  /** Fraud at the point needs at least this share of its transactions inside the window labelled fraud. */
  minFraudShare: number;
}

export const DEFAULT_DETECTOR_SETTINGS: Readonly<DetectorSettings> = {
  lookbackMs: 30 * DAY_MS,
  retentionMs: 60 * DAY_MS,
  maxWindowMs: 31 * DAY_MS,
  minVictims: 3,
  alarmPValue: 1e-5,
  minLift: 3,
  reissuePValue: 1e-9,
  suspectWeight: 0.5,
  minFraudShare: 0.2,
};

export interface DetectorDependencies {
  store: CompromiseStore;
  /** The card's recent transactions with their labels (FeatureStore.cardHistory). */
  history(cardToken: string): Promise<CardHistoryEntry[]>;
  alerts: AlertSink;
  telemetry: Telemetry;
  /** Wall clock for createdAt. */
  now(): number;
  settings: DetectorSettings;
  /** Called once a detected point is in its list, so this instance's rules see it without waiting for a refresh. */
  onListed?(list: string, id: string): void;
  /** Sees every evaluated point's best window, flagged or not (threshold studies in bench:compromise). */
  onCandidate?(finding: Finding): void;
}

export interface DetectionSummary {
  /** Points evaluated. */
  evaluated: number;
  /** Compromised-point alerts published (new findings and updates). */
  findings: AlertMessage[];
  /** Card-at-risk alerts published. */
  warnings: number;
  /** Labels that named a transaction the state does not know (or no longer keeps): never warn anyone. */
  ignored: number;
}

export interface Suspect {
  cardToken: string;
  eventTimeMs: number;
}

const HOUR_MS = 3_600_000;

/** How many times more victims than expected: concentration, where the p-value is also size. */
const liftOf = (finding: Finding) => finding.victims / Math.max(finding.expected, 1e-12);
const LIST_OF: Readonly<Record<string, string>> = { terminal: 'compromised_terminals', merchant: 'compromised_merchants' };
/** Cards warned per published batch: bounded messages and memory for a very large breach. */
const WARN_BATCH = 1000;

/** Terminals whose merchant this detector has seen in victims' visits (bounded: the oldest are forgotten). */
const MAX_TERMINALS_REMEMBERED = 100_000;

export class CompromiseDetector {
  /** terminal point → its merchant point, learned from victims' visits (a visit names both). */
  private readonly merchantOf = new Map<PointKey, PointKey>();
  private readonly terminalsOf = new Map<PointKey, Set<PointKey>>();

  constructor(private readonly deps: DetectorDependencies) {}

  private learnMerchant(points: readonly PointKey[]): void {
    const terminal = points.find((p) => p.startsWith('terminal:'));
    const merchant = points.find((p) => p.startsWith('merchant:'));
    if (terminal === undefined || merchant === undefined || this.merchantOf.get(terminal) === merchant) return;
    if (this.merchantOf.size >= MAX_TERMINALS_REMEMBERED) {
      const [oldest, itsMerchant] = this.merchantOf.entries().next().value as [PointKey, PointKey];
      this.merchantOf.delete(oldest);
      this.terminalsOf.get(itsMerchant)?.delete(oldest);
    }
    this.merchantOf.set(terminal, merchant);
    let terminals = this.terminalsOf.get(merchant);
    if (terminals === undefined) this.terminalsOf.set(merchant, (terminals = new Set()));
    terminals.add(terminal);
  }

  /** After the feature store recorded the labels (their outcomes tell which named a known transaction). */
  async onLabels(labels: readonly CardLabel[], outcomes: readonly LabelOutcome[]): Promise<DetectionSummary> {
    const cards = new Set<string>();
    let ignored = 0;
    let clock = Number.NEGATIVE_INFINITY;
    labels.forEach((label, i) => {
      if (outcomes[i]?.outcome === 'unknown_transaction') {
        ignored++;
        this.deps.telemetry.emit('compromise.label_ignored', { reason: 'unknown_transaction' });
        return;
      }
      cards.add(label.cardToken);
      clock = Math.max(clock, label.reportedAtMs);
    });
    const touched = { victims: new Set<PointKey>(), frauds: new Set<PointKey>() };
    for (const token of cards) await this.refreshVictim(token, touched);
    const summary = cards.size === 0 ? { evaluated: 0, findings: [], warnings: 0, ignored } : { ...(await this.evaluate(touched, clock)), ignored };
    this.deps.telemetry.emit('compromise.labels', { labels: labels.length, ignored, findings: summary.findings.length, warnings: summary.warnings });
    return summary;
  }

  /** Cards the service itself blocked: victims of `suspectWeight` until a label confirms or clears them. */
  async onSuspects(suspects: readonly Suspect[]): Promise<DetectionSummary> {
    const empty = { evaluated: 0, findings: [], warnings: 0, ignored: 0 };
    if (this.deps.settings.suspectWeight <= 0 || suspects.length === 0) return empty;
    const touched = { victims: new Set<PointKey>(), frauds: new Set<PointKey>() };
    let clock = Number.NEGATIVE_INFINITY;
    for (const suspect of suspects) {
      const previous = await this.deps.store.victim(suspect.cardToken);
      if (previous !== undefined && (previous.weight >= 1 || previous.firstFraudMs <= suspect.eventTimeMs)) continue;
      const history = await this.deps.history(suspect.cardToken);
      // A label decides once it exists: a card with any label is not the detector's guess any more.
      if (history.some((h) => h.label !== undefined)) continue;
      const record = await this.victimRecord(suspect.cardToken, suspect.eventTimeMs, this.deps.settings.suspectWeight);
      await this.deps.store.putVictim(record);
      for (const p of [...record.points, ...(previous?.points ?? [])]) touched.victims.add(p.point);
      clock = Math.max(clock, suspect.eventTimeMs);
    }
    if (touched.victims.size === 0) return empty;
    return { ...(await this.evaluate(touched, clock)), ignored: 0 };
  }

  /** The card as a victim: every point it used in the look-back before its first fraud, from its own visit log. */
  private async victimRecord(cardToken: string, firstFraudMs: number, weight: number): Promise<VictimRecord> {
    const { accountId, visits } = await this.deps.store.cardVisits(cardToken, firstFraudMs - this.deps.settings.lookbackMs, firstFraudMs);
    const byPoint = new Map<PointKey, number[]>();
    for (const visit of visits) {
      this.learnMerchant(visit.points);
      for (const point of visit.points) {
        const times = byPoint.get(point);
        if (times === undefined) byPoint.set(point, [visit.atMs]);
        else times.push(visit.atMs);
      }
    }
    return {
      cardToken,
      ...(accountId !== undefined ? { accountId } : {}),
      firstFraudMs,
      weight,
      points: [...byPoint].map(([point, visitsMs]) => ({ point, visitsMs: visitsMs.sort((a, b) => a - b) })),
    };
  }

  /**
   * Recomputes a labelled card's victim record from its labels (they can arrive late, out of order, or change): the
   * first fraud is its earliest fraud-labelled transaction. A card all of whose fraud happened at one merchant (or
   * terminal) also counts as fraud at that point; a stolen card used at many places says nothing about any of them.
   */
  private async refreshVictim(cardToken: string, touched: { victims: Set<PointKey>; frauds: Set<PointKey> }): Promise<void> {
    const { store } = this.deps;
    const history = await this.deps.history(cardToken);
    const frauds = history.filter((h) => h.label === 'fraud');
    const previous = await store.victim(cardToken);
    for (const p of previous?.points ?? []) touched.victims.add(p.point);
    if (frauds.length === 0) {
      if (previous !== undefined) await store.removeVictim(cardToken);
      return;
    }
    const firstFraudMs = Math.min(...frauds.map((f) => f.atMs));
    const record = await this.victimRecord(cardToken, firstFraudMs, 1);
    await store.putVictim(record);
    for (const p of record.points) touched.victims.add(p.point);
    for (const point of new Set(frauds.flatMap((f) => pointsOf(f)))) {
      if (!frauds.every((f) => pointsOf(f).includes(point))) continue;
      await store.putFrauds(
        point,
        frauds.map((f) => ({ transaction: f.fingerprint, card: visitorId(cardToken), atMs: f.atMs })),
      );
      touched.frauds.add(point);
    }
  }

  private async evaluate(touched: { victims: Set<PointKey>; frauds: Set<PointKey> }, clock: number): Promise<Omit<DetectionSummary, 'ignored'>> {
    const { store, settings } = this.deps;
    const from = clock - settings.retentionMs;
    const [active, victimWeight] = await Promise.all([store.activeCards(dayOf(from), dayOf(clock)), store.victimWeight(from, clock + 1)]);
    // A card seen at a point counts as its victim only when its first fraud comes within the look-back after the visit:
    // the chance of that for an ordinary card is the share of cards defrauded over the retention, scaled to the
    // look-back (victims over 60 days / active, times 30/60). At least one victim and one card, so a young deployment's
    // first victim does not make the base rate 0 (every point suspect).
    const victimRate = (Math.max(1, victimWeight) / Math.max(1, active)) * Math.min(1, settings.lookbackMs / settings.retentionMs);
    const started = performance.now();
    const interrupted = await this.finishInterrupted();
    const summary = { evaluated: 0, findings: interrupted.alerts, warnings: interrupted.warnings };
    // Every touched point first, then the flagged ones strongest first: each finding claims the victims inside its
    // window, and a weaker point those victims also visited (the shop next to the skimmed ATM) is judged again
    // without them — a victim is explained once (BreachRadar's alternation, greedily).
    const points = [...new Set([...touched.victims, ...touched.frauds])];
    const flagged: Finding[] = [];
    for (const point of points) {
      summary.evaluated++;
      const candidates = await Promise.all([
        touched.victims.has(point) ? this.commonPoint(point, victimRate, clock) : undefined,
        touched.frauds.has(point) ? this.fraudAtPoint(point, victimRate, clock) : undefined,
      ]);
      for (const candidate of candidates) if (candidate !== undefined) this.deps.onCandidate?.(candidate);
      const best = candidates.filter((f): f is Finding => f !== undefined && this.passes(f)).sort((a, b) => a.pValue - b.pValue)[0];
      if (best !== undefined) flagged.push(best);
    }
    // Terminals before merchants: a merchant one of its terminals explains is not flagged whole (a bank's ATM network
    // with one skimmed ATM has the smaller p-value, from more victims, but the ATM has the lift).
    flagged.sort((a, b) => Number(a.point.startsWith('merchant:')) - Number(b.point.startsWith('merchant:')) || a.pValue - b.pValue);
    for (let finding of flagged) {
      if (finding.shape === 'common-point') {
        const rejudged = await this.commonPoint(finding.point, victimRate, clock, finding.pValue);
        if (rejudged === undefined || !this.passes(rejudged)) continue;
        finding = rejudged;
      }
      if (await this.explainedByTerminal(finding.point, finding)) continue;
      const published = await this.publish(finding);
      if (published.alert !== undefined) summary.findings.push(published.alert);
      summary.warnings += published.warnings;
    }
    this.deps.telemetry.emit('compromise.evaluated', { points: summary.evaluated, seconds: (performance.now() - started) / 1000 });
    return summary;
  }

  /**
   * Significant and concentrated: a point with thousands of visitors reaches any p-value with a modest excess of
   * victims (twice its share), which is how a big place near a breach looks, not a breach; its warnings would go to
   * thousands of cards.
   */
  private passes(finding: Finding): boolean {
    return finding.pValue <= this.deps.settings.alarmPValue && liftOf(finding) >= this.deps.settings.minLift;
  }

  /**
   * A skimmer on one terminal also makes its merchant look compromised (the victims were all at the merchant too),
   * but warning every card of every terminal there would warn many that were never exposed. A merchant finding is
   * dropped when one of its terminals has a finding over the same time that is as strong or far more concentrated.
   */
  private async explainedByTerminal(point: PointKey, finding: Finding): Promise<boolean> {
    if (!point.startsWith('merchant:')) return false;
    const terminals = [...(this.terminalsOf.get(point) ?? [])];
    for (const terminal of terminals) {
      const found = await this.deps.store.finding(terminal);
      if (found === undefined || found.fromMs > finding.untilMs || found.untilMs < finding.fromMs) continue;
      // As strong, or far more concentrated: a breached ATM in a bank's network of hundreds gives the network a
      // smaller p-value (more victims) but a fraction of the terminal's lift.
      if (found.pValue <= finding.pValue || found.lift >= 1.5 * liftOf(finding)) return true;
    }
    // Not flagged yet, but where the victims were: when one terminal holds half the merchant's victims in the window
    // and at least twice its share of the merchant's traffic, the leak is that terminal's (it is judged on its own).
    if (terminals.length < 2) return false;
    const inWindow = (visits: number[]) => visits.some((t) => t >= finding.fromMs && t < finding.untilMs);
    const merchantVictims = new Set((await this.deps.store.victimsAt(point)).filter((v) => inWindow(v.visitsMs)).map((v) => v.cardToken));
    if (merchantVictims.size === 0) return false;
    const days = [dayOf(finding.fromMs), dayOf(finding.untilMs)] as const;
    const merchantTraffic = (await this.deps.store.dailyVisits(point, ...days)).reduce((a, b) => a + b, 0);
    for (const terminal of terminals) {
      const victims = (await this.deps.store.victimsAt(terminal)).filter((v) => merchantVictims.has(v.cardToken) && inWindow(v.visitsMs)).length;
      if (victims < 0.5 * merchantVictims.size) continue;
      const traffic = (await this.deps.store.dailyVisits(terminal, ...days)).reduce((a, b) => a + b, 0);
      if (victims / merchantVictims.size >= 2 * (traffic / Math.max(1, merchantTraffic))) return true;
    }
    return false;
  }

  /**
   * The point's best window over its victims' visits. With `strongerThan`, victims claimed by another point's finding
   * at least that strong are left out: they are explained there.
   */
  private async commonPoint(point: PointKey, baseRate: number, clock: number, strongerThan?: number): Promise<Finding | undefined> {
    const { store, settings } = this.deps;
    const since = clock - settings.retentionMs;
    const victims = await store.victimsAt(point);
    const claims = strongerThan === undefined ? new Map() : await store.claims(victims.map((v) => v.cardToken));
    const markers: Marker[] = [];
    for (const victim of victims) {
      const claim = claims.get(victim.cardToken);
      if (claim !== undefined && claim.point !== point && claim.pValue <= strongerThan!) continue;
      const id = victim.accountId ?? victim.cardToken;
      for (const atMs of victim.visitsMs) if (atMs >= since) markers.push({ id, atMs, weight: victim.weight });
    }
    const result = await this.scan(point, markers, baseRate, false);
    return result && this.finding(point, 'common-point', result, clock);
  }

  /**
   * Fraud at the point itself: distinct cards defrauded there against the distinct cards that used it, at the base
   * rate of victims (a card is far less likely to be defrauded at one given point than at all, so this errs on the
   * side of not flagging), and only when the defrauded cards are a real share of the point's cards: one card tested
   * ten times at a big shop is card testing, not a fraudulent shop.
   */
  private async fraudAtPoint(point: PointKey, baseRate: number, clock: number): Promise<Finding | undefined> {
    const since = clock - this.deps.settings.retentionMs;
    const markers: Marker[] = (await this.deps.store.fraudsAt(point)).filter((f) => f.atMs >= since).map((f) => ({ id: f.card, atMs: f.atMs, weight: 1 }));
    const result = await this.scan(point, markers, baseRate, false);
    if (result === undefined || result.markers < this.deps.settings.minFraudShare * result.traffic) return undefined;
    return this.finding(point, 'fraud-at-point', result, clock);
  }

  /**
   * The scan of statistics.ts, after a screen that skips loading the visit log when no window can pass: for each
   * window of whole days between the markers' days, a lower bound of its traffic is half the visits of its busiest
   * day (a card rarely comes more than twice a day), and the most optimistic tail that gives is already too big.
   */
  private async scan(point: PointKey, markers: Marker[], baseRate: number, countSightings: boolean): Promise<ScanResult | undefined> {
    const { store, settings } = this.deps;
    if (markers.length === 0) return undefined;
    const weights = new Map<string, number>();
    for (const m of markers) weights.set(m.id, Math.max(weights.get(m.id) ?? 0, m.weight));
    let total = 0;
    for (const w of weights.values()) total += w;
    if (total < settings.minVictims) return undefined;
    const first = Math.min(...markers.map((m) => m.atMs));
    const last = Math.max(...markers.map((m) => m.atMs));
    const options = { minMarkers: settings.minVictims, maxWindowMs: settings.maxWindowMs, baseRate, countSightings };
    if (!(await this.mayPass(point, markers, options, dayOf(first), dayOf(last)))) return undefined;
    const visits = await store.visitsAt(point, first, last + HOUR_MS);
    const sightings = countSightings ? visits.map((v, i) => ({ id: String(i), atMs: v.atMs })) : visits.map((v) => ({ id: v.card, atMs: v.atMs }));
    return scanWindows(markers, sightings, options);
  }

  private async mayPass(point: PointKey, markers: Marker[], options: { minMarkers: number; maxWindowMs: number; baseRate: number; countSightings: boolean }, firstDay: number, lastDay: number): Promise<boolean> {
    const daily = await this.deps.store.dailyVisits(point, firstDay, lastDay);
    const days = lastDay - firstDay + 1;
    // Victim weight per day, each victim counted on each day it came.
    const perDay = new Map<number, Map<string, number>>();
    for (const m of markers) {
      const d = dayOf(m.atMs) - firstDay;
      let ids = perDay.get(d);
      if (ids === undefined) perDay.set(d, (ids = new Map()));
      ids.set(m.id, m.weight);
    }
    const maxDays = Math.ceil(options.maxWindowMs / DAY_MS) + 1;
    let tried = 0;
    let bestTail = 1;
    for (let a = 0; a < days; a++) {
      if (!perDay.has(a)) continue;
      const inside = new Map<string, number>();
      let busiest = 0;
      for (let b = a; b < days && b - a < maxDays; b++) {
        busiest = Math.max(busiest, daily[b] ?? 0);
        for (const [id, w] of perDay.get(b) ?? []) inside.set(id, w);
        if (!perDay.has(b)) continue;
        let k = 0;
        for (const w of inside.values()) k += w;
        if (k < options.minMarkers) continue;
        tried++;
        const low = Math.max(Math.ceil(k), options.countSightings ? busiest : Math.floor(busiest / 2));
        bestTail = Math.min(bestTail, poissonTail(Math.floor(k + 1e-9), low * options.baseRate));
      }
    }
    // Day windows are fewer than the scan's hour windows, so the scan's correction is at least this one's.
    return tried > 0 && bestTail * tried <= this.deps.settings.alarmPValue;
  }

  private finding(point: PointKey, shape: Finding['shape'], result: ScanResult, clock: number): Finding {
    return {
      point,
      shape,
      fromMs: result.fromMs,
      untilMs: result.untilMs,
      victims: Math.round(result.markers * 100) / 100,
      visitors: result.traffic,
      expected: result.expected,
      pValue: result.correctedTail,
      raisedAtMs: clock,
    };
  }

  /** Publishes a finding that is new or grew, then warns the exposed cards not warned yet; returns what it published. */
  private async publish(found: Finding): Promise<{ alert?: AlertMessage; warnings: number }> {
    const { store, settings } = this.deps;
    const finding: Finding = { ...found };
    const previous = await store.finding(finding.point);
    // An earlier, wider window stays: new evidence may move the best window, but the exposed cards stay exposed.
    if (previous !== undefined) {
      finding.fromMs = Math.min(finding.fromMs, previous.fromMs);
      finding.untilMs = Math.max(finding.untilMs, previous.untilMs);
    }
    // One alert per (point, window): more victims inside the same window change no card's exposure, and an id is
    // never published again with other content. A window that grew is a new alert superseding the last one.
    const alertId = compromisedPointAlertId(finding.point, finding.fromMs, finding.untilMs);
    if (previous !== undefined && previous.alertId === alertId) {
      // Nothing to publish, but the stronger evidence is remembered: it decides whether the point explains its merchant,
      // and the victims that arrived since claim at its strength (a weaker point they also visited, now with as many
      // victims, must still be judged without them).
      if (finding.pValue < previous.pValue) {
        await store.putFinding(finding.point, { ...previous, pValue: finding.pValue, lift: liftOf(finding), victims: finding.victims });
        await this.claimVictims(finding);
      }
      return { warnings: 0 };
    }
    const publication: Publication = {
      finding,
      findingId: previous?.findingId ?? findingIdFor(finding.point, finding.fromMs),
      revision: previous === undefined ? 1 : previous.revision + 1,
      ...(previous !== undefined ? { supersedes: previous.alertId } : {}),
      // Reissue only for a breach with strong evidence; fraud at the point itself says less about the other cards there.
      recommendation: finding.shape === 'common-point' && finding.pValue <= settings.reissuePValue ? 'reissue' : 'monitor',
    };
    await store.beginPublication(publication);
    return this.carryOut(publication);
  }

  /** Publications a crash interrupted, carried out as they were decided (before anything newer is published). */
  private async finishInterrupted(): Promise<{ alerts: AlertMessage[]; warnings: number }> {
    const done = { alerts: [] as AlertMessage[], warnings: 0 };
    for (const publication of await this.deps.store.unfinishedPublications()) {
      const { alert, warnings } = await this.carryOut(publication);
      done.alerts.push(alert);
      done.warnings += warnings;
    }
    return done;
  }

  /**
   * The point's alert, then the exposed cards' warnings (marked as they go), then the lists, the claims and the
   * finding, and the publication ends: every step is idempotent and every alert's content follows from the
   * publication alone, so a redo after a crash anywhere republishes identical alerts.
   */
  private async carryOut(publication: Publication): Promise<{ alert: AlertMessage; warnings: number }> {
    const { store, telemetry } = this.deps;
    const { finding, findingId, revision, recommendation } = publication;
    const pointAlert = compromisedPointAlert({ ...publication, createdAtMs: this.deps.now() });
    await this.deps.alerts.publish([pointAlert]);
    if (revision === 1) telemetry.emit('compromise.point_flagged', { shape: finding.shape, kind: parsePointKey(finding.point).kind, latencySeconds: Math.max(0, finding.raisedAtMs - finding.fromMs) / 1000 });

    // Every card seen at the point inside the window, first visit there, less the cards already confirmed as fraud.
    const visits = await store.visitsAt(finding.point, finding.fromMs, finding.untilMs);
    const firstVisit = new Map<string, number>();
    for (const v of visits) if (!firstVisit.has(v.card) || v.atMs < firstVisit.get(v.card)!) firstVisit.set(v.card, v.atMs);
    const tokens = await store.cardTokens([...firstVisit.keys()]);
    const exposed = [...tokens.values()];
    const victims = await store.confirmedVictims(exposed);
    const candidates = await store.unwarned(finding.point, exposed.filter((t) => !victims.has(t)));
    const createdAtMs = this.deps.now();
    let warnings = 0;
    for (let i = 0; i < candidates.length; i += WARN_BATCH) {
      const batch = candidates.slice(i, i + WARN_BATCH);
      const exposures: Exposure[] = batch.map((cardToken) => ({
        cardToken,
        point: finding.point,
        exposedAtMs: firstVisit.get(visitorId(cardToken))!,
        raisedAtMs: finding.raisedAtMs,
        evidence: surprise(finding.pValue),
        recommendation,
      }));
      await this.deps.alerts.publish(
        exposures.map((e) => cardAtRiskAlert({ cardToken: e.cardToken, finding, findingId, exposedAtMs: e.exposedAtMs, recommendation, createdAtMs })),
      );
      await store.putExposures(exposures);
      await store.markWarned(finding.point, batch);
      warnings += batch.length;
    }
    if (warnings > 0) telemetry.emit('compromise.cards_warned', { count: warnings, recommendation });
    const { kind, id } = parsePointKey(finding.point);
    await store.addToList(LIST_OF[kind], id);
    this.deps.onListed?.(LIST_OF[kind], id);
    await this.claimVictims(finding);
    await store.putFinding(finding.point, {
      pValue: finding.pValue,
      lift: liftOf(finding),
      findingId,
      alertId: pointAlert.alertId,
      revision,
      shape: finding.shape,
      fromMs: finding.fromMs,
      untilMs: finding.untilMs,
      victims: finding.victims,
      raisedAtMs: finding.raisedAtMs,
    });
    await store.endPublication(finding.point);
    return { alert: pointAlert, warnings };
  }

  /** The victims inside the window are this finding's: weaker points they also visited are judged without them. */
  private async claimVictims(finding: Finding): Promise<void> {
    const victims = await this.deps.store.victimsAt(finding.point);
    const claimed = victims.filter((v) => v.visitsMs.some((t) => t >= finding.fromMs && t < finding.untilMs)).map((v) => v.cardToken);
    await this.deps.store.claim(finding.point, finding.pValue, claimed);
  }
}
