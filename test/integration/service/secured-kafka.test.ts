/**
 * Kafka as a bank runs it: a SASL_SSL listener with SCRAM-SHA-512 users (created when the storage is formatted) and
 * a broker certificate from a CA generated here (a broker of the test's own, test/support/kafka-broker.ts; its
 * PLAINTEXT listener serves only this test's tooling). The service runs as its own process, configured by the
 * KAFKA_SASL_* and KAFKA_TLS* variables alone. With the right user, password and CA it scores; a wrong password, a CA
 * that did not sign the broker's certificate, or no CA file at all (the system CAs) each leave it up and not ready,
 * with one line naming the setting to fix, and neither password is ever logged.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collect, produceAll, testKafka, type Collector } from '../../support/kafka';
import { startKafkaBroker, type KafkaBroker } from '../../support/kafka-broker';
import { readinessUntil, prepareNames, serviceEnv, spawnWatchedService, exited, type TestNames } from '../../support/service';
import { asKafkaMessage, cardStream } from '../../support/traffic';

const USER = 'cardshield';
const PASSWORD = 'cs-kafka-secret-4b8e21';
const WRONG_PASSWORD = 'not-the-kafka-password-93ac';

describe('Kafka over SASL_SSL with SCRAM-SHA-512', () => {
  const dir = mkdtempSync(join(tmpdir(), 'card-shield-kafka-tls-'));
  let broker: KafkaBroker;
  let names: TestNames;
  let scores: Collector;
  let otherCa: string;
  const children: ChildProcess[] = [];

  function start(extra: Record<string, string>): { child: ChildProcess; port: Promise<number>; output: () => string } {
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
    broker = await startKafkaBroker({ secure: { users: [{ name: USER, password: PASSWORD }] } });
    names = await prepareNames('secured-kafka', 3, [broker.address]);
    const kafka = testKafka([broker.address]);
    scores = await collect(kafka, names.scoresTopic);
    // A CA of its own that signed nothing the broker presents.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=some other CA', '-keyout', 'other.key', '-out', 'other.pem'], { cwd: dir, stdio: 'pipe' });
    otherCa = join(dir, 'other.pem');
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await scores?.stop();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('scores over SASL_SSL with the right user, password and CA', async () => {
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
});
