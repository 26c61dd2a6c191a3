/**
 * Files through the SDK (P2PClient.sendFile / files.respond / file.* events) between two real
 * clients in this process, over a real rendezvous server, with a direct WebSocket path up: a
 * 32 MiB generated file lands byte-identical while the best path is direct (the recipient then
 * grants FILE_DIRECT_WINDOW_BYTES). Revoking the peer mid-transfer ends it on both sides.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type P2PClient } from '../src/index.js';
import { startRendezvous, tempHome, waitFor } from './helpers/server.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
let alice: P2PClient;
let bob: P2PClient;
let work: string;

async function generate(path: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const ws = createWriteStream(path);
  for (let left = bytes; left > 0; ) {
    const piece = randomBytes(Math.min(left, 1 << 20));
    hash.update(piece);
    if (!ws.write(piece)) await new Promise<void>((r) => ws.once('drain', () => r()));
    left -= piece.length;
  }
  await new Promise<void>((resolve, reject) => ws.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return hash.digest('hex');
}

beforeAll(async () => {
  const srv = await startRendezvous();
  cleanups.push(() => srv.close());
  work = mkdtempSync(join(tmpdir(), 'p2p-files-sdk-'));
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));
  const make = (listen: boolean) => {
    const h = tempHome();
    cleanups.push(h.cleanup);
    const c = createClient({
      home: h.home,
      server: srv.url,
      paths: {
        webrtc: false,
        allowLoopbackAddresses: true,
        ...(listen ? { listen: { host: '127.0.0.1', port: 0 } } : {}),
      },
    });
    cleanups.push(() => c.stop());
    return c;
  };
  alice = make(false);
  bob = make(true);
  await Promise.all([alice.start(), bob.start()]);
  await Promise.all([alice.waitForServer(), bob.waitForServer()]);
  alice.setName('Alice');
  bob.setName('Bob');
  bob.on('consent.request', (r) => bob.respondConsent(r.requestId, true));
  const trusted = new Promise<void>((resolve) =>
    alice.on('peer.status', (s) => {
      if (s.key === bob.id().key && s.state === 'trusted') resolve();
    }),
  );
  alice.connect(bob.id().share);
  await trusted;
  alice.upgrader.addAddress(bob.identity.publicKey, bob.upgrader.listenAddress!);
  await waitFor(() => alice.paths.best(bob.id().key)?.kind === 'direct', 20_000, 'direct path up');
  await waitFor(() => bob.paths.best(alice.id().key)?.kind === 'direct', 20_000, 'direct path up (Bob)');
}, 60_000);

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('files through the SDK', () => {
  it('32 MiB over the direct path lands byte-identical', async () => {
    const size = 32 * 1024 * 1024;
    const src = join(work, 'big.bin');
    const sha256 = await generate(src, size);
    bob.once('file.offer', (o) => bob.files.respond(o.id, true));
    const started = performance.now();
    const { id } = await alice.sendFile('Bob', src, { note: 'direct' });
    const done = await new Promise<{ path?: string; sha256?: string }>((resolve, reject) => {
      bob.on('file.done', (d) => d.id === id && resolve(d));
      bob.on('file.failed', (f) => f.id === id && reject(new Error(`${f.code}: ${f.message}`)));
    });
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `32 MiB over the direct path via the SDK on loopback: ${seconds.toFixed(2)} s (${(size / 1e6 / seconds).toFixed(1)} MB/s, including hashing; both clients in one process)`,
    );
    expect(bob.paths.best(alice.id().key)?.kind).toBe('direct');
    expect(done.sha256).toBe(sha256);
    expect(createHash('sha256').update(readFileSync(done.path!)).digest('hex')).toBe(sha256);
  }, 120_000);

  it('revoking the peer mid-transfer ends it on both sides, nothing lands', async () => {
    const src = join(work, 'revoked.bin');
    await generate(src, 64 * 1024 * 1024);
    bob.once('file.offer', (o) => bob.files.respond(o.id, true));
    const { id } = await alice.sendFile('Bob', src);
    await new Promise<void>((resolve) => bob.on('file.progress', (p) => p.id === id && p.bytes > 0 && resolve()));
    const failedHere = new Promise<string>((resolve) => bob.on('file.failed', (f) => f.id === id && resolve(f.code)));
    const failedThere = new Promise<string>((resolve) =>
      alice.on('file.failed', (f) => f.id === id && resolve(f.code)),
    );
    bob.revoke('Alice');
    expect(await failedHere).toBe('CLIENT_ERR_FILE_CANCELLED');
    expect(await failedThere).toMatch(/CLIENT_ERR_FILE_(CANCELLED|OFFER_TIMEOUT|FAILED)/);
    expect(bob.files.list().incoming).toEqual([]);
    const inbox = join(bob.config.home, 'inbox');
    expect(existsSync(join(inbox, alice.id().key, 'revoked.bin'))).toBe(false);
    expect(readdirSync(join(inbox, '.partial'))).toEqual([]);
  }, 120_000);
});
