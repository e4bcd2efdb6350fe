/**
 * The only place that builds a Redis client. Failures must surface quickly as errors (which the store turns into
 * StateUnavailableError) rather than queue for minutes: the consumer pauses and retries the whole batch.
 */
import { Cluster, Redis, type ClusterNode, type RedisOptions } from 'ioredis';
import type { Config } from '../config/schema';
import type { Logger } from '../telemetry/logger';

export interface RedisTuning {
  /** A command without a reply within this time fails (default 5000). */
  commandTimeoutMs?: number;
  /** Connecting gives up after this long (default 5000). */
  connectTimeoutMs?: number;
  /** Reconnections a queued command waits through before it fails (default 2). */
  maxRetriesPerRequest?: number;
  /** Receives connection-level errors (reconnects); commands still fail on their own. */
  onError?: (error: Error) => void;
}

function reconnectDelay(attempt: number): number {
  return Math.min(50 * 2 ** attempt, 2000);
}

/** Credentials, database and TLS from a redis:// or rediss:// URL. */
function optionsFromUrl(redisUrl: string | undefined): RedisOptions & { host?: string; port?: number } {
  if (redisUrl === undefined) return {};
  const url = new URL(redisUrl);
  const options: RedisOptions & { host?: string; port?: number } = {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? 6379 : Number(url.port),
  };
  if (url.username !== '') options.username = decodeURIComponent(url.username);
  if (url.password !== '') options.password = decodeURIComponent(url.password);
  if (url.pathname.length > 1) options.db = Number(url.pathname.slice(1));
  if (url.protocol === 'rediss:') options.tls = { servername: options.host };
  return options;
}

/**
 * A client for the configured Redis: a Cluster client when REDIS_CLUSTER_NODES is set (REDIS_URL then supplies only
 * credentials and TLS), else a single server from REDIS_URL. TLS for rediss://.
 */
export function connectRedis(settings: Pick<Config, 'redisUrl' | 'redisClusterNodes'>, tuning: RedisTuning = {}): Redis | Cluster {
  const common: RedisOptions = {
    commandTimeout: tuning.commandTimeoutMs ?? 5000,
    connectTimeout: tuning.connectTimeoutMs ?? 5000,
    maxRetriesPerRequest: tuning.maxRetriesPerRequest ?? 2,
  };
  let client: Redis | Cluster;
  if (settings.redisClusterNodes.length > 0) {
    const { host: _host, port: _port, db: _db, ...credentials } = optionsFromUrl(settings.redisUrl);
    const nodes: ClusterNode[] = settings.redisClusterNodes.map((item) => {
      const colon = item.lastIndexOf(':');
      return { host: item.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(item.slice(colon + 1)) };
    });
    client = new Cluster(nodes, {
      redisOptions: { ...common, ...credentials },
      clusterRetryStrategy: reconnectDelay,
      slotsRefreshTimeout: common.connectTimeout,
    });
  } else {
    if (settings.redisUrl === undefined) throw new Error('connectRedis needs REDIS_URL or REDIS_CLUSTER_NODES');
    client = new Redis({ ...common, ...optionsFromUrl(settings.redisUrl), retryStrategy: reconnectDelay });
  }
  if (tuning.onError) client.on('error', tuning.onError);
  return client;
}

/**
 * One log line when the connection to Redis is lost and one when it is back. Without an 'error' listener ioredis
 * prints a multi-line "[ioredis] Unhandled error event" to stderr on every reconnection attempt (several a second,
 * not JSON); failed commands are still reported by the store and the consumer, and readiness turns false.
 */
export function logConnectionState(client: Redis | Cluster, logger: Logger): void {
  const log = logger.child({ component: 'redis' });
  let lost = false;
  client.on('error', (error: Error) => {
    if (lost) return;
    lost = true;
    log.warn({ err: { type: error.name, message: error.message } }, 'Redis connection lost; reconnecting (readiness is false until it is back)');
  });
  client.on('ready', () => {
    if (!lost) return;
    lost = false;
    log.info('Redis connection restored');
  });
}
