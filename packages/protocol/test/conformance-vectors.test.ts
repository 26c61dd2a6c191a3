/**
 * The conformance kit (test/vectors/conformance/, schema in test/vectors/README.md) run through
 * our real code, once with each crypto suite (node:crypto and @noble): every protocol-layer
 * vector gets its expected output or error code, every decoded frame re-encodes to its bytes,
 * the files are exactly what scripts/write-conformance.ts writes, the golden files agree with
 * the kit where they overlap, the README's counts are the kit's, and every PROTO_ERR_* code is
 * either covered by a vector or listed in the README as not triggerable by wire input. The
 * client's layers (payload, inner, file) run in client/test/conformance-vectors.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildProtocolConformance } from '../scripts/write-conformance.js';
import {
  CLIENT_VECTOR_KINDS,
  checkVector,
  frameFromJson,
  VECTOR_KINDS,
  type Vector,
} from '../scripts/write-conformance-check.js';
import { encodeFrame, PROTOCOL_ERRORS, portableSuite, toHex } from '../src/index.js';
import { nodeSuite } from '../src/node.js';

const dir = new URL('./vectors/conformance/', import.meta.url);
const readme = readFileSync(new URL('./vectors/README.md', import.meta.url), 'utf8');

const CLIENT_KINDS = CLIENT_VECTOR_KINDS;

function conformanceFiles(): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.json'))
    .sort();
}

function vectorsOf(file: string): Vector[] {
  const doc = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as { vectors?: Vector[]; steps?: Vector[] };
  return doc.vectors ?? doc.steps ?? [];
}

const all = conformanceFiles().flatMap((file) => vectorsOf(file).map((v) => ({ file, v })));
const protocolOnly = all.filter(({ v }) => !CLIENT_KINDS.has(v.kind) && v.input.decode === undefined);

describe('conformance vectors: protocol layers', () => {
  it('the kit holds vectors of every protocol kind', () => {
    const kinds = new Set(protocolOnly.map(({ v }) => v.kind));
    for (const kind of VECTOR_KINDS) if (!CLIENT_KINDS.has(kind)) expect(kinds, kind).toContain(kind);
  });

  it.each(
    protocolOnly.flatMap(({ file, v }) =>
      [nodeSuite, portableSuite].map(
        (suite) => [v.id, file, suite === nodeSuite ? 'node' : 'portable', v, suite] as const,
      ),
    ),
  )('%s (%s, %s suite)', (_id, _file, _name, v, suite) => {
    const answer = checkVector(v, undefined, { suite });
    if ('error' in v.expect) {
      expect(answer).toEqual({ ok: false, code: v.expect.error });
      return;
    }
    expect(answer.ok, JSON.stringify(answer)).toBe(true);
    if (!answer.ok) return;
    for (const [k, want] of Object.entries(v.expect.output)) expect(answer.output[k], k).toEqual(want);
    if (v.kind === 'frame.decode') {
      const frame = v.expect.output.frame as Record<string, unknown>;
      expect(toHex(encodeFrame(frameFromJson(frame)))).toBe(v.input.frame);
    }
  });

  it("the README's table of vector counts is the kit's", () => {
    const count = (kind: string, errors: boolean) =>
      all.filter(({ v }) => v.kind === kind && (!errors || 'error' in v.expect)).length;
    const rows = [...readme.matchAll(/^\| (`[a-z.]+`(?: \/ `[a-z.]+`)*) \| ([\d /]+) \| ([\d /]+) \|$/gm)];
    expect(rows.length).toBeGreaterThan(5);
    const seen = new Set<string>();
    for (const [, kinds, totals, errors] of rows) {
      const names = kinds!.split(' / ').map((k) => k.slice(1, -1));
      const t = totals!.split(' / ').map(Number);
      const e = errors!.split(' / ').map(Number);
      names.forEach((kind, i) => {
        seen.add(kind);
        expect([kind, t[i], e[i]]).toEqual([kind, count(kind, false), count(kind, true)]);
      });
    }
    expect([...seen].sort()).toEqual([...new Set(all.map(({ v }) => v.kind))].sort());
    const total = readme.match(/^\| total \(including the (\d+) transcript steps\) \| (\d+) \| (\d+) \|$/m);
    const steps = all.filter(({ file }) => file.startsWith('transcripts/')).length;
    expect(total?.slice(1).map(Number)).toEqual([steps, all.length, all.filter(({ v }) => 'error' in v.expect).length]);
  });

  it('vector ids are unique across the kit', () => {
    const ids = all.map(({ v }) => v.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('every vector has the documented shape and a documented kind', () => {
    for (const { v } of all) {
      expect(
        Object.keys(v)
          .filter((k) => !['step', 'from', 'to', 'deliver'].includes(k))
          .sort(),
        v.id,
      ).toEqual(['description', 'expect', 'id', 'input', 'kind']);
      expect(readme, v.kind).toContain(`\`${v.kind}\``);
      expect(Object.keys(v.expect).length, v.id).toBe(1);
    }
  });

  it('the protocol files are exactly what scripts/write-conformance.ts writes', () => {
    for (const [name, text] of buildProtocolConformance())
      expect(readFileSync(new URL(name, dir), 'utf8') === text, `${name} differs from its generator`).toBe(true);
  });

  it('agrees with the golden files where they overlap', () => {
    const golden = (name: string) => JSON.parse(readFileSync(new URL(`./vectors/${name}`, import.meta.url), 'utf8'));
    const byId = new Map(all.map(({ v }) => [v.id, v]));
    const out = (id: string) => (byId.get(id)!.expect as { output: Record<string, unknown> }).output;
    for (const f of golden('golden-frames.json').frames as { name: string; hex: string }[])
      expect(byId.get(`frame/${f.name}`)?.input.frame, f.name).toBe(f.hex);
    expect(out('hello/golden').frame).toBe(
      (golden('golden-frames.json').frames as { name: string; hex: string }[]).find((f) => f.name === 'hello')!.hex,
    );
    for (const e of golden('golden-envelopes.json').envelopes as { name: string; envelope: string }[])
      expect(out(`envelope/seal-golden-${e.name}`).envelope, e.name).toBe(e.envelope);
    const session = golden('golden-session.json');
    expect(out('handshake/initiate-golden').message1).toBe(session.message1);
    expect(out('handshake/respond-golden').message2).toBe(session.message2);
    expect(out('handshake/complete-golden').handshakeHash).toBe(session.handshakeHash);
    expect(out('handshake/complete-golden').sendKey).toBe(session.initiatorToResponderKey);
    expect(out('transport/seal-first').packet).toBe(session.transport[0].packet);
    const prekey = golden('golden-prekey.json');
    expect(out('prekey/bundle-golden').bundle).toBe(prekey.bundle.encoded);
    for (const m of prekey.messages as { sequence: number; message: string }[])
      expect(out(`prekey/seal-${m.sequence}`).packet).toBe(`0204${m.message}`);
  });

  it('every PROTO_ERR_* code is covered by a vector or listed in the README as not triggerable by wire input', () => {
    const covered = new Set(all.flatMap(({ v }) => ('error' in v.expect ? [v.expect.error] : [])));
    const section = readme.slice(readme.indexOf('## Error codes'));
    const notWireStart = section.indexOf('### Not triggerable by wire input');
    const notWire = section.slice(notWireStart, section.indexOf('\n### ', notWireStart + 5));
    for (const code of Object.keys(PROTOCOL_ERRORS)) {
      if (covered.has(code)) {
        expect(notWire.includes(`\`${code}\``), `${code} is covered yet listed as not triggerable`).toBe(false);
        expect(section.slice(0, section.indexOf('### Not triggerable')), code).toContain(`\`${code}\``);
      } else expect(notWire, `${code}: no vector and not listed`).toContain(`\`${code}\``);
    }
  });
});
