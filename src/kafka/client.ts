/**
 * The only place that builds a kafkajs client. kafkajs 2.2.4 is unmaintained, so the rest of the service talks to
 * the small interfaces in src/consumer and src/alerts (and `TopicProducer` here) and the client can be swapped.
 */
import { readFileSync } from 'node:fs';
import { Kafka, Partitioners, logLevel, type Admin, type KafkaConfig, type Producer, type SASLOptions, type IHeaders } from 'kafkajs';
import type { Config } from '../config/schema';
import { BrokerError, ConfigError } from '../errors';
import type { Logger } from '../telemetry/logger';

export type KafkaSettings = Pick<
  Config,
  'kafkaBrokers' | 'kafkaClientId' | 'kafkaSaslMechanism' | 'kafkaSaslUsername' | 'kafkaSaslPassword' | 'kafkaTls' | 'kafkaTlsCaFile' | 'kafkaTlsRejectUnauthorized'
>;

/** `probe`: no retries and no kafkajs logging, except its debug entries to `onDebug` (see probeKafka). */
export function createKafka(settings: KafkaSettings, logger?: Logger, options: { probe?: boolean; onDebug?: (extra: Record<string, unknown>) => void } = {}): Kafka {
  const { onDebug } = options;
  const config: KafkaConfig = {
    clientId: settings.kafkaClientId,
    brokers: settings.kafkaBrokers,
    logLevel: options.probe ? (onDebug ? logLevel.DEBUG : logLevel.NOTHING) : logLevel.WARN,
    retry: { initialRetryTime: 300, retries: options.probe ? 0 : 8 },
  };
  if (onDebug) config.logCreator = () => ({ log }) => onDebug(log as Record<string, unknown>);
  else if (logger) {
    const log = logger.child({ component: 'kafkajs' });
    config.logCreator = () => ({ level, log: entry }) => {
      const { message, ...extra } = entry;
      // Our producer limits retries on purpose (see connectProducer); kafkajs warns about it on every connect.
      if (message.startsWith('Limiting retries for the idempotent producer')) return;
      if (level === logLevel.ERROR) log.error(extra, message);
      else if (level === logLevel.WARN) log.warn(extra, message);
      else log.debug(extra, message);
    };
  }
  if (settings.kafkaTls) {
    config.ssl = {
      rejectUnauthorized: settings.kafkaTlsRejectUnauthorized,
      ...(settings.kafkaTlsCaFile ? { ca: [readCaFile(settings.kafkaTlsCaFile)] } : {}),
    };
  }
  if (settings.kafkaSaslMechanism) {
    config.sasl = {
      mechanism: settings.kafkaSaslMechanism,
      username: settings.kafkaSaslUsername ?? '',
      password: settings.kafkaSaslPassword ?? '',
    } as SASLOptions;
  }
  return new Kafka(config);
}

function readCaFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError('KAFKA_TLS_CA_FILE', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** Node's codes for a server certificate the client does not trust (or that names another host). */
const UNTRUSTED_CERTIFICATE = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * What an operator must change when the brokers refuse us, naming the setting, or undefined when the failure is not
 * one of ours to fix by configuration (broker down, network). kafkajs reports a refused SCRAM/PLAIN login as
 * KafkaJSSASLAuthenticationError and an untrusted certificate as a connection error carrying Node's TLS code; both
 * would otherwise surface as a generic connection failure. The message never contains the password.
 */
export function explainKafkaFailure(error: unknown, settings: KafkaSettings): string | undefined {
  // kafkajs wraps the connection error once its retries are spent (KafkaJSNumberOfRetriesExceeded, `cause`).
  for (let e = error as Cause | undefined, depth = 0; e && depth < 5; e = e.cause, depth++) {
    const explained = explainOne(e, settings);
    if (explained) return explained;
  }
  return undefined;
}

type Cause = { name?: string; code?: string; type?: string; message?: string; cause?: Cause };

/** The broker's error code (kafkajs' `type`) of an error or of what it wraps, e.g. TOPIC_AUTHORIZATION_FAILED. */
function protocolErrorType(error: unknown): string | undefined {
  for (let e = error as Cause | undefined, depth = 0; e && depth < 5; e = e.cause, depth++) if (e.type) return e.type;
  return undefined;
}

function explainOne(e: Cause, settings: KafkaSettings): string | undefined {
  if (e instanceof KafkaAccessError) {
    const user = settings.kafkaSaslUsername ? `user ${settings.kafkaSaslUsername}` : 'this client';
    const grant = e.resource === 'topic' ? 'READ on the topic' : 'READ on the group';
    return `Kafka denies ${user} access to ${e.resource} ${e.resourceName} (${e.code}): grant ${grant} (README, Kafka ACLs), or check ${e.variable}`;
  }
  if (e?.name === 'KafkaJSSASLAuthenticationError') {
    return `Kafka refused the SASL ${settings.kafkaSaslMechanism} login of user ${settings.kafkaSaslUsername}: check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD`;
  }
  if (e?.code && UNTRUSTED_CERTIFICATE.has(e.code)) {
    const trusted = settings.kafkaTlsCaFile ? `the CA in KAFKA_TLS_CA_FILE (${settings.kafkaTlsCaFile})` : 'the system CAs (KAFKA_TLS_CA_FILE is unset)';
    return `the Kafka broker's certificate is not trusted (${e.code}): it is not signed by ${trusted}; set KAFKA_TLS_CA_FILE to the CA that signed it`;
  }
  if (settings.kafkaTls && /wrong version number|packet length too long/i.test(e?.message ?? '')) {
    return `TLS to the Kafka broker failed (${e.message}): is KAFKA_BROKERS a TLS listener? (KAFKA_TLS=true)`;
  }
  return undefined;
}

/**
 * What the service reads and writes, each with the variable that names it, so a refusal can say what to change.
 * Checked by the probe (topics it can describe, groups it can look up); writes are refused only when they are made,
 * and `produce to … failed` then says so (see createTopicProducer).
 */
export interface KafkaAccess {
  topics: Array<{ topic: string; variable: string }>;
  groups: Array<{ groupId: string; topic: string; variable: string }>;
}

/** The broker refused this principal access to a topic or group (an ACL is missing); names what to grant. */
export class KafkaAccessError extends Error {
  constructor(
    readonly resource: 'topic' | 'group',
    readonly resourceName: string,
    readonly variable: string,
    readonly code: string,
  ) {
    super(`${resource} ${resourceName} (${variable}): ${code}`);
    this.name = 'KafkaAccessError';
  }
}

/**
 * One connection attempt, no retries (the caller decides when to try again): TLS handshake, SASL login and an
 * ApiVersions/Metadata round trip through an admin client; with `access`, each topic's metadata and each group's
 * committed offsets are read too, so a missing ACL is found at start, by name. Resolves undefined when the brokers
 * accept us, otherwise the error. Logs nothing itself: kafkajs' retry lines would repeat the cause every few
 * hundred milliseconds.
 */
export async function probeKafka(settings: KafkaSettings, access?: KafkaAccess): Promise<unknown> {
  // kafkajs reports a refused FindCoordinator (no ACL on the group) only as "Failed to find group coordinator"; the
  // broker's own code is in its debug log entry, kept here.
  let refusedGroup: string | undefined;
  const onDebug = (entry: { error?: { type?: string }; groupId?: string }) => {
    if (entry.error?.type === 'GROUP_AUTHORIZATION_FAILED') refusedGroup = entry.groupId;
  };
  const admin = createKafka(settings, undefined, { probe: true, onDebug }).admin();
  try {
    await admin.connect();
    for (const { topic, variable } of access?.topics ?? []) {
      await admin.fetchTopicMetadata({ topics: [topic] }).catch((error: unknown) => {
        if (protocolErrorType(error) === 'TOPIC_AUTHORIZATION_FAILED') throw new KafkaAccessError('topic', topic, variable, 'TOPIC_AUTHORIZATION_FAILED');
        // A missing topic is left to the consumer's own error (tests and development create topics after the probe).
      });
    }
    for (const { groupId, topic, variable } of access?.groups ?? []) {
      refusedGroup = undefined;
      await admin.fetchOffsets({ groupId, topics: [topic] }).catch((error: unknown) => {
        if (refusedGroup === groupId || protocolErrorType(error) === 'GROUP_AUTHORIZATION_FAILED') throw new KafkaAccessError('group', groupId, variable, 'GROUP_AUTHORIZATION_FAILED');
      });
    }
    return undefined;
  } catch (error) {
    return error;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export interface OutgoingMessage {
  key: string | Buffer | null;
  value: string | Buffer;
  headers?: IHeaders;
}

/** Awaited, acknowledged produce. `send` resolves only when every in-sync replica has the messages (acks=-1). */
export interface TopicProducer {
  send(topic: string, messages: OutgoingMessage[]): Promise<void>;
  disconnect(): Promise<void>;
}

export async function connectProducer(kafka: Kafka): Promise<TopicProducer> {
  const producer = createTopicProducer(kafka);
  await producer.connect();
  return producer;
}

/** The producer not yet connected: the service builds its sinks on it first and connects once the brokers accept it. */
export function createTopicProducer(kafka: Kafka): TopicProducer & { connect(): Promise<void> } {
  // Idempotent producer with one request in flight: retries cannot reorder or duplicate (kafkajs #598, #1005).
  // Retries are bounded (kafkajs would retry an idempotent producer forever): a send that cannot succeed must fail
  // as a retriable BrokerError, so the consumer backs off while heartbeating instead of hanging past its session.
  // The Java-compatible partitioner (murmur2) puts a key on the same partition as the bank's Java producers would.
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 5000 },
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  return {
    connect: () => producer.connect(),
    async send(topic, messages) {
      if (messages.length === 0) return;
      try {
        for (const part of byteBudget(messages, MAX_SEND_BYTES)) await producer.send({ topic, messages: part, acks: -1 });
      } catch (error) {
        // A missing WRITE ACL: the send is retried with the chunk held (an operator grants it), and the line says so.
        const type = protocolErrorType(error);
        const denied = type === 'TOPIC_AUTHORIZATION_FAILED' || type === 'CLUSTER_AUTHORIZATION_FAILED' ? `: grant WRITE on topic ${topic} (README, Kafka ACLs)` : '';
        throw new BrokerError(`produce to ${topic} failed: ${(error as Error).message}${denied}`, error);
      }
    },
    disconnect: () => producer.disconnect(),
  };
}

/**
 * Bytes of keys and values per produce request. kafkajs puts all of a request's messages for one partition in one
 * record batch, and the broker refuses a batch over its message.max.bytes (1 MiB by default) with
 * MESSAGE_TOO_LARGE, every time: a chunk of 500 dead letters of up to 64 KiB each would stop the consumer for good.
 * Parts are sent one after the other (one request in flight), so order per partition is kept.
 */
export const MAX_SEND_BYTES = 512 * 1024;

/** Splits messages, in order, into runs whose keys and values add up to at most `budget` bytes (a larger message alone). */
export function byteBudget(messages: OutgoingMessage[], budget: number): OutgoingMessage[][] {
  const parts: OutgoingMessage[][] = [];
  let part: OutgoingMessage[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = byteLength(message.key) + byteLength(message.value);
    if (part.length > 0 && bytes + size > budget) {
      parts.push(part);
      part = [];
      bytes = 0;
    }
    part.push(message);
    bytes += size;
  }
  if (part.length > 0) parts.push(part);
  return parts;
}

function byteLength(data: string | Buffer | null): number {
  if (data === null) return 0;
  return typeof data === 'string' ? Buffer.byteLength(data) : data.length;
}

/** Creates the topics that do not exist yet; existing ones are left as they are. */
export async function ensureTopics(kafka: Kafka, topics: Array<{ topic: string; numPartitions?: number }>): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length > 0) await createTopicsWithLeaders(admin, missing.map((t) => ({ topic: t.topic, numPartitions: t.numPartitions ?? 3, replicationFactor: -1 })));
  } finally {
    await admin.disconnect();
  }
}

/** Errors a broker answers for a topic it has created but does not serve yet. */
const NOT_YET_SERVED = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION']);

/**
 * Creates topics and returns once every partition answers a ListOffsets from its leader, so a producer or consumer
 * that starts next finds them served. Not kafkajs's `waitForLeaders`: it retries only LEADER_NOT_AVAILABLE, while a
 * KRaft broker (Kafka 4.1 especially) answers UNKNOWN_TOPIC_OR_PARTITION for a topic its metadata cache has not
 * caught up with, and NOT_LEADER_FOR_PARTITION from a leader whose replica manager has not loaded the partition yet;
 * kafkajs then fails a creation that succeeded.
 */
export async function createTopicsWithLeaders(
  admin: Admin,
  topics: Array<{ topic: string; numPartitions: number; replicationFactor: number }>,
  timeoutMs = 30_000,
): Promise<void> {
  await admin.createTopics({ waitForLeaders: false, topics });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const waitingFor = await firstUnserved(admin, topics);
    if (waitingFor === undefined) return;
    if (Date.now() > deadline) throw new BrokerError(`topics ${topics.map((t) => t.topic).join(', ')} are not served ${timeoutMs} ms after their creation`, waitingFor);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** What the broker still answers for a topic it does not serve yet (a protocol error, or fewer partitions), if any. */
async function firstUnserved(admin: Admin, topics: ReadonlyArray<{ topic: string; numPartitions: number }>): Promise<unknown> {
  try {
    for (const { topic, numPartitions } of topics) {
      const offsets = await admin.fetchTopicOffsets(topic);
      if (offsets.length < numPartitions) return `${topic}: ${offsets.length} of ${numPartitions} partitions served`;
    }
    return undefined;
  } catch (error) {
    if (NOT_YET_SERVED.has(protocolErrorType(error) ?? '')) return error;
    throw error;
  }
}
