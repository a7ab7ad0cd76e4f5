// Real redis-server processes for the distributed tests: each test that stops, kills or
// restarts Redis gets its own server on a free port, so it never disturbs another test.
// Tests skip (with the reason) only when redis-server is not installed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const redisMissing = spawnSync('redis-server', ['--version']).status !== 0
  ? 'redis-server is not installed (apt-get install redis-server): distributed tests skipped'
  : undefined;
if (redisMissing !== undefined) console.warn(redisMissing);

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export class RedisServer {
  private child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort());
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.child !== undefined) return;
    const child = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(this.port), '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const onData = (chunk: Buffer): void => {
        out += chunk.toString();
        if (out.includes('Ready to accept connections')) {
          child.stdout!.off('data', onData);
          child.stdout!.resume();
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.once('exit', (code) => {
        this.child = undefined;
        reject(new Error(`redis-server exited with ${code}: ${out}`));
      });
    });
  }

  /** Stops the server (SIGTERM, or SIGKILL to drop it without a clean shutdown). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    this.child = undefined;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}

/**
 * The server started by `.ci/redis.sh start` (REDIS_URL, or .ci/redis.env) when there is
 * one, else a fresh one for this file. Tests that stop Redis never use this.
 */
export async function sharedRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  let url = process.env.REDIS_URL;
  if (url === undefined && existsSync(ENV_FILE)) {
    url = /^REDIS_URL=(.+)$/m.exec(readFileSync(ENV_FILE, 'utf8'))?.[1]?.trim();
  }
  if (url !== undefined) return { url, stop: async () => {} };
  const server = await RedisServer.start();
  return { url: server.url, stop: () => server.stop() };
}

const ENV_FILE = fileURLToPath(new URL('../../.ci/redis.env', import.meta.url));
