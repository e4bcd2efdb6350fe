import { kafkaAclsCommand, requiredAcls } from '../../../src/kafka/acls';
import { explainKafkaFailure, KafkaAccessError, type KafkaSettings } from '../../../src/kafka/client';

const names = {
  transactionsTopic: 'card-transactions',
  labelsTopic: 'fraud-labels',
  alertsTopic: 'fraud-alerts',
  dlqTopic: 'card-transactions.dlq',
  scoresTopic: undefined,
  kafkaGroupId: 'card-shield',
  deskDatabaseUrl: undefined,
  deskGroupId: 'card-shield-desk',
};
const line = (a: { operation: string; resource: string; name: string }) => `${a.operation} ${a.resource} ${a.name}`;

describe('the Kafka ACLs the service needs', () => {
  it('reads its two topics in its two groups and writes alerts and dead letters', () => {
    expect(requiredAcls(names).map(line)).toEqual([
      'READ topic card-transactions',
      'READ group card-shield',
      'READ topic fraud-labels',
      'READ group card-shield.labels',
      'WRITE topic fraud-alerts',
      'WRITE topic card-transactions.dlq',
    ]);
  });

  it('adds WRITE on the scores topic when set, and the desk its reads, groups and the labels it writes', () => {
    const acls = requiredAcls({ ...names, scoresTopic: 'scores', deskDatabaseUrl: 'postgres://db/desk' }).map(line);
    expect(acls).toContain('WRITE topic scores');
    expect(acls).toEqual(expect.arrayContaining(['READ group card-shield-desk-alerts', 'READ group card-shield-desk-labels', 'READ group card-shield-desk-scores', 'READ topic scores', 'WRITE topic fraud-labels']));
  });

  it('prints a kafka-acls.sh command per ACL', () => {
    expect(kafkaAclsCommand(requiredAcls(names)[1], 'User:cardshield', 'kafka:9093')).toBe(
      "kafka-acls.sh --bootstrap-server kafka:9093 --command-config admin.properties --add --allow-principal 'User:cardshield' --operation READ --group 'card-shield'",
    );
  });
});

describe('explaining a refused ACL', () => {
  const settings = { kafkaSaslMechanism: 'scram-sha-512', kafkaSaslUsername: 'cardshield', kafkaSaslPassword: 'the-secret-password' } as KafkaSettings;

  it('names the user, the group and the variable, never the password', () => {
    const explained = explainKafkaFailure(new KafkaAccessError('group', 'card-shield', 'KAFKA_GROUP_ID', 'GROUP_AUTHORIZATION_FAILED'), settings)!;
    expect(explained).toBe('Kafka denies user cardshield access to group card-shield (GROUP_AUTHORIZATION_FAILED): grant READ on the group (README, Kafka ACLs), or check KAFKA_GROUP_ID');
    expect(explained).not.toContain('the-secret-password');
  });

  it('names the topic and its variable', () => {
    expect(explainKafkaFailure(new KafkaAccessError('topic', 'fraud-labels', 'LABELS_TOPIC', 'TOPIC_AUTHORIZATION_FAILED'), settings)).toContain('access to topic fraud-labels (TOPIC_AUTHORIZATION_FAILED): grant READ on the topic');
  });
});
