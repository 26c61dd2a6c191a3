/**
 * How lab tests declare themselves: run when the lab can be built; skip with the reason when it
 * cannot (not root, no namespaces) — except under CI=true, where that is a loud failure.
 */
import { describe, it } from 'vitest';
import { labAvailability, labMustRun } from './availability.js';

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
