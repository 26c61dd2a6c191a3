/**
 * `npm run bench:crypto`: sign, verify, seal and open per second for a 1 KiB payload under
 * each candidate library, on this machine; then the v2 session table (bench/session-measure.ts:
 * handshakes/s per suite, session seal/open/s for 1 KiB and 16 KiB). Prints markdown and writes
 * it, with JSON, to packages/protocol/bench/results/crypto.{md,json}. Bounded: each cell runs
 * for BENCH_CELL_MS.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import nacl from 'tweetnacl';
import {
  type CryptoSuite,
  EnvelopeType,
  generateIdentity,
  openEnvelope,
  portableSuite,
  ReplayGuard,
  randomBytes,
  sealEnvelope,
} from '../src/index.js';
import { nodeSuite } from '../src/node.js';
import { measureSessions, SESSION_NOTE, sessionTable } from './session-measure.js';

/** Wall time per measured cell, ms. */
const BENCH_CELL_MS = Number(process.env.BENCH_CELL_MS ?? 1500);
const PAYLOAD_BYTES = 1024;

function opsPerSecond(fn: (i: number) => void): number {
  for (let i = 0; i < 50; i++) fn(i); // warm-up
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < BENCH_CELL_MS) {
    for (let k = 0; k < 20; k++) fn(n++);
    elapsed = performance.now() - start;
  }
  return Math.round((n * 1000) / elapsed);
}

interface Row {
  candidate: string;
  sign: number | null;
  verify: number | null;
  verifyNewKey: number | null;
  seal: number | null;
  open: number | null;
}

const message = randomBytes(PAYLOAD_BYTES);

function suiteRow(suite: CryptoSuite): Row {
  const alice = generateIdentity(suite);
  const bob = generateIdentity(suite);
  const sig = suite.sign(alice.secretKey, message);
  // Fresh keys each call: what a server pays verifying hellos from many peers.
  const keys = Array.from({ length: 2048 }, () => {
    const id = generateIdentity(suite);
    return { pub: id.publicKey, sig: suite.sign(id.secretKey, message) };
  });
  const envelopes = Array.from({ length: 4096 }, () =>
    sealEnvelope(suite, { type: EnvelopeType.DATA, sender: alice, recipient: bob.publicKey, plaintext: message }),
  );
  // A guard large enough that open never evicts during the run.
  const guard = new ReplayGuard({ trusted: { maxEntriesPerSender: 10_000_000 } });
  let opened = 0;
  return {
    candidate: suite === nodeSuite ? 'node:crypto (OpenSSL) + @noble/ciphers' : '@noble/curves + @noble/ciphers',
    sign: opsPerSecond(() => suite.sign(alice.secretKey, message)),
    verify: opsPerSecond(() => suite.verify(alice.publicKey, message, sig)),
    verifyNewKey: opsPerSecond((i) => {
      const k = keys[i % keys.length]!;
      // 2,048 keys cycle through the node suite's 1,024-entry KeyObject cache: every call misses.
      suite.verify(k.pub.slice(), message, k.sig);
    }),
    seal: opsPerSecond(() =>
      sealEnvelope(suite, { type: EnvelopeType.DATA, sender: alice, recipient: bob.publicKey, plaintext: message }),
    ),
    open: opsPerSecond(() => {
      if (opened >= envelopes.length) {
        envelopes.push(
          sealEnvelope(suite, { type: EnvelopeType.DATA, sender: alice, recipient: bob.publicKey, plaintext: message }),
        );
      }
      openEnvelope(suite, envelopes[opened++]!, { recipient: bob, replayGuard: guard });
    }),
  };
}

function tweetnaclRow(): Row {
  const kp = nacl.sign.keyPair();
  const sig = nacl.sign.detached(message, kp.secretKey);
  const boxA = nacl.box.keyPair();
  const boxB = nacl.box.keyPair();
  const nonce = randomBytes(24);
  const boxed = nacl.box(message, nonce, boxB.publicKey, boxA.secretKey);
  return {
    candidate: 'tweetnacl (sign; box = X25519+XSalsa20-Poly1305, not our AEAD)',
    sign: opsPerSecond(() => nacl.sign.detached(message, kp.secretKey)),
    verify: opsPerSecond(() => nacl.sign.detached.verify(message, sig, kp.publicKey)),
    verifyNewKey: null,
    // Closest analogue of seal/open: ephemeral box + detached signature.
    seal: opsPerSecond(() => {
      const eph = nacl.box.keyPair();
      const c = nacl.box(message, nonce, boxB.publicKey, eph.secretKey);
      nacl.sign.detached(c, kp.secretKey);
    }),
    open: opsPerSecond(() => {
      nacl.sign.detached.verify(boxed, sig, kp.publicKey);
      nacl.box.open(boxed, nonce, boxA.publicKey, boxB.secretKey);
    }),
  };
}

const rows = [suiteRow(nodeSuite), suiteRow(portableSuite), tweetnaclRow()];
const sessions = measureSessions();
const fmt = (v: number | null) => (v === null ? 'n/a' : v.toLocaleString('en-US'));
const header = `| candidate | sign/s | verify/s | verify/s (new key) | seal/s (1 KiB envelope) | open/s (1 KiB envelope) |\n|---|---:|---:|---:|---:|---:|`;
const table = [
  header,
  ...rows.map(
    (r) =>
      `| ${r.candidate} | ${fmt(r.sign)} | ${fmt(r.verify)} | ${fmt(r.verifyNewKey)} | ${fmt(r.seal)} | ${fmt(r.open)} |`,
  ),
].join('\n');
const machine = `${os.cpus()[0]?.model ?? 'cpu'} ×${os.cpus().length}, Node ${process.version}, load ${os
  .loadavg()
  .map((l) => l.toFixed(2))
  .join(' ')}`;
const choice =
  'Choice: Node uses node:crypto for Ed25519/X25519 (nodeSuite); browsers use @noble (portableSuite); both use @noble/ciphers XChaCha20-Poly1305. Same bytes either way (cross-implementation test).';
const report = `# bench:crypto — ${new Date().toISOString()}\n\n${machine}\n\n${table}\n\n${choice}\n\n## v2 sessions\n\n${sessionTable(sessions)}\n\n${SESSION_NOTE}\n`;
console.log(report);

const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}crypto.md`, report);
writeFileSync(
  `${dir}crypto.json`,
  `${JSON.stringify({ date: new Date().toISOString(), machine, rows, sessions }, null, 2)}\n`,
);
