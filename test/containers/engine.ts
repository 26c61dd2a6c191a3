/**
 * The container engine as the container tier uses it: podman run as root with a containers.conf
 * of our own (handed over through CONTAINERS_CONF, so the machine's configuration is untouched)
 * that picks the runc runtime, keeps every container's ulimits within this machine's hard
 * limits, and uses the netavark network backend (container names resolve on compose networks).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Machine-wide cache for the assembled base images' root filesystems (outside the repository:
 * one copy per machine, shared by every checkout). Overridable for a machine with a small /var.
 */
export const CACHE_DIR = process.env.P2P_COMM_CONTAINER_CACHE ?? '/var/cache/p2p-comm-test';
/** Output kept per command for error messages, bytes (the tail explains a failure). */
const OUTPUT_TAIL_BYTES = 32 * 1024;
/** Upper bound for any one podman or build command, ms (a cold debootstrap is ~1 min). */
export const COMMAND_TIMEOUT_MS = 10 * 60_000;
/** nproc inside containers: far above what a replica uses, below every machine's hard limit. */
const CONTAINER_NPROC = 4096;

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** This machine's hard limits (podman must not ask the runtime for more than these). */
export function hardLimits(): { nofile: number; nproc: number } {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const hard = (name: string) => {
    const value = new RegExp(`^${name}\\s+\\S+\\s+(\\S+)`, 'm').exec(limits)?.[1];
    if (value === undefined) throw new Error(`no "${name}" line in /proc/self/limits`);
    return value === 'unlimited' ? Number.POSITIVE_INFINITY : Number(value);
  };
  // 1048576 is podman's own default for nofile; never ask for more than the kernel allows.
  return {
    nofile: Math.min(hard('Max open files'), 1_048_576),
    nproc: Math.min(hard('Max processes'), CONTAINER_NPROC),
  };
}

let confPath: string | null = null;

/** Path of the containers.conf written for this tier (once per process). */
export function containersConf(): string {
  if (confPath) return confPath;
  const { nofile, nproc } = hardLimits();
  mkdirSync(CACHE_DIR, { recursive: true });
  const path = join(CACHE_DIR, 'containers.conf');
  writeFileSync(
    path,
    [
      '# Written by test/containers/engine.ts for the container test tier.',
      '[containers]',
      `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`,
      '[engine]',
      // crun refuses cgroups in hybrid mode; runc works on such hosts and on unified ones.
      'runtime = "runc"',
      '[network]',
      'network_backend = "netavark"',
      '',
    ].join('\n'),
  );
  confPath = path;
  return path;
}

/** Environment for podman and podman-compose child processes. */
export function engineEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, CONTAINERS_CONF: containersConf(), ...extra };
}

/**
 * Run a command to completion with bounded output; rejects with the output tail on a non-zero
 * exit unless `allowFailure` is set.
 */
export function run(
  command: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; allowFailure?: boolean; timeoutMs?: number; input?: string } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: opts.env ?? engineEnv(),
      cwd: opts.cwd,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout = (stdout + d.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? COMMAND_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${command}: ${err.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const result = { code, stdout, stderr };
      if (code === 0 || opts.allowFailure) resolve(result);
      else
        reject(
          new Error(
            `${command} ${args.join(' ')} exited with ${code}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`,
          ),
        );
    });
  });
}

/** `podman …` with this tier's configuration; resolves with trimmed stdout. */
export async function podman(args: readonly string[], opts: { allowFailure?: boolean } = {}): Promise<string> {
  const { stdout } = await run('podman', args, opts);
  return stdout.trim();
}

/** Whether a local image with this name exists (never pulls). */
export async function imageExists(name: string): Promise<boolean> {
  const { code } = await run('podman', ['image', 'exists', name], { allowFailure: true });
  return code === 0;
}

/** One label of a local image, or '' when the image or label is missing. */
export async function imageLabel(name: string, label: string): Promise<string> {
  if (!(await imageExists(name))) return '';
  const out = await podman(['image', 'inspect', '--format', `{{ index .Labels "${label}" }}`, name]);
  return out === '<no value>' ? '' : out;
}
