/**
 * v2 session costs, shared by `npm run bench:session` and `npm run bench:crypto`: full
 * handshakes per second (classical Noise_IK_25519_ChaChaPoly_SHA256 and our hybrid IKhfs +
 * ML-KEM-768; both sides and both messages per operation) with X25519 from each CryptoSuite,
 * and transport seal / open per second for 1 KiB and 16 KiB (ChaCha20-Poly1305 from
 * @noble/ciphers whatever the suite). Bounded: each cell runs for BENCH_CELL_MS.
 */
import {
  acceptSession,
  type CryptoSuite,
  ed25519PublicToX25519,
  ed25519SecretToX25519,
  generateIdentity,
  HandshakeState,
  initiateSession,
  portableSuite,
  randomBytes,
  Session,
} from '../src/index.js';
import { nodeSuite } from '../src/node.js';

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

function classicalHandshake(suite: CryptoSuite): void {
  const i = new HandshakeState({
    protocolName: 'Noise_IK_25519_ChaChaPoly_SHA256',
    initiator: true,
    staticSecretKey: ed25519SecretToX25519(alice.secretKey),
    remoteStaticKey: ed25519PublicToX25519(bob.publicKey),
    suite,
  });
  const r = new HandshakeState({
    protocolName: 'Noise_IK_25519_ChaChaPoly_SHA256',
    initiator: false,
    staticSecretKey: ed25519SecretToX25519(bob.secretKey),
    suite,
  });
  r.readMessage(i.writeMessage(alice.publicKey));
  i.readMessage(r.writeMessage());
  i.result();
  r.result();
}

function hybridHandshake(suite: CryptoSuite): void {
  const { packet, pending } = initiateSession({ identity: alice, remotePublicKey: bob.publicKey, suite });
  const accepted = acceptSession(packet, { identity: bob, acceptInitiator: () => true, suite });
  pending.complete(accepted.packet);
}

function transport(size: number): { seal: number; open: number } {
  const { packet, pending } = initiateSession({ identity: alice, remotePublicKey: bob.publicKey, suite: nodeSuite });
  const accepted = acceptSession(packet, { identity: bob, acceptInitiator: () => true, suite: nodeSuite });
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

export interface SessionMeasurements {
  /** Full handshakes per second, by suite name. */
  handshakes: Record<string, { classical: number; hybrid: number }>;
  seal1KiB: number;
  open1KiB: number;
  seal16KiB: number;
  open16KiB: number;
}

export function measureSessions(): SessionMeasurements {
  const handshakes: SessionMeasurements['handshakes'] = {};
  for (const suite of [nodeSuite, portableSuite])
    handshakes[suite.name] = {
      classical: opsPerSecond(() => classicalHandshake(suite)),
      hybrid: opsPerSecond(() => hybridHandshake(suite)),
    };
  const kib1 = transport(1024);
  const kib16 = transport(16 * 1024);
  return { handshakes, seal1KiB: kib1.seal, open1KiB: kib1.open, seal16KiB: kib16.seal, open16KiB: kib16.open };
}

const SUITE_LABEL: Record<string, string> = {
  'node:crypto': 'X25519 from node:crypto (OpenSSL)',
  noble: 'X25519 from @noble/curves',
};

export function sessionTable(m: SessionMeasurements): string {
  const fmt = (v: number) => v.toLocaleString('en-US');
  const rows = ['| measure | per second |', '|---|---:|'];
  for (const [name, h] of Object.entries(m.handshakes)) {
    const label = SUITE_LABEL[name] ?? name;
    rows.push(
      `| handshakes, classical Noise_IK_25519_ChaChaPoly_SHA256 (both sides), ${label} | ${fmt(h.classical)} |`,
    );
    rows.push(
      `| handshakes, hybrid Noise_IKhfs_25519+MLKEM768_ChaChaPoly_SHA256 (both sides), ${label} | ${fmt(h.hybrid)} |`,
    );
  }
  rows.push(
    `| session seal, 1 KiB | ${fmt(m.seal1KiB)} |`,
    `| session open, 1 KiB | ${fmt(m.open1KiB)} |`,
    `| session seal, 16 KiB | ${fmt(m.seal16KiB)} |`,
    `| session open, 16 KiB | ${fmt(m.open16KiB)} |`,
  );
  return rows.join('\n');
}

export const SESSION_NOTE =
  'One handshake = both sides, both messages: per side one X25519 key generation and four X25519 DH (through the CryptoSuite); the hybrid adds one ML-KEM-768 keygen, encaps and decaps (@noble/post-quantum in both suites). Session seal/open is ChaCha20-Poly1305 from @noble/ciphers, the same in both suites.';
