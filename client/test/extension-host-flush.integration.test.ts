/**
 * A host that reads the extension's stdout slowly, and an extension killed meanwhile: its
 * `message.received` lines wait in the extension's memory (the pipe is full), so nothing may be
 * acked to the sender or written to disk as delivered until the host has them. Killed in that
 * state and restarted on the same home, the extension receives the rest again: every message
 * reaches the host exactly once. (Before: the lines in memory were lost, yet acked and on disk
 * as delivered — the reliability test lost one message this way in a loaded CI run.)
 */
import { afterAll, expect, it } from 'vitest';
import { befriendExtensions, ExtensionProcess } from './helpers/extension-process.js';
import { startRendezvous, tempHome, waitFor } from './helpers/server.js';

const COUNT = 30;
/** Each message.received line is ~48 KiB: 30 of them (1.4 MiB) are far more than a pipe holds. */
const text = (i: number) => `m${i} ${'x'.repeat(48 * 1024)}`;

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it('acks and records a message as delivered only once the host has it; a kill before that loses nothing', async () => {
  const srv = await startRendezvous();
  cleanups.push(() => srv.close());
  const aliceHome = tempHome();
  const bobHome = tempHome();
  cleanups.push(aliceHome.cleanup, bobHome.cleanup);
  const alice = new ExtensionProcess(aliceHome.home, srv.url, ['--no-webrtc']);
  let bob = new ExtensionProcess(bobHome.home, srv.url, ['--no-webrtc']);
  const bobs = [bob];
  cleanups.push(
    () => alice.kill(),
    () => Promise.all(bobs.map((b) => b.kill())),
  );
  const bobKey = await befriendExtensions(alice, bob);

  // The host stops reading Bob's stdout; Alice sends more than the pipe holds.
  bob.proc.stdout.pause();
  for (let i = 0; i < COUNT; i++) await alice.call('messages.send', { peer: bobKey, text: text(i) });
  const delivered = () =>
    new Set(alice.notifications.filter((n) => n.method === 'message.delivered').map((n) => n.params!.id)).size;
  await new Promise((r) => setTimeout(r, 2_000));
  // Acked at most what fit in the pipe (and the reader's buffer); the rest waits in Bob's memory.
  const ackedWhilePaused = delivered();
  console.log(`acked while the host did not read: ${ackedWhilePaused} of ${COUNT}`);
  expect(ackedWhilePaused).toBeLessThan(COUNT);

  await bob.kill('SIGKILL');
  bob.proc.stdout.resume(); // what reached the pipe before the kill is still read
  bob = new ExtensionProcess(bobHome.home, srv.url, ['--no-webrtc']);
  bobs.push(bob);
  await waitFor(
    () => delivered() === COUNT,
    60_000,
    () => `all acked (${delivered()} of ${COUNT})`,
  );
  await new Promise((r) => setTimeout(r, 500));
  const got = bobs.flatMap((b) => b.received().map((m) => (m.text as string).split(' ')[0]));
  // Exactly once, in order, across the two processes.
  expect(got).toEqual(Array.from({ length: COUNT }, (_, i) => `m${i}`));
}, 120_000);
