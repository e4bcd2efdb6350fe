/**
 * A Kafka broker of a test's own (a test that kills the shared one would break the others): the same jars and
 * KRaft single-node settings as scripts/stack-up.sh, its own temp dir and free loopback ports, started by pid and
 * stopped by pid. `kill()` is SIGKILL (no controlled shutdown), `terminate()` is SIGTERM (controlled shutdown, as
 * in a rolling restart); `restart()` starts it again on the same ports and data, as an operator's restart would.
 *
 * With `secure`, the broker also has a SASL_SSL listener as a bank runs one: SCRAM-SHA-512 users created at format
 * time (`--add-scram`, so no ZooKeeper or admin call is needed), and a CA plus a broker certificate for 127.0.0.1
 * generated here with openssl (a PKCS#12 keystore: the one format Kafka 3.9 and 4.1 both read without extra
 * settings). The PLAINTEXT listener stays for the test's own tooling (topics, collectors); the controller listener
 * stays PLAINTEXT too (a single node).
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = join(__dirname, '..', '..');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface KafkaBroker {
  /** The PLAINTEXT listener. */
  address: string;
  /** With `secure`: the SASL_SSL listener, and the PEM file of the CA that signed the broker's certificate. */
  secure?: { address: string; caFile: string };
  /** SIGKILL, then waits for the process to be gone. */
  kill(): Promise<void>;
  /** SIGTERM (the broker's controlled shutdown), then waits for the process to be gone. */
  terminate(): Promise<void>;
  /** Starts the broker again on the same ports and data; resolves when it answers a metadata request. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface SecureOptions {
  /** SCRAM-SHA-512 users, created when the storage is formatted. */
  users: Array<{ name: string; password: string }>;
  /**
   * ACLs enforced (KRaft's StandardAuthorizer, nothing allowed without an ACL) for the SASL users; the PLAINTEXT and
   * controller listeners' ANONYMOUS principal is a super user, so the test's tooling and the broker itself are not.
   */
  acls?: boolean;
}

/** A test CA and a broker certificate it signed (SAN 127.0.0.1 and localhost), as a PKCS#12 keystore. */
function generateBrokerCertificate(dir: string, keystorePassword: string): { caFile: string; keystore: string } {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=card-shield test Kafka CA', '-keyout', 'ca.key', '-out', 'ca.pem');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'broker.key', '-out', 'broker.csr');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl('x509', '-req', '-in', 'broker.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'broker.pem');
  openssl('pkcs12', '-export', '-in', 'broker.pem', '-inkey', 'broker.key', '-certfile', 'ca.pem', '-name', 'broker', '-passout', `pass:${keystorePassword}`, '-out', 'broker.p12');
  return { caFile: join(dir, 'ca.pem'), keystore: join(dir, 'broker.p12') };
}

export async function startKafkaBroker(options: { secure?: SecureOptions } = {}): Promise<KafkaBroker> {
  // The jars stack-up.sh resolved for the version the stack runs (the integration global setup ran it).
  const lib = join(root, '.stack', 'kafka', `lib-${process.env.STACK_KAFKA_VERSION ?? '3.9.1'}`);
  const dir = mkdtempSync(join(tmpdir(), 'card-shield-kafka-'));
  const [port, controllerPort] = [await freePort(), await freePort()];
  const securePort = options.secure ? await freePort() : undefined;
  const keystorePassword = 'broker-keystore-pass';
  const tls = options.secure ? generateBrokerCertificate(dir, keystorePassword) : undefined;
  const config = join(dir, 'server.properties');
  const plain = `PLAINTEXT://127.0.0.1:${port}`;
  const secure = securePort ? `,SASL_SSL://127.0.0.1:${securePort}` : '';
  writeFileSync(
    config,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=${plain}${secure},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=${plain}${secure}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      `listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT${secure ? ',SASL_SSL:SASL_SSL' : ''}`,
      ...(tls
        ? [
            'sasl.enabled.mechanisms=SCRAM-SHA-512',
            'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
            'ssl.keystore.type=PKCS12',
            `ssl.keystore.location=${tls.keystore}`,
            `ssl.keystore.password=${keystorePassword}`,
            `ssl.key.password=${keystorePassword}`,
            'ssl.client.auth=none',
            ...(options.secure?.acls
              ? ['authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer', 'super.users=User:ANONYMOUS', 'allow.everyone.if.no.acl.found=false']
              : []),
          ]
        : []),
      `log.dirs=${join(dir, 'data')}`,
      'num.partitions=3',
      'auto.create.topics.enable=false',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=3',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'num.network.threads=2',
      'num.io.threads=2',
      '',
    ].join('\n'),
  );
  const java = ['-Xms256m', '-Xmx512m', '-XX:+UseG1GC', `-Dkafka.logs.dir=${dir}`, '-cp', `${lib}/*`];
  const { stdout } = await run('java', [...java, 'kafka.tools.StorageTool', 'random-uuid']);
  const scram = (options.secure?.users ?? []).flatMap((u) => ['--add-scram', `SCRAM-SHA-512=[name=${u.name},password=${u.password}]`]);
  await run('java', [...java, 'kafka.tools.StorageTool', 'format', '-t', stdout.trim().split('\n').pop()!, '-c', config, ...scram]);

  let child: ChildProcess;
  const pidFile = join(dir, 'kafka.pid');
  async function launch() {
    child = spawn('java', [...java, 'kafka.Kafka', config], { stdio: 'ignore' });
    writeFileSync(pidFile, String(child.pid));
    await run(process.execPath, [join(root, 'scripts', 'wait-for-kafka.js'), `127.0.0.1:${port}`, '120000', pidFile]);
  }
  const gone = () => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once('exit', () => r())));

  await launch();
  const signal = async (name: NodeJS.Signals) => {
    const exited = gone();
    process.kill(child.pid!, name);
    await exited;
  };
  return {
    address: `127.0.0.1:${port}`,
    secure: securePort && tls ? { address: `127.0.0.1:${securePort}`, caFile: tls.caFile } : undefined,
    kill: () => signal('SIGKILL'),
    terminate: () => signal('SIGTERM'),
    restart: launch,
    async stop() {
      const exited = gone();
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
