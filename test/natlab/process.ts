import { type ChildProcess, spawn } from 'node:child_process';

/** Output kept per process for assertions and failure reports; older output is dropped. */
export const LAB_PROCESS_OUTPUT_MAX_CHARS = 1_000_000;
/** Grace between SIGTERM and SIGKILL when stopping a lab process. */
export const LAB_PROCESS_KILL_GRACE_MS = 2_000;

export interface SpawnInNamespaceOptions {
  env?: Readonly<Record<string, string>>;
  cwd?: string;
  /** A name for failure messages, e.g. "server" or "site0-host0 extension". */
  label?: string;
}

/**
 * A process started inside a lab namespace with `ip netns exec` (which execs, so the pid is the
 * command's own). Captures stdout and stderr, lets a test wait for a line, and stops it.
 */
export class LabProcess {
  readonly label: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  private out = '';
  private err = '';
  private lineHandlers: Array<(line: string) => void> = [];
  private partial = '';
  private exitCode: number | null | undefined;

  constructor(ns: string, cmd: string, args: readonly string[], opts: SpawnInNamespaceOptions = {}) {
    this.label = opts.label ?? `${cmd} in ${ns}`;
    this.child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout?.setEncoding('utf8');
    this.child.stderr?.setEncoding('utf8');
    this.child.stdout?.on('data', (chunk: string) => {
      this.out = keepTail(this.out + chunk);
      this.partial += chunk;
      let nl = this.partial.indexOf('\n');
      while (nl >= 0) {
        const line = this.partial.slice(0, nl);
        this.partial = this.partial.slice(nl + 1);
        for (const h of this.lineHandlers) h(line);
        nl = this.partial.indexOf('\n');
      }
    });
    this.child.stderr?.on('data', (chunk: string) => {
      this.err = keepTail(this.err + chunk);
    });
    // A closed stdin (process gone) must not crash the test process.
    this.child.stdin?.on('error', () => {});
    this.exited = new Promise((resolve) => {
      this.child.once('error', (e) => {
        this.err += `\nspawn error: ${e.message}`;
        this.exitCode = null;
        resolve(null);
      });
      this.child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? null : 0);
        resolve(this.exitCode);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  get stdout(): string {
    return this.out;
  }

  get stderr(): string {
    return this.err;
  }

  /** Every complete stdout line from now on. */
  onLine(handler: (line: string) => void): () => void {
    this.lineHandlers.push(handler);
    return () => {
      this.lineHandlers = this.lineHandlers.filter((h) => h !== handler);
    };
  }

  write(text: string): void {
    this.child.stdin?.write(text);
  }

  /** Resolve with the first stdout or stderr text matching `pattern` (already printed or new). */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const m = this.out.match(pattern) ?? this.err.match(pattern);
        if (m) {
          cleanup();
          resolve(m);
          return true;
        }
        return false;
      };
      const onData = (): void => {
        check();
      };
      const onExit = (): void => {
        if (!check()) {
          cleanup();
          reject(new Error(`${this.label} exited before printing ${pattern}:\n${this.describe()}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.label} did not print ${pattern} within ${timeoutMs} ms:\n${this.describe()}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.child.stdout?.off('data', onData);
        this.child.stderr?.off('data', onData);
        this.child.off('exit', onExit);
      };
      if (check()) return;
      if (!this.running) {
        onExit();
        return;
      }
      this.child.stdout?.on('data', onData);
      this.child.stderr?.on('data', onData);
      this.child.once('exit', onExit);
    });
  }

  /** Last lines of both streams, for failure messages. */
  describe(maxChars = 4_000): string {
    return `--- ${this.label} stdout ---\n${this.out.slice(-maxChars)}\n--- ${this.label} stderr ---\n${this.err.slice(-maxChars)}`;
  }

  /** SIGTERM, then SIGKILL after a grace period. Resolves when the process is gone. */
  async stop(graceMs = LAB_PROCESS_KILL_GRACE_MS): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** For exit handlers: no waiting possible. */
  killNow(): void {
    if (this.running) this.child.kill('SIGKILL');
  }
}

function keepTail(s: string): string {
  return s.length > LAB_PROCESS_OUTPUT_MAX_CHARS ? s.slice(-LAB_PROCESS_OUTPUT_MAX_CHARS) : s;
}
