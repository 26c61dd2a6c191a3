/**
 * Child-process plumbing for the cluster test: free loopback ports, processes whose output is
 * kept (bounded) for failure messages, readiness polling, and stopping with a deadline.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';

/** Output kept per process for diagnostics, bytes (the tail is what explains a failure). */
const OUTPUT_TAIL_BYTES = 16 * 1024;
/** Interval between readiness probes, ms. */
const POLL_INTERVAL_MS = 100;

export async function freeTcpPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

export class Proc {
  readonly child: ChildProcess;
  #output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly name: string,
    command: string,
    args: readonly string[],
    opts: { cwd: string; env: NodeJS.ProcessEnv },
  ) {
    this.child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer) => {
      this.#output = (this.#output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => resolve({ code, signal }));
      this.child.on('error', (err) => {
        keep(Buffer.from(`spawn error: ${err.message}\n`));
        resolve({ code: null, signal: null });
      });
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get output(): string {
    return `--- ${this.name} (last ${OUTPUT_TAIL_BYTES} bytes) ---\n${this.#output}`;
  }

  /** Send `signal`, wait up to `timeoutMs`, then SIGKILL. Resolves with how it exited. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5_000) {
    if (this.running) this.child.kill(signal);
    const timer = setTimeout(() => this.running && this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Poll `probe` until it returns true, the process dies, or `timeoutMs` passes. */
export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number, proc?: Proc) {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (proc && !proc.running) throw new Error(`${proc.name} exited while waiting for ${what}\n${proc.output}`);
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} ${lastError}\n${proc?.output ?? ''}`);
}

export interface HttpResult {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** GET over HTTP, or over HTTPS trusting `ca` (a test certificate); redirects are not followed. */
export async function httpGet(url: string, ca?: string): Promise<HttpResult> {
  const get = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = get(url, { ca, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
