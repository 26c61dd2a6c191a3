import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export type LabAvailability = { ok: true } | { ok: false; reason: string };

let cached: LabAvailability | undefined;

/**
 * Whether this machine can build the lab: root, iproute2 with network namespaces, iptables with
 * NAT, conntrack. Probed once by creating and deleting a throw-away namespace.
 */
export function labAvailability(): LabAvailability {
  if (cached) return cached;
  cached = probe();
  return cached;
}

function probe(): LabAvailability {
  if (process.platform !== 'linux') return { ok: false, reason: `network namespaces need Linux (${process.platform})` };
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return { ok: false, reason: 'the NAT lab needs root (it creates network namespaces)' };
  }
  for (const tool of ['ip', 'iptables', 'conntrack']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'pipe' });
    } catch {
      return { ok: false, reason: `${tool} is not installed (Debian: iproute2, iptables, conntrack)` };
    }
  }
  const ns = `p2pnl-probe-${process.pid}-${randomBytes(3).toString('hex')}`;
  try {
    execFileSync('ip', ['netns', 'add', ns], { stdio: 'pipe' });
    execFileSync('ip', ['netns', 'exec', ns, 'iptables', '-t', 'nat', '-L', 'POSTROUTING', '-n'], { stdio: 'pipe' });
    return { ok: true };
  } catch (err) {
    const detail = err instanceof Error && 'stderr' in err ? String((err as { stderr: unknown }).stderr).trim() : '';
    return { ok: false, reason: `cannot create a network namespace with NAT: ${detail || String(err)}` };
  } finally {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'pipe' });
    } catch {
      // The namespace was never created.
    }
  }
}

/** Under CI the lab must run: an unavailable lab is a failure there, a skip elsewhere. */
export function labMustRun(): boolean {
  return process.env['CI'] === 'true';
}
