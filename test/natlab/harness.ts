/**
 * How lab tests declare themselves: run when the lab can be built; skip with the reason when it
 * cannot (not root, no namespaces) — except under CI=true, where that is a loud failure.
 * Scenarios whose product feature has not landed yet are skipped with the missing part named in
 * the test title, and run as soon as it exists.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { labAvailability, labMustRun } from './availability.js';
import { REPO_ROOT } from './services.js';

export function describeLab(name: string, body: () => void): void {
  const a = labAvailability();
  if (a.ok) {
    describe.sequential(name, body);
    return;
  }
  if (labMustRun()) {
    describe(name, () => {
      it('builds the NAT lab (required under CI=true)', () => {
        throw new Error(`the NAT lab cannot run here: ${a.reason}`);
      });
    });
    return;
  }
  describe.skip(`${name} [skipped: ${a.reason}]`, body);
}

/**
 * What a scenario needs, relative to the repository root: a file ("client/bin/p2p-comm.js"), or
 * a file that must mention a text ("client/src/cli/commands.ts::P2P_COMM_LISTEN", for a setting
 * the scenario passes). Returns the ones missing.
 */
export function missingFiles(needs: readonly string[]): string[] {
  return needs.filter((need) => {
    const [file, text] = need.split('::') as [string, string | undefined];
    const path = join(REPO_ROOT, file);
    if (!existsSync(path)) return true;
    return text !== undefined && !readFileSync(path, 'utf8').includes(text);
  });
}

/** `it`, or a skip whose title names what has not landed yet. */
export function itWhen(needs: readonly string[], name: string, fn: () => Promise<void>, timeoutMs: number): void {
  const missing = missingFiles(needs);
  if (missing.length === 0) it(name, fn, timeoutMs);
  else it.skip(`${name} [waiting for: ${missing.join(', ')}]`, fn, timeoutMs);
}
