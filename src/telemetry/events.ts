/**
 * Named telemetry events. Business code emits them; `metrics.ts` (and tests) subscribe. Emitting with no listener
 * costs one map lookup, so the hot path never pays for observability it does not use (after kafkajs'
 * src/instrumentation/). Add an event here, with its payload, when a module needs a new one.
 */
export interface TelemetryEvents {
  // consumer
  'consumer.batch': { topic: string; partition: number; size: number; lag: number };
  'consumer.message_invalid': { topic: string; reason: string };
  'consumer.rebalance': { groupId: string };
  'consumer.crash': { groupId: string; error: string; restart: boolean };
  'consumer.paused': { reason: string };
  'consumer.retry': { attempt: number; delayMs: number; reason: string };
  'consumer.resumed': Record<string, never>;
  // state
  'state.round_trip': { seconds: number; transactions: number };
  'state.error': { operation: string; error: string };
  'state.too_old': { entity: string };
  'state.duplicate': { entity: string };
  'state.label': { outcome: string };
  // scoring
  'scorer.chunk': { size: number; seconds: number; alerts: number };
  /** challenger: when a challenger model scored the transaction, its score and the action the policy would take with it. */
  'scorer.decision': {
    action: 'allow' | 'review' | 'block';
    seconds: number;
    score: number;
    modelScore?: number;
    challenger?: { score: number; action: 'allow' | 'review' | 'block' };
  };
  'scorer.rule_hit': { rule: string; action: string; shadow: boolean };
  'scorer.event_to_decision': { seconds: number };
  'rules.reloaded': { version: string };
  'rules.reload_rejected': { error: string };
  /** role: the champion decides; a challenger (CHALLENGER_MODEL_DIR) is scored beside it and never decides. */
  'model.loaded': { version: string; backend: string; role: 'champion' | 'challenger' };
  'model.reload_rejected': { error: string; role: 'champion' | 'challenger' };
  // compromise detection
  'compromise.label_ignored': { reason: string };
  /** A chunk of labels went through detection (emitted once it is done, alerts acknowledged). */
  'compromise.labels': { labels: number; ignored: number; findings: number; warnings: number };
  'compromise.point_flagged': { shape: string; kind: string; latencySeconds: number };
  'compromise.cards_warned': { count: number; recommendation: string };
  'compromise.evaluated': { points: number; seconds: number };
  'compromise.exposures_loaded': { added: number; cards: number };
  // alerts
  'alerts.published': { type: string; action: string; count: number };
  'alerts.suppressed': { count: number };
  'alerts.event_to_alert': { seconds: number };
  // desk
  'desk.written': { table: 'alerts' | 'decisions' | 'labels'; rows: number; seconds: number };
  'desk.skipped': { table: 'alerts' | 'decisions' | 'labels'; reason: string };
}

export type TelemetryEventName = keyof TelemetryEvents;
type Listener<K extends TelemetryEventName> = (payload: TelemetryEvents[K]) => void;

export class Telemetry {
  private readonly listeners = new Map<TelemetryEventName, Array<(payload: never) => void>>();

  on<K extends TelemetryEventName>(name: K, listener: Listener<K>): () => void {
    const list = this.listeners.get(name) ?? [];
    list.push(listener as (payload: never) => void);
    this.listeners.set(name, list);
    return () => {
      const current = this.listeners.get(name);
      if (current) this.listeners.set(name, current.filter((l) => l !== listener));
    };
  }

  emit<K extends TelemetryEventName>(name: K, payload: TelemetryEvents[K]): void {
    const list = this.listeners.get(name);
    if (list === undefined) return;
    for (const listener of list) (listener as Listener<K>)(payload);
  }

  /** True when somebody listens, so a caller can skip building an expensive payload. */
  observed(name: TelemetryEventName): boolean {
    return (this.listeners.get(name)?.length ?? 0) > 0;
  }
}
