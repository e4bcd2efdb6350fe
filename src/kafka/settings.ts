/**
 * The Kafka connection settings alone, read through the service's config fields (same variables, same validation)
 * without `loadConfig`'s service-wide checks: offline tools and the load generator need no Redis and no PAN key.
 */
import { configFields } from '../config/schema';
import type { KafkaSettings } from './client';

export function kafkaSettingsFromEnv(env: NodeJS.ProcessEnv): KafkaSettings {
  const f = configFields;
  return {
    kafkaBrokers: f.kafkaBrokers.parse(env[f.kafkaBrokers.env]),
    kafkaClientId: f.kafkaClientId.parse(env[f.kafkaClientId.env]),
    kafkaSaslMechanism: f.kafkaSaslMechanism.parse(env[f.kafkaSaslMechanism.env]),
    kafkaSaslUsername: f.kafkaSaslUsername.parse(env[f.kafkaSaslUsername.env]),
    kafkaSaslPassword: f.kafkaSaslPassword.parse(env[f.kafkaSaslPassword.env]),
    kafkaTls: f.kafkaTls.parse(env[f.kafkaTls.env]),
    kafkaTlsCaFile: f.kafkaTlsCaFile.parse(env[f.kafkaTlsCaFile.env]),
    kafkaTlsRejectUnauthorized: f.kafkaTlsRejectUnauthorized.parse(env[f.kafkaTlsRejectUnauthorized.env]),
  };
}
