/**
 * What the two conformance generators (write-conformance.ts: protocol layers;
 * write-conformance-client.ts: the client's payload and file layers) share: the parties, the
 * vector builder that proves each vector against our code before it is written, and the file
 * writer. Layout and kinds: test/vectors/README.md, "Conformance kit".
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeSuite } from '../src/crypto/node.js';
import { identityFromSecret, toHex } from '../src/index.js';
import { ALICE_SECRET, BOB_SECRET } from '../test/golden-inputs.js';
import { answerMatches, type ClientHooks, checkVector, type Vector } from './write-conformance-check.js';

export const fill = (n: number, byte: number): Uint8Array => new Uint8Array(n).fill(byte);
export const ramp = (n: number, from: number): Uint8Array =>
  Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);
export const hex = toHex;

/** The parties of every vector: Alice and Bob are the RFC 8032 test keys (as in the golden files), Carol a third key. */
export const SEEDS = Object.freeze({ alice: ALICE_SECRET, bob: BOB_SECRET, carol: fill(32, 0x07) });
export const alice = identityFromSecret(nodeSuite, SEEDS.alice);
export const bob = identityFromSecret(nodeSuite, SEEDS.bob);
export const carol = identityFromSecret(nodeSuite, SEEDS.carol);

export function partiesJson(): Record<string, { seed: string; publicKey: string }> {
  return {
    alice: { seed: hex(SEEDS.alice), publicKey: hex(alice.publicKey) },
    bob: { seed: hex(SEEDS.bob), publicKey: hex(bob.publicKey) },
    carol: { seed: hex(SEEDS.carol), publicKey: hex(carol.publicKey) },
  };
}

/** 2025-11-24T16:00:00Z, ms: the clock of the v1 golden vectors. */
export const T0 = 1_764_000_000_000;

/** A copy of `bytes` with bit `bit` of byte `at` flipped (negative `at` counts from the end). */
export function flip(bytes: Uint8Array, at: number, bit = 0): Uint8Array {
  const out = Uint8Array.from(bytes);
  const i = at < 0 ? out.length + at : at;
  out[i] = out[i]! ^ (1 << bit);
  return out;
}

/** A copy of `bytes` with `patch` written at `at`. */
export function patch(bytes: Uint8Array, at: number, value: Uint8Array | number[]): Uint8Array {
  const out = Uint8Array.from(bytes);
  out.set(value, at);
  return out;
}

export function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Builds vectors, filling each output from our code (`output: 'compute'`) or checking that our
 * code gives the stated output or error. A vector our code does not answer as written stops
 * the generator: the files only ever hold what the implementation does.
 */
export class VectorSet {
  readonly vectors: Vector[] = [];
  readonly #ids: Set<string>;
  constructor(
    readonly prefix: string,
    ids: Set<string>,
    private readonly hooks?: ClientHooks,
  ) {
    this.#ids = ids;
  }

  /** Adds a vector whose output our code computes (its `expect` fields: `keep` lists which, default all). */
  ok(
    name: string,
    kind: string,
    description: string,
    input: Record<string, unknown>,
    expected?: Record<string, unknown>,
  ): Vector {
    const answer = checkVector({ kind, input }, this.hooks);
    if (!answer.ok) throw new Error(`${this.prefix}/${name}: our code refused it with ${answer.code}`);
    const output = expected ?? answer.output;
    const v = this.#push(name, kind, description, input, { output });
    if (!answerMatches(answer, v.expect))
      throw new Error(
        `${v.id}: our code answered ${JSON.stringify(answer.output)}, expected ${JSON.stringify(output)}`,
      );
    return v;
  }

  /** Adds a vector that must fail with `code` (checked now). */
  error(name: string, kind: string, description: string, input: Record<string, unknown>, code: string): Vector {
    const answer = checkVector({ kind, input }, this.hooks);
    const v = this.#push(name, kind, description, input, { error: code });
    if (!answerMatches(answer, v.expect))
      throw new Error(`${v.id}: expected ${code}, our code answered ${JSON.stringify(answer)}`);
    return v;
  }

  #push(
    name: string,
    kind: string,
    description: string,
    input: Record<string, unknown>,
    expect: Vector['expect'],
  ): Vector {
    const id = `${this.prefix}/${name}`;
    if (this.#ids.has(id)) throw new Error(`duplicate vector id ${id}`);
    this.#ids.add(id);
    const v: Vector = { id, kind, description, input, expect };
    this.vectors.push(v);
    return v;
  }
}

/** The bytes of a vector file: 2-space JSON and a final newline (regenerating must give the same bytes). */
export function serialize(doc: unknown): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** test/vectors/conformance/ */
export const CONFORMANCE_DIR = fileURLToPath(new URL('../test/vectors/conformance/', import.meta.url));

export function writeFiles(files: ReadonlyMap<string, string>): void {
  for (const [name, text] of files) {
    const path = `${CONFORMANCE_DIR}${name}`;
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
}

export function vectorFile(source: string, vectors: readonly Vector[]): string {
  return serialize({ source, version: 1, vectors });
}

/** True when this module's importer is the script node was started with. */
export function isMain(url: string): boolean {
  return process.argv[1] !== undefined && fileURLToPath(url) === process.argv[1];
}
