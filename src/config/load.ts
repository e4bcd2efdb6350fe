import { ConfigError } from '../errors';
import { configFields, type Config } from './schema';
import { parseUsers } from '../desk/users';

export type Mode = 'embedded' | 'kafka';

/**
 * Reads and validates every setting. Throws ConfigError (one line, naming the variable) on the first bad value;
 * `overrides` win over the environment (tests start the service in-process with their own topics and prefixes).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const config = {} as Record<string, unknown>;
  for (const [key, field] of Object.entries(configFields)) {
    config[key] = key in overrides ? (overrides as Record<string, unknown>)[key] : field.parse(env[field.env]);
  }
  return checkCombinations(config as Config);
}

/**
 * Only the named settings, each validated as at start, without the checks across settings: for tools that need a
 * few of them (`npm run kafka:acls` needs the topic and group names, not the secrets).
 */
export function loadSettings<K extends keyof Config>(keys: readonly K[], env: NodeJS.ProcessEnv = process.env): Pick<Config, K> {
  const settings = {} as Record<string, unknown>;
  for (const key of keys) settings[key] = configFields[key].parse(env[configFields[key].env]);
  return settings as Pick<Config, K>;
}

export function modeOf(config: Config): Mode {
  return config.kafkaBrokers.length > 0 ? 'kafka' : 'embedded';
}

function checkCombinations(config: Config): Config {
  const hasRedis = config.redisUrl !== undefined || config.redisClusterNodes.length > 0;
  if (config.kafkaBrokers.length > 0 && !hasRedis) {
    throw new ConfigError('REDIS_URL', 'is required when KAFKA_BROKERS is set (state must be shared by all instances)');
  }
  if ((config.kafkaBrokers.length > 0 || hasRedis) && config.panHmacKey === undefined) {
    throw new ConfigError('PAN_HMAC_KEY', 'is required outside the embedded mode (at least 32 bytes)');
  }
  if (config.kafkaSaslMechanism !== undefined) {
    if (!config.kafkaSaslUsername) throw new ConfigError('KAFKA_SASL_USERNAME', `is required with KAFKA_SASL_MECHANISM=${config.kafkaSaslMechanism}`);
    if (!config.kafkaSaslPassword) throw new ConfigError('KAFKA_SASL_PASSWORD', `is required with KAFKA_SASL_MECHANISM=${config.kafkaSaslMechanism}`);
  }
  if (config.compromiseRetentionDays < config.compromiseLookbackDays) {
    throw new ConfigError('COMPROMISE_RETENTION_DAYS', `(${config.compromiseRetentionDays}) must be at least COMPROMISE_LOOKBACK_DAYS (${config.compromiseLookbackDays})`);
  }
  if (config.blockThreshold < config.reviewThreshold) {
    throw new ConfigError('BLOCK_THRESHOLD', `(${config.blockThreshold}) must not be below REVIEW_THRESHOLD (${config.reviewThreshold})`);
  }
  // a malformed user list stops the start with the variable's name, like every other bad value
  if (config.deskUsers !== undefined) parseUsers(config.deskUsers, 'DESK_USERS');
  if (config.kafkaBrokers.length > 0 && config.deskDatabaseUrl !== undefined && config.deskUsers === undefined && config.deskUsersFile === undefined) {
    throw new ConfigError('DESK_USERS', 'is required with DESK_DATABASE_URL outside the embedded mode (or set DESK_USERS_FILE)');
  }
  const seen = new Map<string, string>();
  for (const key of ['transactionsTopic', 'alertsTopic', 'labelsTopic', 'dlqTopic', 'scoresTopic'] as const) {
    const topic = config[key];
    if (topic === undefined) continue;
    const other = seen.get(topic);
    if (other) throw new ConfigError(configFields[key].env, `names the same topic "${topic}" as ${other}`);
    seen.set(topic, configFields[key].env);
  }
  return config;
}
