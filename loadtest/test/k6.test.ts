/**
 * k6 cannot be installed here, so its scripts are checked the way CI can: each parses as an
 * ES module, exports `options` with `scenarios` and non-empty `thresholds` and a default
 * function, and imports only k6 modules or files that exist. The frame helpers they share
 * are checked byte for byte against the protocol package, and the signer end to end.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AckStatus,
  DeliverChannel,
  decodeFrame,
  encodeFrame,
  FrameType,
  generateIdentity,
  peekEnvelope,
  verifyHello,
} from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { parse } from 'acorn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k6frames from '../k6/lib/frames.js';
import { identityAt, type Signer, startSigner } from '../src/k6/signer.js';

const K6_DIR = fileURLToPath(new URL('../k6/', import.meta.url));
const scripts = readdirSync(K6_DIR).filter((f) => f.endsWith('.js'));
const libs = readdirSync(join(K6_DIR, 'lib')).filter((f) => f.endsWith('.js'));

interface Node {
  type: string;
  [k: string]: unknown;
}

function program(file: string): Node[] {
  const ast = parse(readFileSync(file, 'utf8'), { ecmaVersion: 2022, sourceType: 'module' }) as unknown as {
    body: Node[];
  };
  return ast.body;
}

function checkImports(file: string, body: Node[]): void {
  for (const n of body.filter((x) => x.type === 'ImportDeclaration')) {
    const src = (n.source as { value: string }).value;
    if (src.startsWith('.')) expect(existsSync(join(dirname(file), src)), `${file} imports ${src}`).toBe(true);
    else expect(src, `${file}: only k6 modules can be imported`).toMatch(/^k6(\/|$)/);
  }
}

function objectKeys(obj: Node): Map<string, Node> {
  const out = new Map<string, Node>();
  for (const p of obj.properties as Node[]) {
    const key = p.key as { name?: string; value?: string } | undefined;
    if (p.type === 'Property' && key) out.set(key.name ?? String(key.value), p.value as Node);
  }
  return out;
}

describe('k6 scripts', () => {
  it('there are the four scenarios', () => {
    expect(scripts.sort()).toEqual(['connect-storm.js', 'relay.js', 'signaling.js', 'soak.js']);
  });

  it.each(scripts)('%s parses and encodes its targets as thresholds', (name) => {
    const file = join(K6_DIR, name);
    const body = program(file);
    checkImports(file, body);
    expect(body.some((n) => n.type === 'ExportDefaultDeclaration')).toBe(true);
    const decl = body
      .filter((n) => n.type === 'ExportNamedDeclaration')
      .flatMap((n) => ((n.declaration as Node | null)?.declarations as Node[] | undefined) ?? [])
      .find((d) => (d.id as { name: string }).name === 'options');
    expect(decl, 'export const options').toBeDefined();
    const options = objectKeys(decl!.init as Node);
    expect(options.get('scenarios')?.type).toBe('ObjectExpression');
    const thresholds = options.get('thresholds');
    expect(thresholds?.type).toBe('ObjectExpression');
    const entries = objectKeys(thresholds!);
    expect(entries.size).toBeGreaterThan(0);
    for (const [metric, v] of entries) expect(v.type, `${name}: ${metric}`).toBe('ArrayExpression');
  });

  it.each(libs)('lib/%s parses', (name) => {
    const file = join(K6_DIR, 'lib', name);
    checkImports(file, program(file));
  });
});

describe('k6 frame helpers match the protocol package', () => {
  const key = generateIdentity(nodeSuite).publicKey;

  it('decodes CHALLENGE, ACK, DELIVER, ERROR and PING as the protocol encodes them', () => {
    const challenge = new Uint8Array(32).fill(7);
    const c = k6frames.decodeChallenge(
      encodeFrame({ type: FrameType.CHALLENGE, version: 1, challenge, serverTime: 2 ** 41 + 5, origin: 'h:1' }),
    );
    expect(c).toEqual({ challenge, serverTime: 2 ** 41 + 5, origin: 'h:1' });
    expect(
      k6frames.decodeAck(encodeFrame({ type: FrameType.ACK, frameId: 0xfffffffe, status: AckStatus.QUEUED })),
    ).toEqual({
      frameId: 0xfffffffe,
      status: AckStatus.QUEUED,
    });
    const d = k6frames.decodeDeliver(
      encodeFrame({ type: FrameType.DELIVER, channel: DeliverChannel.RELAY, from: key, envelope: new Uint8Array(300) }),
    );
    expect(d).toEqual({ channel: DeliverChannel.RELAY, from: key, envelopeBytes: 300 });
    expect(
      k6frames.decodeError(encodeFrame({ type: FrameType.ERROR, frameId: 9, code: 'RDV_X', message: 'm' })),
    ).toEqual({
      frameId: 9,
      code: 'RDV_X',
    });
    const ping = encodeFrame({ type: FrameType.PING, nonce: 2 ** 50 + 3 });
    expect(k6frames.decodeNonce(ping)).toBe(2 ** 50 + 3);
    expect(new Uint8Array(k6frames.encodePingPong(FrameType.PING, 2 ** 50 + 3))).toEqual(ping);
  });

  it('withFrameId patches a RELAY frame exactly like encodeFrame', () => {
    const envelope = new Uint8Array(40).fill(1);
    const zero = encodeFrame({ type: FrameType.RELAY, frameId: 0, to: key, envelope });
    const want = encodeFrame({ type: FrameType.RELAY, frameId: 123456789, to: key, envelope });
    expect(new Uint8Array(k6frames.withFrameId(zero, 123456789))).toEqual(want);
    expect(zero[1]).toBe(0); // the template is left untouched
  });
});

describe('k6 signer', () => {
  let signer: Signer;
  const base = () => `http://127.0.0.1:${signer.port}`;
  beforeAll(async () => {
    signer = await startSigner({ seed: 'test' });
  });
  afterAll(async () => {
    await signer?.close();
  });

  it('signs a HELLO the server-side verifier accepts, for the key it publishes', async () => {
    const peer = (await (await fetch(`${base()}/peer?i=5`)).json()) as { key: string };
    const challenge = new Uint8Array(32).fill(3);
    const res = await fetch(`${base()}/hello`, {
      method: 'POST',
      body: JSON.stringify({ i: 5, challenge: Buffer.from(challenge).toString('base64'), origin: '127.0.0.1:8080' }),
    });
    const hello = decodeFrame(Buffer.from(((await res.json()) as { hello: string }).hello, 'base64'));
    if (hello.type !== FrameType.HELLO) throw new Error('not a hello');
    expect(Buffer.from(hello.key).toString('base64url')).toBe(peer.key);
    expect(() => verifyHello(nodeSuite, hello, challenge, ['127.0.0.1:8080'])).not.toThrow();
    expect(() => verifyHello(nodeSuite, hello, challenge, ['elsewhere:1'])).toThrow();
  });

  it('serves RELAY frames whose envelope sender and recipient are the two peers', async () => {
    const body = (await (await fetch(`${base()}/frame?from=2&to=3&bytes=1024&channel=relay`)).json()) as {
      frame: string;
    };
    const f = decodeFrame(Buffer.from(body.frame, 'base64'));
    if (f.type !== FrameType.RELAY) throw new Error('not a relay');
    expect(f.envelope.length).toBe(1024);
    const env = peekEnvelope(f.envelope);
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    expect(hex(env.sender)).toBe(hex(identityAt('test', 2).publicKey));
    expect(hex(env.recipient)).toBe(hex(identityAt('test', 3).publicKey));
    expect(hex(f.to)).toBe(hex(identityAt('test', 3).publicKey));
  });

  it('refuses bad input with 400 and oversized bodies with 413', async () => {
    expect((await fetch(`${base()}/peer?i=-1`)).status).toBe(400);
    expect((await fetch(`${base()}/frame?from=1&to=2&bytes=10`)).status).toBe(400);
    expect((await fetch(`${base()}/hello`, { method: 'POST', body: '{"i":1}' })).status).toBe(400);
    const big = await fetch(`${base()}/hello`, { method: 'POST', body: 'x'.repeat(10_000) }).catch(() => null);
    expect(big === null || big.status === 413).toBe(true);
  });
});
