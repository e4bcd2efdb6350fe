/**
 * The load generator of `npm run bench` phase (c), in a child process of its own (forked by bench/pipeline.ts) so
 * that generating, stamping and producing the traffic does not share the service's event loop, as a bank's
 * producers would not. Talks to its parent over the IPC channel:
 *
 *   parent → { brokers, topic, rate, seconds, customers }   generate the traffic, send the untimed first pass
 *   child  → { kind: 'history', count }                     first pass sent (event times over the day before)
 *   parent → { kind: 'go' }                                 the service has decided it: send at `rate` now
 *   child  → { kind: 'sent', count, offeredRate }           every timed message handed to the producer
 */
import { Kafka, logLevel } from 'kafkajs';
import { DAY_MS, restamped, simulatedMessages } from './pipeline-traffic';

export interface LoadPlan {
  brokers: string[];
  topic: string;
  rate: number;
  seconds: number;
  customers: number;
}

export type LoadReport = { kind: 'history'; count: number } | { kind: 'sent'; count: number; offeredRate: number };

function report(message: LoadReport): void {
  process.send?.(message);
}

function nextMessage<T>(): Promise<T> {
  return new Promise((resolve) => process.once('message', (message) => resolve(message as T)));
}

async function run(plan: LoadPlan): Promise<void> {
  const { rate, seconds, topic } = plan;
  const offered = simulatedMessages(rate * seconds, plan.customers);
  const producer = new Kafka({ brokers: plan.brokers, clientId: 'bench-load', logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  // The timed run starts in steady state, as a bank's traffic does: the same traffic first goes through once with
  // event times spread over the day before (not timed), so its cards, accounts and merchants are known and the
  // service, the topic and Redis are warm. Without it, p99 at 5,000 tx/s was 0.56–0.91 s instead of 0.16–0.26 s; a
  // first pass of another bank's cards (the same accounts and merchants) gave 0.24 s: the warm-up is what matters.
  const historyStartMs = Date.now() - DAY_MS;
  for (let i = 0; i < offered.length; i += 5000) {
    const messages = offered
      .slice(i, i + 5000)
      .map((template, j) => restamped(template, `hist-${i + j}`, historyStartMs + Math.floor(((i + j) / offered.length) * 0.9 * DAY_MS)));
    await producer.send({ topic, messages, acks: 1 });
  }
  const go = nextMessage<{ kind: 'go' }>();
  report({ kind: 'history', count: offered.length });
  await go;

  const tickMs = 20;
  const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
  const total = rate * seconds;
  const startedAt = performance.now();
  const pending: Array<Promise<unknown>> = [];
  let sent = 0;
  while (sent < total) {
    const dueBy = startedAt + (sent / rate) * 1000;
    const wait = dueBy - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const now = Date.now();
    const batch = [];
    for (let i = 0; i < perTick && sent < total; i++, sent++) batch.push(restamped(offered[sent % offered.length], `lat-${sent}`, now));
    // Not awaited: a send waits on the broker's ack, and the next tick must not wait for it.
    pending.push(producer.send({ topic, messages: batch, acks: 1 }).catch((error) => console.error(`bench load generator: send failed: ${(error as Error).message}`)));
  }
  const offeredRate = total / ((performance.now() - startedAt) / 1000);
  await Promise.all(pending);
  report({ kind: 'sent', count: total, offeredRate });
  await producer.disconnect();
}

nextMessage<LoadPlan>()
  .then(run)
  .then(
    () => process.disconnect?.(),
    (error: unknown) => {
      console.error(`bench load generator failed: ${(error as Error).stack}`);
      process.exit(1);
    },
  );
