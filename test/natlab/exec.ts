import { execFile, execFileSync } from 'node:child_process';

/** Longest a single lab set-up command (ip, iptables, sysctl, conntrack) may take. */
export const LAB_COMMAND_TIMEOUT_MS = 10_000;

/** Run a command to completion; rejects with its stderr when it exits non-zero. */
export function run(cmd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, [...args], { timeout: LAB_COMMAND_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`${cmd} ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
        return;
      }
      resolve(stdout);
    });
  });
}

/** Run a command inside a network namespace. */
export function nsRun(ns: string, cmd: string, args: readonly string[]): Promise<string> {
  return run('ip', ['netns', 'exec', ns, cmd, ...args]);
}

/** Synchronous variant for exit handlers, where no promise will ever settle. Never throws. */
export function runSyncQuiet(cmd: string, args: readonly string[]): string {
  try {
    return execFileSync(cmd, [...args], { timeout: LAB_COMMAND_TIMEOUT_MS, encoding: 'utf8', stdio: 'pipe' });
  } catch {
    return '';
  }
}
