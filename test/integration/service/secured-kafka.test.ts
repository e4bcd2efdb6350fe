/**
 * Kafka as a bank runs it: a SASL_SSL listener with SCRAM-SHA-512 users (created when the storage is formatted) and
 * a broker certificate from a CA generated here (a broker of the test's own, test/support/kafka-broker.ts; its
 * PLAINTEXT listener serves only this test's tooling). The service runs as its own process, configured by the
 * KAFKA_SASL_* and KAFKA_TLS* variables alone. With the right user, password and CA it scores; a wrong password, a CA
 * that did not sign the broker's certificate, or no CA file at all (the system CAs) each leave it up and not ready,
 * with one line naming the setting to fix, and neither password is ever logged. The broker enforces ACLs (nothing
 * is allowed without one) and the service's user holds exactly those `npm run kafka:acls` lists (src/kafka/acls.ts):
 * enough to score; without one of them the service says which.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes, type AclEntry, type Admin } from 'kafkajs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requiredAcls, type RequiredAcl } from '../../../src/kafka/acls';
import { collect, produceAll, testKafka, type Collector } from '../../support/kafka';
import { startKafkaBroker, type KafkaBroker } from '../../support/kafka-broker';
import { readinessUntil, prepareNames, serviceEnv, spawnWatchedService, exited, type TestNames, type WatchedService } from '../../support/service';
import { asKafkaMessage, cardStream } from '../../support/traffic';

const USER = 'cardshield';
const PASSWORD = 'cs-kafka-secret-4b8e21';
const WRONG_PASSWORD = 'not-the-kafka-password-93ac';

function aclEntry(acl: RequiredAcl): AclEntry {
  return {
    resourceType: acl.resource === 'topic' ? AclResourceTypes.TOPIC : AclResourceTypes.GROUP,
    resourceName: acl.name,
    resourcePatternType: ResourcePatternTypes.LITERAL,
    principal: `User:${USER}`,
    host: '*',
    operation: acl.operation === 'READ' ? AclOperationTypes.READ : AclOperationTypes.WRITE,
    permissionType: AclPermissionTypes.ALLOW,
  };
}

describe('Kafka over SASL_SSL with SCRAM-SHA-512', () => {
  const dir = mkdtempSync(join(tmpdir(), 'card-shield-kafka-tls-'));
  let broker: KafkaBroker;
  let names: TestNames;
  let scores: Collector;
  let otherCa: string;
  let admin: Admin;
  let acls: RequiredAcl[];
  const children: ChildProcess[] = [];

  /** Runs `body` with one of the granted ACLs taken away, and grants it again afterwards. */
  async function without(match: (acl: RequiredAcl) => boolean, body: (acl: RequiredAcl) => Promise<void>) {
    const acl = acls.find(match)!;
    const { resourcePatternType, ...filter } = aclEntry(acl);
    await admin.deleteAcls({ filters: [{ ...filter, resourcePatternType }] });
    try {
      await body(acl);
    } finally {
      await admin.createAcls({ acl: [aclEntry(acl)] });
    }
  }

  function start(extra: Record<string, string>): WatchedService {
    const started = spawnWatchedService(
      serviceEnv(names, {
        KAFKA_BROKERS: broker.secure!.address,
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: USER,
        KAFKA_SASL_PASSWORD: PASSWORD,
        KAFKA_TLS: 'true',
        KAFKA_TLS_CA_FILE: broker.secure!.caFile,
        MODEL_DIR: 'none',
        LOG_LEVEL: 'info',
        ...extra,
      }),
    );
    children.push(started.child);
    return started;
  }

  /** Not ready with the consumers down, exactly one line naming `setting`, and no password anywhere in the output. */
  async function expectRefused(extra: Record<string, string>, setting: string, cause: RegExp) {
    const service = start(extra);
    const port = await service.port;
    const body = await readinessUntil(port, (status, b) => status === 503 && b.checks.consumers === false, 'not ready with consumers false');
    expect(body.checks.state).toBe(true);
    await service.line((l) => l.includes(setting), `naming ${setting}`);
    const lines = service
      .output()
      .split('\n')
      .filter((l) => l.includes(setting));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(cause);
    expect(lines[0]).toContain('not ready');
    // Still not ready a moment later (the first retry is 5 s away): the state did not flip by chance.
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);
    expect(service.output()).not.toContain(PASSWORD);
    expect(service.output()).not.toContain(WRONG_PASSWORD);
    service.child.kill('SIGTERM');
    expect(await exited(service.child)).toBe(0);
    return lines[0];
  }

  beforeAll(async () => {
    broker = await startKafkaBroker({ secure: { users: [{ name: USER, password: PASSWORD }], acls: true } });
    names = await prepareNames('secured-kafka', 3, [broker.address]);
    const kafka = testKafka([broker.address]);
    // The service's user gets what `npm run kafka:acls` lists for these names (scores topic set, no desk): no more.
    acls = requiredAcls({ ...names, deskDatabaseUrl: undefined, deskGroupId: 'unused' });
    admin = kafka.admin();
    await admin.connect();
    await admin.createAcls({ acl: acls.map(aclEntry) });
    scores = await collect(kafka, names.scoresTopic);
    // A CA of its own that signed nothing the broker presents.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=some other CA', '-keyout', 'other.key', '-out', 'other.pem'], { cwd: dir, stdio: 'pipe' });
    otherCa = join(dir, 'other.pem');
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await scores?.stop();
    await admin?.disconnect();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('scores over SASL_SSL with the right user, password and CA, holding only the ACLs npm run kafka:acls lists', async () => {
    const service = start({});
    const port = await service.port;
    await readinessUntil(port, (status) => status === 200, 'ready');
    const traffic = cardStream(1, 8, Date.parse('2026-11-30T06:00:00Z'), 60_000, 'secured-kafka');
    await produceAll(testKafka([broker.address]), names.transactionsTopic, traffic.map(asKafkaMessage));
    await scores.waitFor((ms) => ms.length >= traffic.length, 'every decision');
    expect(service.output()).not.toContain(PASSWORD);
    service.child.kill('SIGTERM');
    expect(await exited(service.child)).toBe(0);
  });

  it('is not ready with a wrong password and names KAFKA_SASL_PASSWORD', async () => {
    await expectRefused({ KAFKA_SASL_PASSWORD: WRONG_PASSWORD }, 'KAFKA_SASL_PASSWORD', /SASL scram-sha-512 login of user cardshield:/);
  });

  it('is not ready when KAFKA_TLS_CA_FILE names a CA that did not sign the broker certificate', async () => {
    await expectRefused({ KAFKA_TLS_CA_FILE: otherCa }, 'KAFKA_TLS_CA_FILE', /certificate is not trusted .*other\.pem/);
  });

  it('is not ready without KAFKA_TLS_CA_FILE (the system CAs do not trust the test CA)', async () => {
    await expectRefused({ KAFKA_TLS_CA_FILE: '' }, 'KAFKA_TLS_CA_FILE', /certificate is not trusted .*system CAs/);
  });

  it('is not ready without READ on its consumer group, and names the group', async () => {
    await without(
      (acl) => acl.resource === 'group' && acl.name === names.kafkaGroupId,
      async () => {
        const line = await expectRefused({}, 'KAFKA_GROUP_ID', new RegExp(`denies user cardshield access to group ${names.kafkaGroupId} \\(GROUP_AUTHORIZATION_FAILED\\)`));
        expect(line).toContain('README, Kafka ACLs');
      },
    );
  });

  it('is not ready without READ on the labels topic, and names the topic', async () => {
    await without(
      (acl) => acl.resource === 'topic' && acl.name === names.labelsTopic,
      async () => {
        await expectRefused({}, 'LABELS_TOPIC', new RegExp(`access to topic ${names.labelsTopic.replace(/\./g, '\\.')} \\(TOPIC_AUTHORIZATION_FAILED\\)`));
      },
    );
  });

  it('holds a chunk it may not dead-letter (no WRITE on the DLQ topic), says so, and delivers it once the ACL is back', async () => {
    const dlq = await collect(testKafka([broker.address]), names.dlqTopic);
    const service = start({});
    try {
      const port = await service.port;
      await readinessUntil(port, (status) => status === 200, 'ready');
      await without(
        (acl) => acl.resource === 'topic' && acl.name === names.dlqTopic,
        async () => {
          await produceAll(testKafka([broker.address]), names.transactionsTopic, [{ key: 'k', value: '{"not": "a transaction"}' }]);
          await readinessUntil(port, (status, b) => status === 503 && b.checks.consumers === false, 'not ready while the dead letter is refused');
          const line = await service.line((l) => l.includes(`grant WRITE on topic ${names.dlqTopic}`), 'naming the WRITE to grant');
          expect(line).toContain('holding the chunk');
          expect(dlq.messages).toHaveLength(0);
        },
      );
      await dlq.waitFor((ms) => ms.length === 1, 'the dead letter, after the ACL is granted again');
      await readinessUntil(port, (status) => status === 200, 'ready again');
    } finally {
      await dlq.stop();
      service.child.kill('SIGTERM');
      expect(await exited(service.child)).toBe(0);
    }
  });
});
