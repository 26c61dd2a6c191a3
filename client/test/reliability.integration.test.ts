/**
 * No loss, no duplicates: 1,000 messages from one extension to another while the rendezvous
 * server (Redis broker, a child process) is SIGKILLed and restarted, and while the receiving
 * extension is SIGKILLed and restarted on the same NEXUS_HOME. Every process is real.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { befriendExtensions, ExtensionProcess } from './helpers/extension-process.js';
import { freePort, startRedis, tempHome, waitFor } from './helpers/server.js';
import { killProcess, spawnRendezvous } from './helpers/server-process.js';

const TOTAL = 1000;
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it(`${TOTAL} messages across a server kill/restart and a receiver kill/restart: 0 lost, 0 duplicates`, async () => {
  const t0 = Date.now();
  const redis = await startRedis();
  cleanups.push(() => redis.kill());
  const port = await freePort();
  const env = { REDIS_URL: redis.url };
  let server: ChildProcess = await spawnRendezvous(port, env);
  cleanups.push(() => killProcess(server));
  const url = `ws://127.0.0.1:${port}`;

  const aliceHome = tempHome();
  const bobHome = tempHome();
  cleanups.push(aliceHome.cleanup, bobHome.cleanup);
  const alice = new ExtensionProcess(aliceHome.home, url);
  let bob = new ExtensionProcess(bobHome.home, url);
  cleanups.push(
    () => alice.kill(),
    () => bob.kill(),
  );
  const bobKey = await befriendExtensions(alice, bob);

  const bobs: ExtensionProcess[] = [bob];
  const sentIds: string[] = [];
  for (let i = 0; i < TOTAL; i++) {
    const r = await alice.call<{ id: string }>('messages.send', { peer: bobKey, text: `m${i}` });
    sentIds.push(r.id);
    if (i === 300) {
      await killProcess(server); // SIGKILL: no RESTARTING notice, connections just die
      await new Promise((r) => setTimeout(r, 300));
    }
    if (i === 400) server = await spawnRendezvous(port, env);
    if (i === 650) await bob.kill('SIGKILL');
    if (i === 750) {
      bob = new ExtensionProcess(bobHome.home, url);
      bobs.push(bob);
      cleanups.push(() => bob.kill());
    }
    if (i % 50 === 0) await new Promise((r) => setTimeout(r, 20));
  }
  const delivered = () =>
    new Set(alice.notifications.filter((n) => n.method === 'message.delivered').map((n) => n.params!.id));
  try {
    await waitFor(
      () => bobs.reduce((n, b) => n + b.received().length, 0) >= TOTAL && delivered().size >= TOTAL,
      // Not a speed bound: on an idle machine this takes 12–40 s; the rest is room for a loaded one.
      120_000,
      'all messages delivered and acked',
    );
  } catch (err) {
    // A stall names its own cause: both sides' state and what each saw of the other.
    const state = async (p: ExtensionProcess) => JSON.stringify(await p.call('status').catch((e) => String(e)));
    const seen = (p: ExtensionProcess) =>
      p.notifications
        .filter((n) => n.method === 'peer.status' || n.method === 'server.status')
        .map((n) => JSON.stringify(n.params))
        .join('\n  ');
    process.stderr.write(
      `reliability stalled: received ${bobs.map((b) => b.received().length).join('+')}, acked ${delivered().size}\n` +
        `alice status ${await state(alice)}\nbob status ${await state(bob)}\n` +
        `alice saw:\n  ${seen(alice)}\nbob saw:\n  ${seen(bob)}\n` +
        `alice stderr: ${alice.stderr.slice(-4000)}\nbob stderr: ${bob.stderr.slice(-4000)}\n`,
    );
    throw err;
  }
  // Let any straggling retransmissions arrive, so a duplicate would show.
  await new Promise((r) => setTimeout(r, 1500));

  const texts = bobs.flatMap((b) => b.received().map((m) => m.text as string));
  const counts = new Map<string, number>();
  for (const t of texts) counts.set(t, (counts.get(t) ?? 0) + 1);
  const lost = Array.from({ length: TOTAL }, (_, i) => `m${i}`).filter((t) => !counts.has(t));
  const duplicates = [...counts.values()].filter((c) => c > 1).length;
  const status = await alice.call<{ outbox: { messages: number }; counters: { retransmits: number } }>('status');
  const bobStatus = await bob.call<{ counters: { duplicates: number } }>('status');
  process.stderr.write(
    `reliability: ${TOTAL} sent, lost=${lost.length}, duplicates delivered=${duplicates}, ` +
      `retransmitted=${status.counters.retransmits}, receiver dropped duplicates=${bobStatus.counters.duplicates}, ` +
      `${Date.now() - t0} ms\n`,
  );
  expect(lost).toEqual([]);
  expect(duplicates).toBe(0);
  expect(texts).toEqual(Array.from({ length: TOTAL }, (_, i) => `m${i}`)); // and in order
  expect(delivered()).toEqual(new Set(sentIds));
  expect(status.outbox.messages).toBe(0);
}, 180_000);
