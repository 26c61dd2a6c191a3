/**
 * `npm run bench:mailbox`: the cost of one mailbox write with and without the sender-signature
 * check (issue 12, item 2), in µs per write, for a small and a full-size envelope, on the
 * memory broker and (when `redis-server` is on PATH) on a real Redis, in CPU µs of this process. Only the mailbox path
 * pays the check; live relays do not verify signatures. Prints a markdown table and writes it,
 * with JSON, to apps/rendezvous/bench/results/. Bounded: BENCH_MAILBOX_WRITES writes per cell,
 * BENCH_MAILBOX_REPEATS repeats (the median is reported).
 *
 *   node --conditions=source --import tsx apps/rendezvous/bench/mailbox.bench.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  checkEnvelope,
  EnvelopeType,
  encodeKey,
  generateIdentity,
  randomBytes,
  sealEnvelope,
  verifyEnvelopeSignature,
} from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import pino from 'pino';
import type { Broker, MailboxLimits } from '../src/broker/broker.js';
import { MemoryBroker } from '../src/broker/memory.js';
import { RedisBroker } from '../src/broker/redis.js';
import { startRedis } from '../test/redis-helpers.js';

/** Mailbox writes timed per cell, writes. */
const WRITES = Number(process.env.BENCH_MAILBOX_WRITES ?? 400);
/** Repeats per cell (fresh recipients each time); the median is reported. */
const REPEATS = Number(process.env.BENCH_MAILBOX_REPEATS ?? 5);
const SIZES = [1024, 61_440]; // plaintext bytes: a small message, and a full envelope (61,662 B)

const LIMITS: MailboxLimits = {
  maxMessages: 256,
  maxBytes: 4 * 1024 * 1024,
  maxMessagesPerSender: 64,
  maxBytesPerSender: 1024 * 1024,
  totalMaxBytes: Number.MAX_SAFE_INTEGER,
  ttlMs: 60_000,
};

interface Row {
  broker: string;
  envelopeBytes: number;
  verifyUs: number;
  writeUs: number;
  writeVerifiedUs: number;
}

const sender = generateIdentity(nodeSuite);

/** `n` envelopes from one sender to one recipient (the broker keys each write by a fresh mailbox name). */
function envelopes(n: number, plaintext: number): Buffer[] {
  const to = generateIdentity(nodeSuite).publicKey;
  return Array.from({ length: n }, () =>
    Buffer.from(
      sealEnvelope(nodeSuite, { type: EnvelopeType.DATA, sender, recipient: to, plaintext: randomBytes(plaintext) }),
    ),
  );
}

/** A fresh mailbox name per write, so no per-recipient or per-sender limit is reached. */
let mailboxes = 0;
const freshKey = () => encodeKey(Buffer.alloc(32, 0)).slice(0, 30) + String(++mailboxes).padStart(13, '0');

/**
 * CPU time of this process (user + system), µs: what a write costs the server, without the time
 * it waits for Redis or for a core on a shared machine.
 */
function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** µs per write: what a9e1cb0 did (structure check, push) vs now (signature check, push). */
async function cell(broker: Broker, batch: Buffer[], verify: boolean): Promise<number> {
  const runs: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const keys = batch.map(freshKey);
    const t0 = cpuUs();
    for (let i = 0; i < batch.length; i++) {
      const env = batch[i]!;
      if (verify) verifyEnvelopeSignature(nodeSuite, env);
      else checkEnvelope(env);
      const res = await broker.mailboxPush(keys[i]!, env, LIMITS, Date.now());
      if (res !== 'queued') throw new Error(`mailbox write refused: ${res}`);
    }
    runs.push((cpuUs() - t0) / WRITES);
  }
  return median(runs);
}

function verifyCost(batch: Buffer[]): number {
  const runs: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const t0 = cpuUs();
    for (const env of batch) verifyEnvelopeSignature(nodeSuite, env);
    runs.push((cpuUs() - t0) / WRITES);
  }
  return median(runs);
}

async function rows(name: string, broker: Broker): Promise<Row[]> {
  const out: Row[] = [];
  for (const plaintext of SIZES) {
    const batch = envelopes(WRITES, plaintext);
    await cell(broker, batch, false); // warm-up (JIT, connections, scripts)
    // Interleaved, so load changes on a shared machine hit both columns alike.
    const without: number[] = [];
    const withCheck: number[] = [];
    for (let k = 0; k < 3; k++) {
      without.push(await cell(broker, batch, false));
      withCheck.push(await cell(broker, batch, true));
    }
    out.push({
      broker: name,
      envelopeBytes: batch[0]!.length,
      verifyUs: verifyCost(batch),
      writeUs: median(without),
      writeVerifiedUs: median(withCheck),
    });
  }
  return out;
}

function hasRedis(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const all: Row[] = [];
all.push(...(await rows('memory', new MemoryBroker({ maxMailboxKeys: 10_000_000 }))));
if (hasRedis()) {
  const redis = await startRedis();
  const broker = new RedisBroker({
    url: redis.url,
    clusterNodes: [],
    prefix: 'bench:',
    log: pino({ level: 'silent' }),
  });
  try {
    await broker.start('bench', () => {});
    all.push(...(await rows('redis (one local redis-server)', broker)));
  } finally {
    await broker.stop();
    await redis.stop();
  }
}

const f = (n: number) => n.toFixed(1);
const table = [
  '| broker | envelope | signature check alone | write without check (a9e1cb0: structure only) | write with signature check | added by the check |',
  '|---|---:|---:|---:|---:|---:|',
  ...all.map(
    (r) =>
      `| ${r.broker} | ${r.envelopeBytes.toLocaleString('en-US')} B | ${f(r.verifyUs)} µs | ${f(r.writeUs)} µs | ${f(r.writeVerifiedUs)} µs | ${f(r.writeVerifiedUs - r.writeUs)} µs |`,
  ),
].join('\n');
const machine = `${os.cpus()[0]?.model ?? 'cpu'} ×${os.cpus().length}, Node ${process.version}, load ${os
  .loadavg()
  .map((l) => l.toFixed(2))
  .join(' ')}`;
const note =
  'CPU µs of the server process per mailbox write (user + system, median of repeats; Redis time itself is not included): the write is what the server does for a RELAY to an offline peer (check, then the broker call). Only the mailbox path verifies signatures; live relays are unchanged. Measured on a shared 2-core machine: compare the columns of one run, not runs.';
const report = `# bench:mailbox — ${new Date().toISOString()}\n\n${machine}; ${WRITES} writes × ${REPEATS} repeats per cell\n\n${table}\n\n${note}\n`;
console.log(report);

const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}mailbox.md`, report);
writeFileSync(
  `${dir}mailbox.json`,
  `${JSON.stringify({ date: new Date().toISOString(), machine, writes: WRITES, repeats: REPEATS, rows: all }, null, 2)}\n`,
);
