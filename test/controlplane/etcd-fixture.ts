/**
 * Test fixture: a real etcd server (Debian etcd-server) on loopback, on free ports, in a temporary
 * data directory. `stop()` kills it and removes the directory; `kill()` + `start()` restart it on
 * the same ports and data (for fault tests). Call `etcdMissing()` first and skip with its message.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ETCD_BIN = process.env.KEEL_ETCD_BIN ?? '/usr/bin/etcd';

/** Why etcd tests cannot run here, or null when they can. */
export function etcdMissing(): string | null {
  return existsSync(ETCD_BIN) ? null : `etcd not installed at ${ETCD_BIN} (Debian package etcd-server, listed in scripts/apt-packages.txt)`;
}

export interface EtcdServer {
  /** The client URL, e.g. http://127.0.0.1:40123. */
  readonly url: string;
  /** `etcd:` + url, for openStore. */
  readonly spec: string;
  readonly dataDir: string;
  /** SIGKILLs the server (data stays), for fault tests. */
  kill(): Promise<void>;
  /** Starts it again on the same ports and data directory. */
  start(): Promise<void>;
  /** Kills the server and removes its data directory. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { health?: string };
    return body.health === 'true';
  } catch {
    return false;
  }
}

export async function startEtcd(): Promise<EtcdServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'keel-etcd-'));
  let lastError: unknown;
  // Free ports can be taken between probing and binding; try a few pairs.
  for (let attempt = 0; attempt < 3; attempt++) {
    const clientPort = await freePort();
    const peerPort = await freePort();
    const server = new Server(dataDir, clientPort, peerPort);
    try {
      await server.start();
      return server;
    } catch (err) {
      lastError = err;
      await server.kill();
    }
  }
  await rm(dataDir, { recursive: true, force: true });
  throw lastError;
}

class Server implements EtcdServer {
  readonly url: string;
  readonly spec: string;
  private child: ChildProcess | null = null;
  private log = '';

  constructor(readonly dataDir: string, private readonly clientPort: number, private readonly peerPort: number) {
    this.url = `http://127.0.0.1:${clientPort}`;
    this.spec = `etcd:${this.url}`;
  }

  async start(): Promise<void> {
    const peer = `http://127.0.0.1:${this.peerPort}`;
    this.log = '';
    const child = spawn(
      ETCD_BIN,
      [
        '--name', 'keel-test',
        '--data-dir', join(this.dataDir, 'data'),
        '--listen-client-urls', this.url,
        '--advertise-client-urls', this.url,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `keel-test=${peer}`,
        '--initial-cluster-state', 'new',
        '--logger', 'zap',
        '--log-level', 'warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.child = child;
    child.stderr!.on('data', (d: Buffer) => {
      this.log = (this.log + d.toString()).slice(-4000);
    });
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) break;
      if (await healthy(this.url)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`etcd did not become healthy on ${this.url} (exit ${child.exitCode ?? child.signalCode ?? 'none'}): ${this.log}`);
  }

  async kill(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
