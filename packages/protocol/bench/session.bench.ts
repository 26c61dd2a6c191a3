/**
 * `npm run bench:session`: v2 session costs on this machine — full handshakes per second
 * (classical Noise_IK_25519_ChaChaPoly_SHA256 and our hybrid IKhfs + ML-KEM-768, both sides and
 * all messages of one handshake per operation), and transport seal / open per second for 1 KiB
 * and 16 KiB. Prints a markdown table and writes it, with JSON, to bench/results/session.{md,json}
 * (next to bench:crypto's results). Bounded: each cell runs for BENCH_CELL_MS.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  acceptSession,
  ed25519PublicToX25519,
  ed25519SecretToX25519,
  generateIdentity,
  HandshakeState,
  initiateSession,
  portableSuite,
  randomBytes,
  Session,
} from '../src/index.js';

/** Wall time per measured cell, ms. */
const BENCH_CELL_MS = Number(process.env.BENCH_CELL_MS ?? 1500);

function opsPerSecond(fn: (i: number) => void, warmup = 20): number {
  for (let i = 0; i < warmup; i++) fn(i);
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < BENCH_CELL_MS) {
    fn(n++);
    elapsed = performance.now() - start;
  }
  return Math.round((n * 1000) / elapsed);
}

const alice = generateIdentity(portableSuite);
const bob = generateIdentity(portableSuite);

function classicalHandshake(): void {
  const i = new HandshakeState({
    protocolName: 'Noise_IK_25519_ChaChaPoly_SHA256',
    initiator: true,
    staticSecretKey: ed25519SecretToX25519(alice.secretKey),
    remoteStaticKey: ed25519PublicToX25519(bob.publicKey),
  });
  const r = new HandshakeState({
    protocolName: 'Noise_IK_25519_ChaChaPoly_SHA256',
    initiator: false,
    staticSecretKey: ed25519SecretToX25519(bob.secretKey),
  });
  r.readMessage(i.writeMessage(alice.publicKey));
  i.readMessage(r.writeMessage());
  i.result();
  r.result();
}

function hybridHandshake(): void {
  const { packet, pending } = initiateSession({ identity: alice, remotePublicKey: bob.publicKey });
  const accepted = acceptSession(packet, { identity: bob, acceptInitiator: () => true });
  pending.complete(accepted.packet);
}

function transport(size: number): { seal: number; open: number } {
  const { packet, pending } = initiateSession({ identity: alice, remotePublicKey: bob.publicKey });
  const accepted = acceptSession(packet, { identity: bob, acceptInitiator: () => true });
  const a = new Session(pending.complete(accepted.packet).keys, { rekeyAfterMs: Number.POSITIVE_INFINITY });
  const b = new Session(accepted.keys, { rekeyAfterMs: Number.POSITIVE_INFINITY });
  const plaintext = randomBytes(size);
  const seal = opsPerSecond(() => a.seal(plaintext), 200);
  // Open fresh packets in order, as a receiver would (each opens once).
  const packets = Array.from({ length: 4096 }, () => a.seal(plaintext));
  let next = 0;
  const open = opsPerSecond(() => {
    if (next >= packets.length) packets.push(a.seal(plaintext));
    b.open(packets[next++]!);
  }, 200);
  return { seal, open };
}

const handshakes = { classical: opsPerSecond(classicalHandshake), hybrid: opsPerSecond(hybridHandshake) };
const kib1 = transport(1024);
const kib16 = transport(16 * 1024);
const fmt = (v: number) => v.toLocaleString('en-US');
const table = [
  '| measure | per second |',
  '|---|---:|',
  `| handshakes, classical Noise_IK_25519_ChaChaPoly_SHA256 (both sides) | ${fmt(handshakes.classical)} |`,
  `| handshakes, hybrid Noise_IKhfs_25519+MLKEM768_ChaChaPoly_SHA256 (both sides) | ${fmt(handshakes.hybrid)} |`,
  `| session seal, 1 KiB | ${fmt(kib1.seal)} |`,
  `| session open, 1 KiB | ${fmt(kib1.open)} |`,
  `| session seal, 16 KiB | ${fmt(kib16.seal)} |`,
  `| session open, 16 KiB | ${fmt(kib16.open)} |`,
].join('\n');
const machine = `${os.cpus()[0]?.model ?? 'cpu'} ×${os.cpus().length}, Node ${process.version}, load ${os
  .loadavg()
  .map((l) => l.toFixed(2))
  .join(' ')}`;
const note =
  'All @noble (curves, ciphers, hashes, post-quantum), no node:crypto. One handshake = both sides, both messages: per side one X25519 key generation and four X25519 DH; the hybrid adds one ML-KEM-768 keygen, encaps and decaps.';
const report = `# bench:session — ${new Date().toISOString()}\n\n${machine}\n\n${table}\n\n${note}\n`;
console.log(report);

const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}session.md`, report);
writeFileSync(
  `${dir}session.json`,
  `${JSON.stringify({ date: new Date().toISOString(), machine, handshakes, seal1KiB: kib1.seal, open1KiB: kib1.open, seal16KiB: kib16.seal, open16KiB: kib16.open }, null, 2)}\n`,
);
