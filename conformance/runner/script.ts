/**
 * Scripted transcripts: JSON files under packages/protocol/test/vectors/scripts/ (schema in
 * docs/conformance.md "Step schema"). Each file is read and checked once, before anything
 * starts, and every problem in it is reported at once.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Longest script file read, bytes. */
const MAX_SCRIPT_BYTES = 256 * 1024;
/** Steps per script, count. */
const MAX_STEPS = 500;
/** Longest timeout a step may ask for, ms (every wait is bounded). */
export const MAX_STEP_TIMEOUT_MS = 120_000;

/** Every step name (`do`) and the fields it may carry beyond `do`, `timeoutMs` and `note`. */
export const STEP_FIELDS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  // actions on the peer under test (stdio requests)
  'peer.connect': [],
  'peer.disconnect': [],
  'peer.ensureConnected': ['graceMs'],
  'peer.request': ['text'],
  'peer.respond': ['accept'],
  'peer.send': ['label', 'text', 'padTo'],
  'peer.sendRefused': ['text', 'codes'],
  'peer.revoke': [],
  // actions on our real client
  'client.disconnect': [],
  'client.connect': [],
  'client.request': [],
  'client.respond': ['accept'],
  'client.send': ['label', 'text', 'padTo'],
  'client.sendRefused': ['text', 'codes'],
  'client.revoke': [],
  'stranger.send': ['label', 'text'],
  // the tampering proxy
  'proxy.arm': ['dir', 'match', 'action'],
  'proxy.fired': [],
  'proxy.inject': ['frame'],
  'proxy.replayCaptured': [],
  wait: ['ms'],
  // expectations on the peer's events
  'peer.consentRequest': [],
  'peer.consentAccepted': [],
  'peer.consentDeclined': [],
  'peer.revoked': [],
  'peer.message': ['label'],
  'peer.acked': ['label'],
  'peer.noMessage': ['label', 'forMs'],
  'peer.noConsentRequest': ['forMs'],
  'peer.refused': ['codes', 'orSilentMs'],
  // expectations on our client
  'client.consentRequest': [],
  'client.trusted': [],
  'client.declined': [],
  'client.revoked': [],
  'client.message': ['label'],
  'client.acked': ['label'],
  'client.noMessage': ['label', 'forMs'],
  'client.refused': ['codes'],
  'client.noConsentRequest': ['forMs'],
  // the vectors
  'check.vectors': [],
});

export interface Step {
  do: string;
  timeoutMs?: number;
  note?: string;
  label?: string;
  text?: string;
  padTo?: number;
  accept?: boolean;
  codes?: string[];
  orSilentMs?: number;
  forMs?: number;
  graceMs?: number;
  ms?: number;
  dir?: 'toPeer' | 'fromPeer';
  match?: 'data' | 'consent' | 'any';
  action?: 'flipSealed' | 'replay' | 'version' | 'capture' | 'spoofSender';
  frame?: 'unknownType';
}

export interface Script {
  name: string;
  /** What passing this script proves, in a sentence (printed with --list and in docs). */
  proves: string;
  /** Our client's handshake / retransmit timings are the defaults unless a script needs them shorter. */
  steps: Step[];
  file: string;
}

const ENUMS: Readonly<Record<string, readonly unknown[]>> = {
  dir: ['toPeer', 'fromPeer'],
  match: ['data', 'consent', 'any'],
  action: ['flipSealed', 'replay', 'version', 'capture', 'spoofSender'],
  frame: ['unknownType'],
  accept: [true, false],
};
const NUMBERS = new Set(['padTo', 'orSilentMs', 'forMs', 'graceMs', 'ms', 'timeoutMs']);
const STRINGS = new Set(['label', 'text', 'note']);

function checkStep(raw: unknown, where: string, problems: string[]): Step | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push(`${where}: not an object`);
    return null;
  }
  const o = raw as Record<string, unknown>;
  const name = o.do;
  if (typeof name !== 'string' || !(name in STEP_FIELDS)) {
    problems.push(`${where}: unknown step ${JSON.stringify(name)}`);
    return null;
  }
  const allowed = new Set(['do', 'timeoutMs', 'note', ...(STEP_FIELDS[name] ?? [])]);
  for (const [k, v] of Object.entries(o)) {
    if (!allowed.has(k)) problems.push(`${where} (${name}): field "${k}" is not one of ${[...allowed].join(', ')}`);
    else if (k in ENUMS && !ENUMS[k]!.includes(v))
      problems.push(`${where} (${name}): ${k} must be one of ${ENUMS[k]!.join(', ')}`);
    else if (
      NUMBERS.has(k) &&
      !(Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= MAX_STEP_TIMEOUT_MS * 100)
    )
      problems.push(`${where} (${name}): ${k} must be a non-negative integer`);
    else if (STRINGS.has(k) && typeof v !== 'string') problems.push(`${where} (${name}): ${k} must be a string`);
    else if (k === 'codes' && !(Array.isArray(v) && v.length > 0 && v.every((c) => typeof c === 'string')))
      problems.push(`${where} (${name}): codes must be a non-empty array of error codes`);
  }
  if (typeof o.timeoutMs === 'number' && o.timeoutMs > MAX_STEP_TIMEOUT_MS)
    problems.push(`${where} (${name}): timeoutMs above ${MAX_STEP_TIMEOUT_MS}`);
  const needs = (k: string) => {
    if (o[k] === undefined) problems.push(`${where} (${name}): "${k}" is required`);
  };
  if (/\.(send|message|acked|noMessage)$/.test(name) && name !== 'peer.sendRefused') needs('label');
  if (name.endsWith('.send') || name.endsWith('sendRefused')) needs('text');
  if (name.endsWith('.respond')) needs('accept');
  if (name === 'proxy.arm') for (const k of ['dir', 'match', 'action']) needs(k);
  if (name === 'proxy.inject') needs('frame');
  if (name === 'wait') needs('ms');
  if (name === 'client.refused' || (name === 'peer.refused' && o.orSilentMs === undefined)) needs('codes');
  return o as unknown as Step;
}

/** Parse one script file's text; throws an Error listing every problem. */
export function parseScript(text: string, file: string): Script {
  const problems: string[] = [];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not JSON (${(err as Error).message})`);
  }
  const o = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  if (typeof o.name !== 'string' || !/^[a-z0-9-]{1,64}$/.test(o.name))
    problems.push('"name" must be 1-64 of a-z, 0-9, -');
  if (typeof o.proves !== 'string' || o.proves.length === 0) problems.push('"proves" must say what the script proves');
  const steps: Step[] = [];
  if (!Array.isArray(o.steps) || o.steps.length === 0 || o.steps.length > MAX_STEPS)
    problems.push(`"steps" must be an array of 1-${MAX_STEPS} steps`);
  else
    o.steps.forEach((s, i) => {
      const step = checkStep(s, `step ${i + 1}`, problems);
      if (step) steps.push(step);
    });
  const labels = new Set<string>();
  for (const s of steps)
    if (s.do.endsWith('.send') && s.label !== undefined) {
      if (labels.has(s.label)) problems.push(`label "${s.label}" is sent twice (labels name one message)`);
      labels.add(s.label);
    }
  for (const s of steps)
    if (s.label !== undefined && !s.do.endsWith('.send') && !labels.has(s.label))
      problems.push(`${s.do}: label "${s.label}" is never sent`);
  for (const key of Object.keys(o))
    if (!['name', 'proves', 'steps', '$comment'].includes(key)) problems.push(`unknown top-level field "${key}"`);
  if (problems.length > 0) throw new Error(`${file}:\n  ${problems.join('\n  ')}`);
  return { name: o.name as string, proves: o.proves as string, steps, file };
}

/** Every *.json script in `dir`, in file-name order (the files are numbered). */
export function loadScripts(dir: string): Script[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  return files.map((f) => {
    const path = join(dir, f);
    const buf = readFileSync(path);
    if (buf.length > MAX_SCRIPT_BYTES) throw new Error(`${path}: larger than ${MAX_SCRIPT_BYTES} bytes`);
    return parseScript(buf.toString('utf8'), f);
  });
}
