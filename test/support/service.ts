/**
 * Starting the real service in-process (or as a child process) against the real stack, with its own topics,
 * consumer group and Redis key prefix, after PostHog's plugin-server e2e tests.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { join } from 'node:path';
import type { Config } from '../../src/config/schema';
import { createTopics, testKafka } from './kafka';
import { stackAddresses, uniqueName } from './env';

export const TEST_HMAC_KEY = Buffer.from('card-shield-test-key-0123456789abcdef');

export interface TestNames {
  transactionsTopic: string;
  alertsTopic: string;
  labelsTopic: string;
  dlqTopic: string;
  scoresTopic: string;
  kafkaGroupId: string;
  redisKeyPrefix: string;
}

/** Topics of their own on the shared stack's broker, or on `brokers` (a broker of the test's own). */
export async function prepareNames(prefix: string, partitions = 3, brokers = stackAddresses().kafkaBrokers): Promise<TestNames> {
  const id = uniqueName(prefix);
  const names: TestNames = {
    transactionsTopic: `${id}.transactions`,
    alertsTopic: `${id}.alerts`,
    labelsTopic: `${id}.labels`,
    dlqTopic: `${id}.dlq`,
    scoresTopic: `${id}.scores`,
    kafkaGroupId: `${id}.group`,
    redisKeyPrefix: `${id}:`,
  };
  await createTopics(testKafka(brokers), [names.transactionsTopic, names.alertsTopic, names.labelsTopic, names.dlqTopic, names.scoresTopic], partitions);
  return names;
}

export function serviceOverrides(names: TestNames, extra: Partial<Config> = {}): Partial<Config> {
  const { kafkaBrokers, redisUrl } = stackAddresses();
  return {
    kafkaBrokers,
    redisUrl,
    redisClusterNodes: [],
    panHmacKey: TEST_HMAC_KEY,
    httpPort: 0,
    logLevel: 'warn',
    ...names,
    ...extra,
  };
}

/** The same settings as environment variables, for a child process running src/main.ts. */
export function serviceEnv(names: TestNames, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { kafkaBrokers, redisUrl } = stackAddresses();
  return {
    PATH: process.env.PATH,
    KAFKA_BROKERS: kafkaBrokers.join(','),
    REDIS_URL: redisUrl,
    PAN_HMAC_KEY: `hex:${TEST_HMAC_KEY.toString('hex')}`,
    HTTP_PORT: '0',
    LOG_LEVEL: 'warn',
    TRANSACTIONS_TOPIC: names.transactionsTopic,
    ALERTS_TOPIC: names.alertsTopic,
    LABELS_TOPIC: names.labelsTopic,
    DLQ_TOPIC: names.dlqTopic,
    SCORES_TOPIC: names.scoresTopic,
    KAFKA_GROUP_ID: names.kafkaGroupId,
    REDIS_KEY_PREFIX: names.redisKeyPrefix,
    ...extra,
  };
}

const root = join(__dirname, '..', '..');

/** Runs the service as its own process (`node -r tsx/cjs src/main.ts`), so a test can SIGKILL it. */
export function spawnService(env: NodeJS.ProcessEnv, stdio: StdioOptions = ['ignore', 'ignore', 'pipe']): ChildProcess {
  return spawn(process.execPath, ['--require', 'tsx/cjs', join(root, 'src', 'main.ts')], { cwd: root, env, stdio });
}

/**
 * The service as a child process whose output is kept (stdout and stderr, for asserting on log lines) and whose
 * HTTP port is read from its start line.
 */
export interface WatchedService {
  child: ChildProcess;
  port: Promise<number>;
  output: () => string;
  /** Resolves with the first output line `match` accepts, as soon as the child has written it (no polling). */
  line(match: (line: string) => boolean, what: string, timeoutMs?: number): Promise<string>;
}

export function spawnWatchedService(env: NodeJS.ProcessEnv): WatchedService {
  const child = spawnService(env, ['ignore', 'pipe', 'pipe']);
  let output = '';
  const waiters = new Set<() => void>();
  const append = (chunk: unknown) => {
    output += String(chunk);
    for (const check of waiters) check();
  };
  child.stderr!.on('data', append);
  const port = new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      append(chunk);
      const match = /"port":(\d+)[^\n]*"msg":"card-shield started"/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`service exited (${code}) before it started: ${output}`)));
  });
  const line = (match: (line: string) => boolean, what: string, timeoutMs = 60_000) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no line ${what} within ${timeoutMs} ms; output: ${output.slice(-2000)}`));
      }, timeoutMs);
      const check = () => {
        const found = output.split('\n').find(match);
        if (found === undefined) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(found);
      };
      waiters.add(check);
      check();
    });
  return { child, port, output: () => output, line };
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Polls /readyz of the service at `port` (in-process or a child still starting) until `want` holds; returns that body. */
export async function readinessUntil(
  port: number,
  want: (status: number, body: { checks: Record<string, boolean> }) => boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<{ checks: Record<string, boolean> }> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
    if (response) {
      const body = (await response.json()) as { checks: Record<string, boolean> };
      last = `${response.status} ${JSON.stringify(body)}`;
      if (want(response.status, body)) return body;
    }
    if (Date.now() > deadline) throw new Error(`readiness never became ${what}; last: ${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
