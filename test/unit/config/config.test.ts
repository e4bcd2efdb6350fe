import { loadConfig, modeOf } from '../../../src/config/load';
import { configFields } from '../../../src/config/schema';
import { ConfigError } from '../../../src/errors';

const key = 'k'.repeat(32);
const kafkaEnv = { KAFKA_BROKERS: '127.0.0.1:9092', REDIS_URL: 'redis://127.0.0.1:6379', PAN_HMAC_KEY: key };

function errorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('runs embedded with no environment at all', () => {
    const config = loadConfig({});
    expect(modeOf(config)).toBe('embedded');
    expect(config.transactionsTopic).toBe('card-transactions');
    expect(config.panHmacKey).toBeUndefined();
  });

  it('reads the Kafka mode with its topics and key', () => {
    const config = loadConfig({ ...kafkaEnv, ALERTS_TOPIC: 'bank.alerts', HTTP_PORT: '9000' });
    expect(modeOf(config)).toBe('kafka');
    expect(config.kafkaBrokers).toEqual(['127.0.0.1:9092']);
    expect(config.alertsTopic).toBe('bank.alerts');
    expect(config.httpPort).toBe(9000);
    expect(config.panHmacKey?.length).toBe(32);
  });

  it('accepts hex and base64 keys', () => {
    expect(loadConfig({ ...kafkaEnv, PAN_HMAC_KEY: `hex:${'ab'.repeat(32)}` }).panHmacKey?.length).toBe(32);
    expect(loadConfig({ ...kafkaEnv, PAN_HMAC_KEY: `base64:${Buffer.alloc(48, 7).toString('base64')}` }).panHmacKey?.length).toBe(48);
  });

  it.each([
    [{ HTTP_PORT: 'eighty' }, 'HTTP_PORT', 'whole number'],
    [{ HTTP_PORT: '70000' }, 'HTTP_PORT', 'whole number'],
    [{ KAFKA_BROKERS: 'localhost' }, 'KAFKA_BROKERS', 'host:port'],
    [{ REDIS_URL: 'http://x:1' }, 'REDIS_URL', 'scheme'],
    [{ REDIS_URL: 'not a url' }, 'REDIS_URL', 'not a URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', 'one of'],
    [{ KAFKA_TLS: 'maybe' }, 'KAFKA_TLS', 'true or false'],
    [{ SCORES_INCLUDE_FEATURES: 'all' }, 'SCORES_INCLUDE_FEATURES', 'true or false'],
    [{ REVIEW_THRESHOLD: '1.5' }, 'REVIEW_THRESHOLD', 'from 0 to 1'],
    [{ REVIEW_THRESHOLD: '0.9', BLOCK_THRESHOLD: '0.5' }, 'BLOCK_THRESHOLD', 'must not be below'],
    [{ DEFAULT_CURRENCY: 'tenge' }, 'DEFAULT_CURRENCY', 'ISO 4217'],
    [{ KAFKA_BROKERS: '127.0.0.1:9092' }, 'REDIS_URL', 'required when KAFKA_BROKERS'],
    [{ KAFKA_BROKERS: '127.0.0.1:9092', REDIS_URL: 'redis://127.0.0.1:6379' }, 'PAN_HMAC_KEY', 'required'],
    [{ ...kafkaEnv, PAN_HMAC_KEY: 'short' }, 'PAN_HMAC_KEY', 'at least 32 bytes'],
    [{ ...kafkaEnv, KAFKA_SASL_MECHANISM: 'scram-sha-512' }, 'KAFKA_SASL_USERNAME', 'required'],
    [{ ...kafkaEnv, KAFKA_SASL_MECHANISM: 'kerberos' }, 'KAFKA_SASL_MECHANISM', 'one of'],
    [{ ...kafkaEnv, DLQ_TOPIC: 'card-transactions' }, 'DLQ_TOPIC', 'same topic'],
  ])('rejects %j naming %s', (env, variable, problem) => {
    const error = errorOf(env as Record<string, string>);
    expect(error.variable).toBe(variable);
    expect(error.message.startsWith(`${variable}: `)).toBe(true);
    expect(error.message).toContain(problem);
    expect(error.message).not.toContain('\n');
  });

  it('reads the challenger directory and the features flag', () => {
    expect(loadConfig({})).toMatchObject({ challengerModelDir: undefined, scoresIncludeFeatures: false });
    expect(loadConfig({ CHALLENGER_MODEL_DIR: 'models/next', SCORES_INCLUDE_FEATURES: 'true' })).toMatchObject({ challengerModelDir: 'models/next', scoresIncludeFeatures: true });
  });

  it('never echoes a secret in its error', () => {
    const error = errorOf({ ...kafkaEnv, PAN_HMAC_KEY: 'secret-but-short' });
    expect(error.message).not.toContain('secret-but-short');
  });

  it('has a help text and an environment variable for every key', () => {
    for (const field of Object.values(configFields)) {
      expect(field.env).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(field.help.length).toBeGreaterThan(10);
    }
  });
});
