/**
 * A Kafka broker of a test's own (a test that kills the shared one would break the others): the same jars and
 * KRaft single-node settings as scripts/stack-up.sh, its own temp dir and free loopback ports, started by pid and
 * stopped by pid. `kill()` is SIGKILL (no controlled shutdown); `restart()` starts it again on the same ports and
 * data, as an operator's restart would.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
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
  address: string;
  /** SIGKILL, then waits for the process to be gone. */
  kill(): Promise<void>;
  /** Starts the broker again on the same ports and data; resolves when it answers a metadata request. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startKafkaBroker(): Promise<KafkaBroker> {
  // The jars stack-up.sh resolved for the version the stack runs (the integration global setup ran it).
  const lib = join(root, '.stack', 'kafka', `lib-${process.env.STACK_KAFKA_VERSION ?? '3.9.1'}`);
  const dir = mkdtempSync(join(tmpdir(), 'card-shield-kafka-'));
  const [port, controllerPort] = [await freePort(), await freePort()];
  const config = join(dir, 'server.properties');
  writeFileSync(
    config,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
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
  await run('java', [...java, 'kafka.tools.StorageTool', 'format', '-t', stdout.trim().split('\n').pop()!, '-c', config]);

  let child: ChildProcess;
  const pidFile = join(dir, 'kafka.pid');
  async function launch() {
    child = spawn('java', [...java, 'kafka.Kafka', config], { stdio: 'ignore' });
    writeFileSync(pidFile, String(child.pid));
    await run(process.execPath, [join(root, 'scripts', 'wait-for-kafka.js'), `127.0.0.1:${port}`, '120000', pidFile]);
  }
  const gone = () => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once('exit', () => r())));

  await launch();
  return {
    address: `127.0.0.1:${port}`,
    async kill() {
      const exited = gone();
      process.kill(child.pid!, 'SIGKILL');
      await exited;
    },
    restart: launch,
    async stop() {
      const exited = gone();
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
