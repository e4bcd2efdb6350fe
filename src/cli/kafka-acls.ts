/**
 * `npm run kafka:acls -- [--principal User:cardshield]`: the Kafka ACLs this configuration needs (topics and groups
 * from the environment, as the service reads them), as `kafka-acls.sh` commands for the broker's operator.
 */
import { loadSettings } from '../config/load';
import { ConfigError } from '../errors';
import { kafkaAclsCommand, requiredAcls } from '../kafka/acls';
import { parseToolArgs } from './args';

const { values } = parseToolArgs('kafka:acls', { options: { principal: { type: 'string' }, help: { type: 'boolean' } } });
if (values.help) {
  process.stdout.write('Usage: npm run kafka:acls -- [--principal User:<name>]  (default: User:$KAFKA_SASL_USERNAME)\nTopic and group names come from the same variables the service reads (TRANSACTIONS_TOPIC, KAFKA_GROUP_ID, ...).\n');
  process.exit(0);
}
try {
  const config = loadSettings(['transactionsTopic', 'labelsTopic', 'alertsTopic', 'dlqTopic', 'scoresTopic', 'kafkaGroupId', 'deskDatabaseUrl', 'deskGroupId', 'kafkaSaslUsername']);
  const bootstrap = process.env.KAFKA_BROKERS?.split(',')[0]?.trim() || '<broker:port>';
  const principal = values.principal ?? `User:${config.kafkaSaslUsername ?? 'cardshield'}`;
  for (const acl of requiredAcls(config)) process.stdout.write(`# ${acl.operation} on ${acl.resource} ${acl.name}: ${acl.why}\n${kafkaAclsCommand(acl, principal, bootstrap)}\n`);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`card-shield: configuration error: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
