/**
 * The client-layer half of the conformance kit (packages/protocol/test/vectors/conformance/,
 * schema in its README.md): application payloads, session inner payloads, file-transfer
 * messages and every vector that decodes them (the transcripts), run through the client's real
 * codecs; the client files are exactly what write-conformance-client.ts writes; the folder holds
 * nothing the two generators do not write; and the client codes the kit covers are the ones its
 * README lists. The protocol layers run in packages/protocol/test/conformance-vectors.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildProtocolConformance } from '../../packages/protocol/scripts/write-conformance.js';
import {
  CLIENT_VECTOR_KINDS,
  checkVector,
  type Vector,
} from '../../packages/protocol/scripts/write-conformance-check.js';
import { buildClientConformance } from '../../packages/protocol/scripts/write-conformance-client.js';
import { clientHooks } from '../../packages/protocol/scripts/write-conformance-client-hooks.js';
import { CLIENT_ERRORS } from '../src/errors.js';
import { PATH_ERRORS } from '../src/transports/direct-errors.js';

const dir = new URL('../../packages/protocol/test/vectors/conformance/', import.meta.url);
const readme = readFileSync(new URL('../README.md', dir), 'utf8');
const CLIENT_KINDS = CLIENT_VECTOR_KINDS;

const files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.json'))
  .sort();
const all = files.flatMap((file) => {
  const doc = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as { vectors?: Vector[]; steps?: Vector[] };
  return (doc.vectors ?? doc.steps ?? []).map((v) => ({ file, v }));
});
const clientLayer = all.filter(({ v }) => CLIENT_KINDS.has(v.kind) || v.input.decode !== undefined);

describe('conformance vectors: client layers', () => {
  it('the kit holds vectors of every client kind and transcripts that decode payloads', () => {
    const kinds = new Set(clientLayer.map(({ v }) => v.kind));
    for (const kind of CLIENT_KINDS) expect(kinds).toContain(kind);
    expect(clientLayer.some(({ v }) => v.input.decode === 'payload')).toBe(true);
    expect(clientLayer.some(({ v }) => v.input.decode === 'inner')).toBe(true);
  });

  it.each(clientLayer.map(({ file, v }) => [v.id, file, v] as const))('%s (%s)', (_id, _file, v) => {
    const answer = checkVector(v, clientHooks);
    if ('error' in v.expect) {
      expect(answer).toEqual({ ok: false, code: v.expect.error });
      return;
    }
    expect(answer.ok, JSON.stringify(answer)).toBe(true);
    if (answer.ok) for (const [k, want] of Object.entries(v.expect.output)) expect(answer.output[k], k).toEqual(want);
  });

  it('the client files are exactly what write-conformance-client.ts writes', () => {
    for (const [name, text] of buildClientConformance())
      expect(readFileSync(new URL(name, dir), 'utf8') === text, `${name} differs from its generator`).toBe(true);
  });

  it('the folder holds only files the two generators write', () => {
    const written = [...buildClientConformance().keys(), ...buildProtocolConformance().keys()].sort();
    expect(files).toEqual(written);
  });

  it('transcript steps are numbered in order and name who sends to whom', () => {
    for (const file of files.filter((f) => f.startsWith('transcripts/'))) {
      const doc = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as {
        parties: Record<string, unknown>;
        steps: { step: number; from: string; to: string }[];
      };
      doc.steps.forEach((s, i) => {
        expect(s.step, file).toBe(i + 1);
        for (const who of [s.from, s.to]) expect(who === 'server' || who in doc.parties, `${file} ${who}`).toBe(true);
      });
    }
  });

  it('the client codes the vectors expect are registered and listed in the README', () => {
    const expected = new Set(
      all.flatMap(({ v }) => ('error' in v.expect && v.expect.error.startsWith('CLIENT_') ? [v.expect.error] : [])),
    );
    const section = readme.slice(readme.indexOf('### Covered by vectors (client layers)'));
    const listed = section.slice(0, section.indexOf('\n### ', 5));
    for (const code of expected) {
      expect(code in CLIENT_ERRORS || code in PATH_ERRORS, code).toBe(true);
      expect(listed, code).toContain(`\`${code}\``);
    }
    for (const m of listed.matchAll(/`(CLIENT_ERR_[A-Z_]+)`/g)) expect(expected, m[1]).toContain(m[1]);
  });
});
