/**
 * Redis as a bank runs it: TLS only (a certificate from a CA generated here with openssl), the default user
 * disabled, and the service's own ACL user limited to its key prefix and to the commands it uses — the ones it sends
 * (EVALSHA/EVAL, SSCAN, PING, INFO for ioredis' ready check) and the ones its Lua scripts call, which Redis checks
 * against the same user. The service runs as its own process, trusting the CA through NODE_EXTRA_CA_CERTS.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { startRedisServer, removeServerDir, type RedisServer } from '../../support/redis-cluster';
import { collect, produceAll, testKafka, type Collector } from '../../support/kafka';
import { readinessUntil, prepareNames, serviceEnv, spawnWatchedService, exited, type TestNames } from '../../support/service';
import { asKafkaMessage, cardStream } from '../../support/traffic';
import { stackAddresses } from '../../support/env';

const PASSWORD = 'cs-redis-secret-7f3a9c';
const ADMIN_PASSWORD = 'cs-admin-secret-19be44';
// What the service needs, and nothing else: its scripts' commands, the list mirror's SSCAN, PING for readiness and
// INFO for ioredis' ready check.
const SERVICE_COMMANDS = '+evalsha +eval +sscan +ping +info +get +set +setrange +del +hget +hset +hsetnx +hdel +hgetall +hmget +pexpire +zadd +zscore +zremrangebyscore +append +pexpireat +pfadd +pfcount +hvals +zrem +zrangebyscore +zrange +sadd +smismember +strlen +xadd +xrange';

function generateCertificates(dir: string): { ca: string; cert: string; key: string } {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=card-shield test CA', '-keyout', 'ca.key', '-out', 'ca.pem');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'redis.key', '-out', 'redis.csr');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  run('x509', '-req', '-in', 'redis.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'redis.pem');
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'redis.pem'), key: join(dir, 'redis.key') };
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('Redis with TLS, ACLs and the default user disabled', () => {
  const { kafkaBrokers } = stackAddresses();
  const kafka = testKafka(kafkaBrokers);
  const dir = mkdtempSync(join(tmpdir(), 'card-shield-tls-'));
  let tls: { ca: string; cert: string; key: string };
  let server: RedisServer;
  let tlsPort: number;
  let names: TestNames;
  let scores: Collector;
  let admin: Redis;
  const children: ChildProcess[] = [];

  const tlsClient = (username?: string, password?: string) =>
    new Redis({ host: 'localhost', port: tlsPort, username, password, tls: { ca: readFileSync(tls.ca), servername: 'localhost' }, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });

  function start(password: string): { child: ChildProcess; port: Promise<number>; output: () => string } {
    const started = spawnWatchedService(
      serviceEnv(names, {
        REDIS_URL: `rediss://cardshield:${encodeURIComponent(password)}@localhost:${tlsPort}`,
        NODE_EXTRA_CA_CERTS: tls.ca,
        MODEL_DIR: 'none',
        LOG_LEVEL: 'info',
      }),
    );
    children.push(started.child);
    return started;
  }

  beforeAll(async () => {
    tls = generateCertificates(dir);
    names = await prepareNames('secured-redis');
    tlsPort = await freePort();
    writeFileSync(
      join(dir, 'users.acl'),
      [
        'user default off',
        `user cardshield on >${PASSWORD} resetkeys ~${names.redisKeyPrefix}* resetchannels -@all ${SERVICE_COMMANDS}`,
        `user admin on >${ADMIN_PASSWORD} ~* &* +@all`,
        '',
      ].join('\n'),
    );
    server = await startRedisServer({
      // --port 0: no plaintext port at all; clients must come over TLS.
      args: ['--port', '0', '--tls-port', String(tlsPort), '--tls-cert-file', tls.cert, '--tls-key-file', tls.key, '--tls-ca-cert-file', tls.ca, '--tls-auth-clients', 'no', '--aclfile', join(dir, 'users.acl')],
    });
    admin = tlsClient('admin', ADMIN_PASSWORD);
    await admin.connect();
    scores = await collect(kafka, names.scoresTopic);
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await scores?.stop();
    admin?.disconnect();
    await server?.stop();
    if (server) removeServerDir(server);
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses the default user and confines the service user to its prefix and commands', async () => {
    // Without credentials the connection handshake itself (ioredis sends HELLO) is refused.
    const anonymous = tlsClient();
    const refused = new Promise<Error>((resolve) => anonymous.once('error', resolve));
    await anonymous.connect().catch(() => undefined);
    expect((await refused).message).toMatch(/NOAUTH/);
    anonymous.disconnect();

    const user = tlsClient('cardshield', PASSWORD);
    await user.connect();
    expect(await user.ping()).toBe('PONG');
    await expect(user.get('someone-else:key')).rejects.toThrow(/NOPERM/);
    await expect(user.flushall()).rejects.toThrow(/NOPERM/);
    await expect(user.keys('*')).rejects.toThrow(/NOPERM/);
    user.disconnect();
  });

  it('scores over TLS as the limited user', async () => {
    const service = start(PASSWORD);
    const port = await service.port;
    await readinessUntil(port, (status) => status === 200, 'ready');
    const traffic = cardStream(1, 8, Date.parse('2026-11-30T06:00:00Z'), 60_000, 'secured');
    await produceAll(kafka, names.transactionsTopic, traffic.map(asKafkaMessage));
    await scores.waitFor((ms) => ms.length >= traffic.length, 'every decision');
    // The state really is in this Redis, under the prefix, written by the limited user's scripts.
    expect((await admin.keys(`${names.redisKeyPrefix}*`)).length).toBeGreaterThan(0);
    expect(await admin.keys('*')).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^${names.redisKeyPrefix}`))]));
    expect(service.output()).not.toContain('NOPERM');
    service.child.kill('SIGTERM');
    expect(await exited(service.child)).toBe(0);
  });

  it('is not ready with a wrong password, says why in one line, and never logs the password', async () => {
    const wrong = 'not-the-password-5d1e';
    const service = start(wrong);
    const port = await service.port;
    const body = await readinessUntil(port, (status, b) => status === 503 && b.checks.state === false, 'not ready with state false');
    expect(body.checks.rules).toBe(true);
    const lost = service
      .output()
      .split('\n')
      .filter((l) => l.includes('Redis connection lost'));
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatch(/WRONGPASS/);
    expect(service.output()).not.toContain(wrong);
    service.child.kill('SIGTERM');
    expect(await exited(service.child)).toBe(0);
  });
});
