/**
 * The fraud desk: a read model of alerts, decisions and labels in PostgreSQL, and the analysts' page at /desk/.
 * `startDesk` is called by the composition root (src/service.ts) and owns everything the desk needs.
 *
 * - Kafka mode (DESK_DATABASE_URL set): its own consumer groups read the alerts, scores and labels topics into
 *   PostgreSQL. The scoring path never waits on it; a database outage pauses only the desk's consumers (they retry
 *   with backoff and readiness says `desk: false`) while scoring goes on. Analyst labels go to the labels topic.
 * - Embedded mode: the same repository on PGlite (in process, in memory unless DESK_PGLITE_DIR), fed directly by
 *   the in-process alert and decision sinks; analyst labels go to the in-process state store.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Kafka } from 'kafkajs';
import type { Config } from '../config/schema';
import type { Mode } from '../config/load';
import { ConfigError, CardShieldError } from '../errors';
import type { CardLabel } from '../contract/transaction';
import type { AlertMessage } from '../contract/schemas';
import type { AlertSink, DecisionRecord, DecisionSink } from '../alerts/sinks';
import type { TopicProducer } from '../kafka/client';
import { startBatchConsumer, type ConsumedMessage, type RunningConsumer } from '../consumer/batch-consumer';
import type { MessageDecoders } from '../scoring/ingest';
import type { Telemetry } from '../telemetry/events';
import type { Logger } from '../telemetry/logger';
import { connectPostgres, openPglite, type Db } from './db';
import { migrate } from './migrate';
import { createRepository, type Repository } from './repository';
import { alertRow, decisionRow, labelRow, type AlertRow, type DecisionRow } from './records';
import { createDecider, type LabelPublisher } from './decide';
import { createDeskRouter } from './routes';
import { hashPassword, parseUsers, type DeskUser } from './users';
import { WriteBehind } from './buffer';
import type express from 'express';

/** The desk's database is unreachable or refused a write: retried by the consumer, never dropped. */
export class DeskUnavailableError extends CardShieldError {
  constructor(message: string, cause?: unknown) {
    super(message, { retriable: true, cause });
    this.name = 'DeskUnavailableError';
  }
}

/** Batches written at once per topic; the PostgreSQL pool has room for them plus the pages' queries. */
const DESK_CONCURRENT_PARTITIONS = 3;

export interface DeskOptions {
  config: Config;
  mode: Mode;
  logger: Logger;
  telemetry: Telemetry;
  decoders: MessageDecoders;
  rulesVersion: () => string;
  /** Kafka mode: the desk's consumers and the analyst labels' producer. */
  kafka?: Kafka;
  producer?: TopicProducer;
  /** Embedded mode: analyst labels are recorded in the in-process state store. */
  recordLabelsInState?: (labels: CardLabel[]) => Promise<unknown>;
  /** Tests: an open database instead of the configured one (a schema of their own on PostgreSQL). */
  db?: Db;
}

export interface RunningDesk {
  router: express.Router;
  repo: Repository;
  /** Embedded mode: where the in-process sinks write (undefined in Kafka mode, where the desk consumes topics). */
  alertSink?: AlertSink;
  decisionSink?: DecisionSink;
  ingestLabels?(labels: readonly CardLabel[]): Promise<void>;
  /** Embedded mode: resolves when everything the in-process sinks handed over is in the database. */
  flush(): Promise<void>;
  /** Embedded mode without configured users: the generated analyst's credentials, for the demo to print. */
  generatedUser?: { name: string; password: string };
  isHealthy(): boolean;
  /** Resolves once every desk consumer joined its group (immediately in the embedded mode). */
  joined: Promise<void>;
  stop(): Promise<void>;
}

export function deskEnabled(config: Config, mode: Mode): boolean {
  return mode === 'embedded' || config.deskDatabaseUrl !== undefined;
}

async function loadUsers(config: Config, mode: Mode): Promise<{ users: DeskUser[]; generated?: { name: string; password: string } }> {
  const users = config.deskUsers ? parseUsers(config.deskUsers, 'DESK_USERS') : [];
  if (config.deskUsersFile) {
    let text: string;
    try {
      text = readFileSync(config.deskUsersFile, 'utf8');
    } catch (error) {
      throw new ConfigError('DESK_USERS_FILE', `cannot read ${config.deskUsersFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    for (const user of parseUsers(text, 'DESK_USERS_FILE')) {
      if (users.some((u) => u.name === user.name)) throw new ConfigError('DESK_USERS_FILE', `user ${user.name} is also in DESK_USERS`);
      users.push(user);
    }
  }
  if (users.length > 0) return { users };
  if (mode !== 'embedded') throw new ConfigError('DESK_USERS', 'no desk user is configured (DESK_USERS or DESK_USERS_FILE)');
  // the embedded mode must still sign in (a page of card data is never open): a one-process analyst
  const password = randomBytes(9).toString('base64url');
  return { users: [{ name: 'analyst', role: 'analyst', hash: await hashPassword(password) }], generated: { name: 'analyst', password } };
}

export async function startDesk(options: DeskOptions): Promise<RunningDesk> {
  const { config, mode, logger, telemetry } = options;
  const log = logger.child({ component: 'desk' });
  const { users, generated } = await loadUsers(config, mode);
  // the only way in for whoever started this embedded process; valid for this process alone
  if (generated) log.warn({ user: generated.name, password: generated.password }, 'DESK_USERS is not set: sign in to /desk/ with this one-process analyst');
  const db =
    options.db ??
    (config.deskDatabaseUrl ? connectPostgres({ url: config.deskDatabaseUrl, max: 3 * DESK_CONCURRENT_PARTITIONS + 2 }) : await openPglite(config.deskPgliteDir));
  const closers: Array<() => Promise<void>> = [];
  if (!options.db) closers.push(() => db.close());
  const stop = async () => {
    for (const close of closers.reverse()) await close().catch((error) => log.warn({ err: error }, 'error while closing the desk'));
  };
  try {
    const applied = await migrate(db).catch((error) => {
      throw new ConfigError(config.deskDatabaseUrl ? 'DESK_DATABASE_URL' : 'DESK_PGLITE_DIR', `the desk database cannot be prepared: ${(error as Error).message}`);
    });
    log.info({ database: db.kind, migrations: applied }, 'desk database ready');
    const repo = createRepository(db);

    const write = async <T>(table: 'alerts' | 'decisions' | 'labels', rows: number, work: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      try {
        const result = await work();
        telemetry.emit('desk.written', { table, rows, seconds: (performance.now() - started) / 1000 });
        return result;
      } catch (error) {
        throw new DeskUnavailableError(`desk write to ${table} failed: ${(error as Error).message}`, error);
      }
    };
    const keep = <R>(table: 'alerts' | 'decisions' | 'labels', row: R | { invalid: string }): row is R => {
      if (typeof row === 'object' && row !== null && 'invalid' in row) {
        telemetry.emit('desk.skipped', { table, reason: (row as { invalid: string }).invalid });
        return false;
      }
      return true;
    };
    const writeAlerts = (messages: readonly unknown[]) => {
      const rows = messages.map(alertRow).filter((r): r is AlertRow => keep('alerts', r));
      return write('alerts', rows.length, () => repo.upsertAlerts(rows));
    };
    const writeDecisions = (messages: readonly unknown[]) => {
      const rows = messages.map(decisionRow).filter((r): r is DecisionRow => keep('decisions', r));
      return write('decisions', rows.length, () => repo.upsertDecisions(rows));
    };
    const writeLabels = (labels: readonly CardLabel[]) => write('labels', labels.length, () => repo.upsertLabels(labels.map(labelRow)));

    let publish: LabelPublisher;
    const consumers: RunningConsumer[] = [];
    if (mode === 'kafka') {
      const { kafka, producer } = options;
      if (!kafka || !producer) throw new Error('startDesk: the Kafka mode needs kafka and producer');
      publish = (label) => producer.send(config.labelsTopic, [{ key: label.cardToken ?? label.transactionId, value: JSON.stringify(label) }]);
      const parse = (m: ConsumedMessage): unknown => {
        try {
          return JSON.parse(m.value?.toString('utf8') ?? 'null');
        } catch {
          return null; // alertRow/decisionRow reject it and it is counted as skipped
        }
      };
      const topics: Array<{ topic: string; suffix: string; handle: (messages: ConsumedMessage[]) => Promise<unknown> }> = [
        { topic: config.alertsTopic, suffix: 'alerts', handle: (ms) => writeAlerts(ms.map((m) => parse(m))) },
        {
          topic: config.labelsTopic,
          suffix: 'labels',
          handle: (ms) => {
            const labels: CardLabel[] = [];
            for (const m of ms) {
              const decoded = options.decoders.label(m.value);
              // invalid labels are the scoring service's to dead-letter; the desk just skips them
              if (decoded.ok) labels.push(decoded.value);
              else telemetry.emit('desk.skipped', { table: 'labels', reason: decoded.reason });
            }
            return writeLabels(labels);
          },
        },
      ];
      if (config.scoresTopic) topics.push({ topic: config.scoresTopic, suffix: 'scores', handle: (ms) => writeDecisions(ms.map((m) => parse(m))) });
      else log.warn('SCORES_TOPIC is not set: card timelines show alerted transactions only');
      for (const { topic, suffix, handle } of topics) {
        const consumer = await startBatchConsumer({
          kafka,
          groupId: `${config.deskGroupId}-${suffix}`,
          topic,
          chunkSize: config.deskBatchSize,
          sessionTimeoutMs: config.kafkaSessionTimeoutMs,
          telemetry,
          logger,
          fromBeginning: true,
          // one partition's batch is written while the next partition's is decoded; each partition keeps its order
          concurrentPartitions: DESK_CONCURRENT_PARTITIONS,
          handler: async (messages) => void (await handle(messages)),
        });
        consumers.push(consumer);
        closers.push(() => consumer.stop());
        void consumer.crashed.then((error) => log.error({ err: error, topic }, 'a desk consumer crashed: the desk stops updating until restart'));
      }
    } else {
      const record = options.recordLabelsInState;
      if (!record) throw new Error('startDesk: the embedded mode needs recordLabelsInState');
      publish = async (label) => {
        await record([{ transactionId: label.transactionId, cardToken: label.cardToken!, label: label.label, reportedAtMs: Date.parse(label.reportedAt), source: 'analyst' }]);
      };
    }

    const purge = async () => {
      try {
        const removed = await repo.purge(config.deskRetentionDays);
        if (removed.alerts + removed.decisions + removed.labels > 0) log.info({ ...removed, days: config.deskRetentionDays }, 'desk retention: old rows deleted');
      } catch (error) {
        log.warn({ err: error }, 'desk retention failed; retried in an hour');
      }
    };
    await purge();
    const purgeTimer = setInterval(() => void purge(), 3_600_000);
    purgeTimer.unref();
    closers.push(async () => clearInterval(purgeTimer));

    const router = createDeskRouter({
      repo,
      users: () => users,
      logger: log,
      sessionHours: config.deskSessionHours,
      secureCookie: config.deskSecureCookie,
      thresholds: { review: config.reviewThreshold, block: config.blockThreshold },
      rulesVersion: options.rulesVersion,
      decide: createDecider(repo, publish),
    });

    const embedded = mode === 'embedded';
    const failed = (table: string) => (error: Error) => log.error({ err: error, table }, 'embedded desk write failed; those rows are missing from the desk');
    const alertsBehind = new WriteBehind<AlertMessage>((rows) => writeAlerts(rows), config.deskBatchSize, 100_000, failed('alerts'));
    const decisionsBehind = new WriteBehind<DecisionRecord>((rows) => writeDecisions(rows), config.deskBatchSize, 100_000, failed('decisions'));
    const labelsBehind = new WriteBehind<CardLabel>((rows) => writeLabels(rows), config.deskBatchSize, 100_000, failed('labels'));
    const flush = async () => {
      await alertsBehind.flush();
      await decisionsBehind.flush();
      await labelsBehind.flush();
    };
    // closed in reverse: what is still buffered is written before the database closes
    if (embedded) closers.push(flush);
    return {
      router,
      repo,
      alertSink: embedded ? { publish: (alerts: readonly AlertMessage[]) => alertsBehind.push(alerts) } : undefined,
      decisionSink: embedded ? { publish: (records: readonly DecisionRecord[]) => decisionsBehind.push(records) } : undefined,
      ingestLabels: embedded ? (labels) => labelsBehind.push(labels) : undefined,
      flush,
      generatedUser: generated,
      isHealthy: () => consumers.every((c) => c.isHealthy()),
      joined: Promise.all(consumers.map((c) => c.joined)).then(() => undefined),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
