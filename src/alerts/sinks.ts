/**
 * Where alerts and decisions go. Kafka in production (awaited, acknowledged by all in-sync replicas); an in-memory
 * ring for the embedded mode and for GET /v1/alerts. The scoring pipeline only sees these interfaces.
 */
import type { AlertMessage, DecisionMessage } from '../contract/schemas';
import type { TopicProducer } from '../kafka/client';
import type { Telemetry } from '../telemetry/events';

export interface AlertSink {
  /** Resolves when every alert is durable (the broker acknowledged it); rejects with a retriable error otherwise. */
  publish(alerts: readonly AlertMessage[]): Promise<void>;
}

/** One line per scored transaction on SCORES_TOPIC (the contract's decision v1). */
export type DecisionRecord = DecisionMessage;

export interface DecisionSink {
  publish(records: readonly DecisionRecord[]): Promise<void>;
}

/** Keeps the most recent alerts (GET /v1/alerts); in the embedded mode it is the only sink. */
export class RecentAlerts implements AlertSink {
  private readonly ring: AlertMessage[] = [];

  constructor(private readonly capacity = 1000) {}

  async publish(alerts: readonly AlertMessage[]): Promise<void> {
    for (const alert of alerts) {
      this.ring.push(alert);
      if (this.ring.length > this.capacity) this.ring.shift();
    }
  }

  latest(limit: number): AlertMessage[] {
    return this.ring.slice(-limit).reverse();
  }
}

export function kafkaAlertSink(producer: TopicProducer, topic: string, telemetry: Telemetry, now: () => number): AlertSink {
  return {
    async publish(alerts) {
      if (alerts.length === 0) return;
      await producer.send(
        topic,
        alerts.map((alert) => ({ key: alert.cardToken ?? alert.alertId, value: JSON.stringify(alert), headers: { 'alert-id': alert.alertId, 'alert-type': alert.type } })),
      );
      const ackedAt = now();
      const byAction = new Map<string, number>();
      for (const alert of alerts) {
        byAction.set(`${alert.type}|${alert.action}`, (byAction.get(`${alert.type}|${alert.action}`) ?? 0) + 1);
        telemetry.emit('alerts.event_to_alert', { seconds: Math.max(0, ackedAt - Date.parse(alert.timestamp)) / 1000 });
      }
      for (const [key, count] of byAction) {
        const [type, action] = key.split('|');
        telemetry.emit('alerts.published', { type, action, count });
      }
    },
  };
}

export function kafkaDecisionSink(producer: TopicProducer, topic: string): DecisionSink {
  return {
    publish: (records) => producer.send(topic, records.map((r) => ({ key: r.cardToken, value: JSON.stringify(r) }))),
  };
}

/** Publishes to every sink; resolves when all did. */
export function fanOut(...sinks: AlertSink[]): AlertSink {
  return { publish: async (alerts) => void (await Promise.all(sinks.map((s) => s.publish(alerts)))) };
}
