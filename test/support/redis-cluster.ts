/**
 * Real Redis servers for tests that must own their server: a single redis-server (a test that stops and restarts
 * it) or a three-master Redis Cluster. Each runs from its own temp dir on free loopback ports, is awaited by
 * condition (its "Ready to accept connections" line, `cluster_state:ok`), and is stopped by pid, never by name.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free port whose cluster bus port (+10000) is free too. */
async function freeClusterPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (port + 10000 <= 65535 && (await portIsFree(port + 10000))) return port;
  }
  throw new Error('no free port pair for a cluster node');
}

export interface RedisServer {
  port: number;
  url: string;
  pid: number;
  dir: string;
  /** Stops with SIGTERM (or SIGKILL: no goodbye, no final save) and waits for the process to exit. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts the server again on the same port and directory (with its data, when persistence is on). */
  restart(): Promise<void>;
}

export interface RedisServerOptions {
  /** Extra redis-server arguments, e.g. ['--appendonly', 'yes']. */
  args?: string[];
  port?: number;
  dir?: string;
}

function waitForReady(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error(`redis-server not ready within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    function fail(error: Error) {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      reject(error);
    }
    function onData(chunk: Buffer) {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.off('exit', onExit);
        child.stdout?.resume(); // keep draining so the server never blocks on a full pipe
        resolve();
      }
    }
    function onExit(code: number | null) {
      fail(new Error(`redis-server exited with ${code} before it was ready:\n${output}`));
    }
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'card-shield-redis-'));
  let child: ChildProcess;

  async function launch(): Promise<void> {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', '--logfile', '', ...(options.args ?? [])],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await waitForReady(child, 20_000);
  }

  await launch();
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child.pid as number;
    },
    dir,
    async stop(signal = 'SIGTERM') {
      const done = exited(child);
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid as number, signal);
      await done;
    },
    async restart() {
      await server.stop();
      await launch();
    },
  };
  return server;
}

/** Removes a server's temp dir (after its last stop). */
export function removeServerDir(server: RedisServer): void {
  rmSync(server.dir, { recursive: true, force: true });
}

export interface RedisCluster {
  /** host:port of every master, for REDIS_CLUSTER_NODES. */
  nodes: string[];
  stop(): Promise<void>;
}

async function clusterStateOk(port: number): Promise<boolean> {
  const { stdout } = await run('redis-cli', ['-p', String(port), 'cluster', 'info']);
  return /cluster_state:ok/.test(stdout);
}

/** Polls a condition until it holds; the short pause between polls only spares the CPU, it synchronizes nothing. */
async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

/** Three masters, no replicas, all 16384 slots assigned, `cluster_state:ok` on every node. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const servers: RedisServer[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const port = await freeClusterPort();
      servers.push(await startRedisServer({ port, args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--appendonly', 'no'] }));
    }
    const nodes = servers.map((s) => `127.0.0.1:${s.port}`);
    await run('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 60_000 });
    for (const server of servers) await waitUntil(() => clusterStateOk(server.port), 30_000, `cluster_state:ok on ${server.port}`);
    return {
      nodes,
      async stop() {
        await Promise.all(servers.map((s) => s.stop()));
        servers.forEach(removeServerDir);
      },
    };
  } catch (error) {
    await Promise.all(servers.map((s) => s.stop()));
    servers.forEach(removeServerDir);
    throw error;
  }
}
