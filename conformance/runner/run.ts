/**
 * Run scripts against a peer command and build the report. Used by main.ts (the CLI) and by
 * test/conformance/ in-process. Each script: a fresh world (world.ts), the set-up steps, the
 * script's steps in order (the first failure ends the script: later steps would only wait on a
 * state that never came), then the exactly-once check over everything delivered.
 */
import { createHash } from 'node:crypto';
import { encodeKey, identityFromSecret } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import type { Script, Step } from './script.js';
import { StepFailure } from './step-failure.js';
import { exactlyOnce, runStep, StepContext } from './steps.js';
import { checkVectors, findVectors } from './vectors.js';
import { World } from './world.js';

/** Bound of each set-up step (server, client, peer start and its "ready" line), ms. */
export const START_TIMEOUT_MS = 20_000;

export type Status = 'pass' | 'fail' | 'skip';

export interface StepResult {
  n: number;
  name: string;
  status: Status;
  ms: number;
  detail: string;
}

export interface ScriptResult {
  name: string;
  file: string;
  proves: string;
  status: Status;
  ms: number;
  steps: StepResult[];
  /** Why it failed or was skipped. */
  reason?: string;
  /** The tail of the peer's stderr when the script failed. */
  peerStderr?: string;
}

export interface Report {
  interface: 1;
  peer: string;
  status: 'pass' | 'fail';
  scripts: ScriptResult[];
  totals: { pass: number; fail: number; skip: number; steps: number; ms: number };
}

export interface RunOptions {
  peerCommand: string;
  scripts: Script[];
  /** Vector files' folder (the `check` script). */
  vectorsDir: string;
  /** Called as each step ends (the CLI prints it). */
  onStep?: (script: Script, r: StepResult) => void;
  onScript?: (r: ScriptResult) => void;
}

/** The seed the runner gives the peer in a script: fixed per script name, so runs repeat. */
export function seedFor(scriptName: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`p2p-comm conformance peer ${scriptName}`).digest());
}

export async function runConformance(opts: RunOptions): Promise<Report> {
  const started = Date.now();
  const results: ScriptResult[] = [];
  for (const script of opts.scripts) {
    const r = await runScript(script, opts);
    results.push(r);
    opts.onScript?.(r);
  }
  const count = (s: Status) => results.filter((r) => r.status === s).length;
  return {
    interface: 1,
    peer: opts.peerCommand,
    status: count('fail') === 0 && count('pass') > 0 ? 'pass' : 'fail',
    scripts: results,
    totals: {
      pass: count('pass'),
      fail: count('fail'),
      skip: count('skip'),
      steps: results.reduce((n, r) => n + r.steps.length, 0),
      ms: Date.now() - started,
    },
  };
}

async function runScript(script: Script, opts: RunOptions): Promise<ScriptResult> {
  const started = Date.now();
  const steps: StepResult[] = [];
  const result: ScriptResult = {
    name: script.name,
    file: script.file,
    proves: script.proves,
    status: 'pass',
    ms: 0,
    steps,
  };
  const vectorsOnly = script.steps.every((s) => s.do === 'check.vectors');
  if (vectorsOnly) {
    const found = findVectors(opts.vectorsDir);
    if (found.vectors.length === 0) {
      result.status = 'skip';
      result.reason = found.why;
      result.ms = Date.now() - started;
      return result;
    }
  }
  const world = new World({ peerCommand: opts.peerCommand, startTimeoutMs: START_TIMEOUT_MS });
  const ctx = new StepContext(world);
  let n = 0;
  const step = async (name: string, f: () => Promise<string>): Promise<boolean> => {
    const t0 = Date.now();
    n++;
    try {
      const detail = await f();
      const r: StepResult = { n, name, status: 'pass', ms: Date.now() - t0, detail };
      steps.push(r);
      opts.onStep?.(script, r);
      return true;
    } catch (err) {
      const detail = err instanceof StepFailure ? err.message : `${(err as Error)?.stack ?? String(err)}`;
      const r: StepResult = { n, name, status: 'fail', ms: Date.now() - t0, detail };
      steps.push(r);
      opts.onStep?.(script, r);
      result.status = 'fail';
      result.reason = `step ${n} ${name}: ${detail}`;
      return false;
    }
  };
  try {
    const ok =
      (await step('setup: server and tampering proxy', async () => {
        await world.startNetwork();
        return `server ${world.serverUrl}, proxy ${world.proxyUrl}`;
      })) &&
      (await step('setup: our client', async () => {
        await world.startClient();
        return world.clientKey;
      })) &&
      (await step('setup: peer ready', async () => {
        await world.startPeer().ready(START_TIMEOUT_MS);
        return 'interface 1';
      })) &&
      (await step('peer.identity', async () => {
        const seed = seedFor(script.name);
        const want = encodeKey(identityFromSecret(nodeSuite, seed).publicKey);
        const r = await world.peer.request(
          'identity',
          { seed: Buffer.from(seed).toString('hex') },
          START_TIMEOUT_MS,
          'identity',
        );
        if (!r.ok) throw new StepFailure(`"identity" answered ok:false ${r.code}`);
        if (r.key !== want)
          throw new StepFailure(`"identity" answered key ${String(r.key)}, the seed's key is ${want}`);
        world.peerKey = want;
        return want;
      }));
    if (ok) {
      let all = true;
      for (const s of script.steps) {
        if (s.do === 'check.vectors') {
          // Every vector is checked (one wrong answer says nothing about the next); the reason
          // counts the failures and names the first.
          const found = findVectors(opts.vectorsDir);
          let failed = 0;
          let first = '';
          for (const v of found.vectors)
            if (!(await step(`check ${v.file} ${v.name}`, () => checkVectors(world.peer, v, s.timeoutMs)))) {
              failed++;
              first ||= result.reason ?? '';
            }
          if (failed > 0) {
            all = false;
            result.reason = `${failed} of ${found.vectors.length} vectors failed; first: ${first}`;
          }
          continue;
        }
        if (!(await step(describe(s), () => runStep(ctx, s)))) {
          all = false;
          break;
        }
      }
      if (all && !vectorsOnly) await step('every message delivered exactly once', async () => exactlyOnce(ctx));
    }
  } finally {
    if (result.status === 'fail' && world.peer) result.peerStderr = world.peer.stderrTail;
    await world.close();
  }
  result.ms = Date.now() - started;
  return result;
}

function describe(s: Step): string {
  const parts = [s.do];
  if (s.label) parts.push(`"${s.label}"`);
  if (s.do === 'proxy.arm') parts.push(`${s.action} ${s.match} ${s.dir}`);
  if (s.accept !== undefined) parts.push(`accept=${s.accept}`);
  if (s.codes) parts.push(`[${s.codes.join('|')}]`);
  if (s.note) parts.push(`— ${s.note}`);
  return parts.join(' ');
}
