/**
 * The `check` script: every vector in packages/protocol/test/vectors/*.json that has a `kind`
 * (schema: that folder's README.md) is handed verbatim to the peer's `check` op, and the answer
 * compared with the vector's expected output or error code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PeerProcess } from './peer-process.js';
import { StepFailure } from './step-failure.js';

/** Vector files read, bytes each (the largest published subset is well under this). */
const MAX_VECTOR_FILE_BYTES = 8 * 1024 * 1024;
/** Vectors checked per run, count. */
const MAX_VECTORS = 5_000;
/** Bound of one `check` request, ms. */
const CHECK_TIMEOUT_MS = 10_000;

export interface FoundVector {
  file: string;
  name: string;
  vector: Record<string, unknown>;
}

/** Sub-folder of the vectors folder that holds the runner's scripts, not vectors. */
const SCRIPTS_SUBDIR = 'scripts';

/**
 * Objects with a string `kind`, found anywhere in the vector files of `dir` and its sub-folders
 * (the kit is under conformance/, its transcripts' steps are vectors too), never inside another
 * vector. The runner's own scripts/ are skipped.
 */
export function findVectors(dir: string): { vectors: FoundVector[]; why: string } {
  const vectors: FoundVector[] = [];
  let files: string[];
  try {
    files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.json') && !f.startsWith(`${SCRIPTS_SUBDIR}/`))
      .sort();
  } catch {
    return { vectors, why: `no vector folder at ${dir}` };
  }
  for (const file of files) {
    const buf = readFileSync(join(dir, file));
    if (buf.length > MAX_VECTOR_FILE_BYTES) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(buf.toString('utf8'));
    } catch {
      continue;
    }
    const walk = (v: unknown, path: string) => {
      if (vectors.length >= MAX_VECTORS || typeof v !== 'object' || v === null) return;
      if (Array.isArray(v)) {
        for (const [i, x] of v.entries()) walk(x, `${path}[${i}]`);
        return;
      }
      const o = v as Record<string, unknown>;
      if (typeof o.kind === 'string') {
        const name = typeof o.name === 'string' ? o.name : typeof o.id === 'string' ? o.id : path;
        vectors.push({ file, name: `${o.kind} ${name}`, vector: o });
        return;
      }
      for (const [k, x] of Object.entries(o)) walk(x, path ? `${path}.${k}` : k);
    };
    walk(parsed, '');
  }
  return {
    vectors,
    why:
      vectors.length === 0
        ? `no vector in ${dir} has a "kind" yet (the check schema of its README.md): nothing to check`
        : '',
  };
}

/** What the vector expects: an error code, or an output object. */
function expected(v: Record<string, unknown>): { code: string } | { output: unknown } | null {
  const exp = (typeof v.expect === 'object' && v.expect !== null ? v.expect : v) as Record<string, unknown>;
  for (const k of ['error', 'code', 'errorCode']) if (typeof exp[k] === 'string') return { code: exp[k] as string };
  if (exp.output !== undefined) return { output: exp.output };
  return null;
}

export async function checkVectors(peer: PeerProcess, v: FoundVector, timeoutMs = CHECK_TIMEOUT_MS): Promise<string> {
  const want = expected(v.vector);
  if (!want) throw new StepFailure('the vector names neither an output nor an error code');
  const r = await peer.request('check', { vector: v.vector }, timeoutMs, `check ${v.name}`);
  if ('code' in want) {
    if (r.ok) throw new StepFailure(`answered ok:true, the vector expects error ${want.code}`);
    if (r.code !== want.code) throw new StepFailure(`answered ${r.code}, the vector expects ${want.code}`);
    return r.code;
  }
  if (!r.ok)
    throw new StepFailure(`answered ${r.code}${r.message ? ` (${r.message})` : ''}, the vector expects an output`);
  const diff = firstDifference(want.output, r.output, 'output');
  if (diff) throw new StepFailure(diff);
  return 'output matches';
}

/** Where two JSON values first differ (keys the vector names must match; extra keys in the answer are allowed), or null. */
export function firstDifference(want: unknown, got: unknown, path: string): string | null {
  if (typeof want !== 'object' || want === null) {
    // Hex may come in either case (some published sets are upper-case); nothing else is folded.
    const norm = (x: unknown) => (typeof x === 'string' && /^[0-9a-fA-F]+$/.test(x) ? x.toLowerCase() : x);
    return norm(want) === norm(got) ? null : `${path}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`;
  }
  if (typeof got !== 'object' || got === null) return `${path}: expected an object/array, got ${JSON.stringify(got)}`;
  if (Array.isArray(want)) {
    if (!Array.isArray(got) || got.length !== want.length) return `${path}: expected ${want.length} items`;
    for (let i = 0; i < want.length; i++) {
      const d = firstDifference(want[i], got[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  for (const [k, x] of Object.entries(want)) {
    const d = firstDifference(x, (got as Record<string, unknown>)[k], `${path}.${k}`);
    if (d) return d;
  }
  return null;
}
