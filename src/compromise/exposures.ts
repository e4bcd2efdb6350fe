/**
 * What scoring knows of compromise detection: the cards warned so far, in memory, so the transaction path reads
 * them without a Redis round trip. Every instance follows the store's exposure feed (a Redis stream, or the memory
 * store's list) from its beginning at start, then every `intervalMs`, and at once after its own detector ran.
 */
import type { CardTransaction } from '../contract/transaction';
import { FEATURE_INDEX } from '../state/features';
import type { Telemetry } from '../telemetry/events';
import type { Logger } from '../telemetry/logger';
import { DAY_MS, type CompromiseStore, type Exposure } from './store';

const EXPOSED = FEATURE_INDEX['card.exposed'];
const DAYS_SINCE = FEATURE_INDEX['card.days_since_exposure'];
const EVIDENCE = FEATURE_INDEX['card.exposure_evidence'];
const PAGE = 5000;

export class ExposureIndex {
  private readonly byCard = new Map<string, Exposure[]>();
  private cursor = '';
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<number> | undefined;

  constructor(
    private readonly store: CompromiseStore,
    private readonly options: { logger?: Logger; telemetry?: Telemetry } = {},
  ) {}

  get size(): number {
    return this.byCard.size;
  }

  /** The card's exposures known now. */
  exposuresOf(cardToken: string): readonly Exposure[] {
    return this.byCard.get(cardToken) ?? [];
  }

  /** Reads the feed to its end; resolves with how many exposures it added. One sync at a time. */
  sync(): Promise<number> {
    this.syncing ??= this.readFeed().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  start(intervalMs: number): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      this.sync().catch((error: unknown) => this.options.logger?.warn({ err: error }, 'exposure feed: read failed; scoring keeps the exposures it has'));
    }, intervalMs);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Sets the exposure features of each transaction. An exposure counts from the event time its finding was made, so
   * a replay never lets a transaction see a warning from its future.
   */
  annotate(txns: readonly CardTransaction[], features: readonly Float64Array[]): void {
    if (this.byCard.size === 0) return;
    txns.forEach((txn, i) => {
      const exposures = this.byCard.get(txn.cardToken);
      if (exposures === undefined) return;
      let best: Exposure | undefined;
      for (const e of exposures) if (e.raisedAtMs <= txn.eventTimeMs && (best === undefined || e.evidence > best.evidence)) best = e;
      if (best === undefined) return;
      const row = features[i];
      row[EXPOSED] = 1;
      row[DAYS_SINCE] = Math.max(0, (txn.eventTimeMs - best.exposedAtMs) / DAY_MS);
      row[EVIDENCE] = best.evidence;
    });
  }

  private async readFeed(): Promise<number> {
    let added = 0;
    for (;;) {
      const { exposures, cursor } = await this.store.exposuresAfter(this.cursor, PAGE);
      this.cursor = cursor;
      for (const exposure of exposures) {
        const list = this.byCard.get(exposure.cardToken);
        if (list === undefined) this.byCard.set(exposure.cardToken, [exposure]);
        else if (!list.some((e) => e.point === exposure.point)) list.push(exposure);
      }
      added += exposures.length;
      if (exposures.length < PAGE) {
        if (added > 0) this.options.telemetry?.emit('compromise.exposures_loaded', { added, cards: this.byCard.size });
        return added;
      }
    }
  }
}
