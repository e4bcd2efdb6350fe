import { explainKafkaFailure, type KafkaSettings } from '../../../src/kafka/client';

const settings: KafkaSettings = {
  kafkaBrokers: ['kafka:9093'],
  kafkaClientId: 'card-shield',
  kafkaSaslMechanism: 'scram-sha-512',
  kafkaSaslUsername: 'cardshield',
  kafkaSaslPassword: 'the-secret-password',
  kafkaTls: true,
  kafkaTlsCaFile: '/etc/ca.pem',
  kafkaTlsRejectUnauthorized: true,
};

describe('explainKafkaFailure', () => {
  it('names the SASL settings for a refused login, without the password', () => {
    const error = Object.assign(new Error('SASL SCRAM SHA512 authentication failed'), { name: 'KafkaJSSASLAuthenticationError' });
    const line = explainKafkaFailure(error, settings)!;
    expect(line).toContain('KAFKA_SASL_PASSWORD');
    expect(line).not.toContain('the-secret-password');
  });

  it('names KAFKA_TLS_CA_FILE for an untrusted certificate, also when kafkajs wrapped the error', () => {
    const connection = Object.assign(new Error('Connection error: self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' });
    const wrapped = Object.assign(new Error(connection.message), { name: 'KafkaJSNumberOfRetriesExceeded', cause: connection });
    expect(explainKafkaFailure(wrapped, settings)).toMatch(/KAFKA_TLS_CA_FILE \(\/etc\/ca\.pem\)/);
    expect(explainKafkaFailure(connection, { ...settings, kafkaTlsCaFile: undefined })).toMatch(/system CAs \(KAFKA_TLS_CA_FILE is unset\)/);
  });

  it('leaves a broker that is merely down to the ordinary start path', () => {
    const refused = Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(explainKafkaFailure(refused, settings)).toBeUndefined();
    expect(explainKafkaFailure(undefined, settings)).toBeUndefined();
  });
});
