/**
 * The seven scenarios of the fallback chain (issue: NAT lab). Each builds its own lab, runs real
 * rendezvous/extension/coturn/redis processes in it, asserts the path the client chose and that
 * every message arrives exactly once, records its timings, and tears the lab down.
 */
import { expect, it } from 'vitest';
import type { ExtensionOptions } from './extension.js';
import { createLab, type Lab, type LabNode, type LabOptions } from './lab.js';
import {
  activePath,
  batch,
  befriend,
  expectExactlyOnce,
  pathStatus,
  sendAll,
  startPeer,
  timings,
  waitForPath,
} from './scenario.js';
import { startCoturn, startRedis, startRendezvous } from './services.js';

/** Each scenario must finish within this (ms); the lab tier as a whole stays under 6 minutes. */
export const SCENARIO_TIMEOUT_MS = 60_000;
/** A failed WebRTC attempt takes ~19.5 s before ICE gives up (measured); wait a bit longer. */
export const ICE_FAILURE_WAIT_MS = 30_000;
/** Bound on the fall back from a dead WebRTC path to the relay (ms). */
export const FALLBACK_BOUND_MS = 30_000;
/** Bound on an upgrade to a better path once one exists (ms). */
export const UPGRADE_BOUND_MS = 20_000;

/**
 * Extension settings for a host that runs a direct-WebSocket listener on its lab address and
 * announces it on mDNS (`p2p-comm extension` reads P2P_COMM_LISTEN and P2P_COMM_MDNS).
 */
export const LISTEN_PORT = 7700;
export function listenerPeer(node: LabNode, server: string, name: string): ExtensionOptions {
  return { server, name, env: { P2P_COMM_LISTEN: `${node.ip}:${LISTEN_PORT}`, P2P_COMM_MDNS: '1' } };
}

export async function withLab(options: LabOptions, body: (lab: Lab) => Promise<void>): Promise<void> {
  const lab = await createLab(options);
  try {
    await body(lab);
  } catch (err) {
    // Everything the lab's processes said, so a failure in CI can be understood from the log.
    if (err instanceof Error) err.message += `\n=== lab processes ===\n${lab.describeProcesses()}`;
    throw err;
  } finally {
    await lab.teardown();
  }
}

/**
 * WebRTC must have been tried and have failed (the status says why, e.g. "webrtc: ice failed"),
 * and the peer must still be on the relay: a client that never tries WebRTC does not pass.
 */
const WEBRTC_GAVE_UP = /webrtc: (?!connected|connecting)/;

/**
 * WebRTC must have been tried, and after ICE had time to fail the peer must still be on the
 * relay with no WebRTC link: a client that never tries WebRTC does not pass. Returns the reason
 * the client gave for the failure, when its status showed one.
 */
async function expectWebrtcGivesUp(a: Awaited<ReturnType<typeof startPeer>>, b: typeof a): Promise<string> {
  const started = performance.now();
  const seen = new Set<string>();
  while (performance.now() - started < ICE_FAILURE_WAIT_MS) {
    const status = await pathStatus(a, b);
    seen.add(status);
    if (WEBRTC_GAVE_UP.test(status)) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const all = [...seen].join(' | ');
  expect(all, 'a WebRTC attempt').toMatch(/webrtc: /);
  const final = await pathStatus(a, b);
  expect(activePath(final), final).toBe('relay');
  expect(final).not.toMatch(/webrtc: connected/);
  return [...seen].find((s) => WEBRTC_GAVE_UP.test(s)) ?? `no failure reason shown (seen: ${all})`;
}

export function registerScenarios(): void {
  it(
    '1. same LAN, key only: mDNS finds the listener, direct WebSocket',
    () =>
      withLab({ sites: [{ nat: 'eim', hosts: 2 }] }, async (lab) => {
        const rdv = await startRendezvous(lab, lab.servers[0]!);
        const [h0, h1] = lab.site(0).hosts;
        const mdnsFromBob = await lab.countInbound(h0!, ['-p', 'udp', '-s', h1!.ip, '--dport', '5353']);
        const a = await startPeer(lab, h0!, listenerPeer(h0!, rdv.url, 'alice'));
        const b = await startPeer(lab, h1!, listenerPeer(h1!, rdv.url, 'bob'));
        await befriend(a, b, 'key');
        const consented = performance.now();
        const texts = batch('s1', 20);
        const first = await sendAll(a, b, texts);
        await waitForPath(a, b, 'direct', UPGRADE_BOUND_MS);
        const upgradeMs = performance.now() - consented;
        await expectExactlyOnce(b, texts, 20_000);
        // Bob's listener was announced to alice over mDNS on the LAN. (The rendezvous may also
        // carry address hints between the two; the client does not say which one it used.)
        expect(await mdnsFromBob(), 'mDNS datagrams from bob at alice').toBeGreaterThan(0);
        timings.push({
          scenario: '1 mDNS, same LAN',
          path: 'direct',
          firstMessageMs: first,
          upgradeOrFallbackMs: upgradeMs,
        });
      }),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    '2. NATed host to a listener on the internet: direct WebSocket (outbound)',
    () =>
      withLab({ sites: [{ nat: 'eim' }], publicHosts: 1 }, async (lab) => {
        const rdv = await startRendezvous(lab, lab.servers[0]!);
        const a = await startPeer(lab, lab.site(0).hosts[0]!, { server: rdv.url, name: 'alice' });
        const b = await startPeer(lab, lab.publicHosts[0]!, listenerPeer(lab.publicHosts[0]!, rdv.url, 'bob'));
        // Connections to bob's listener from alice's router: alice dialled out through her NAT.
        const dialled = await lab.countInbound(lab.publicHosts[0]!, [
          '-p',
          'tcp',
          '--syn',
          '-s',
          lab.site(0).router.ip,
          '--dport',
          String(LISTEN_PORT),
        ]);
        await befriend(a, b, 'share');
        const consented = performance.now();
        const texts = batch('s2', 20);
        const first = await sendAll(a, b, texts);
        await waitForPath(a, b, 'direct', UPGRADE_BOUND_MS);
        const upgradeMs = performance.now() - consented;
        await expectExactlyOnce(b, texts, 20_000);
        expect(await dialled(), "connections from alice's router to bob's listener").toBeGreaterThan(0);
        timings.push({
          scenario: '2 NAT → public listener',
          path: 'direct',
          firstMessageMs: first,
          upgradeOrFallbackMs: upgradeMs,
        });
      }),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    '3. both behind endpoint-independent NAT: WebRTC hole-punched with our STUN',
    () =>
      withLab({ sites: 2, nat: 'eim' }, async (lab) => {
        const rdv = await startRendezvous(lab, lab.servers[0]!);
        // STUN requests reaching the rendezvous server's responder: the only STUN in the lab.
        const stunRequests = await lab.countInbound(lab.servers[0]!, ['-p', 'udp', '--dport', '3478']);
        // UDP arriving at bob straight from alice's router: a punched hole, not a relay.
        const punched = await lab.countInbound(lab.site(1).hosts[0]!, ['-p', 'udp', '-s', lab.site(0).router.ip]);
        const a = await startPeer(lab, lab.site(0).hosts[0]!, { server: rdv.url, name: 'alice' });
        const b = await startPeer(lab, lab.site(1).hosts[0]!, { server: rdv.url, name: 'bob' });
        await befriend(a, b);
        const consented = performance.now();
        const texts = batch('s3', 20);
        const first = await sendAll(a, b, texts);
        await waitForPath(a, b, 'webrtc', UPGRADE_BOUND_MS);
        const upgradeMs = performance.now() - consented;
        expect(await stunRequests(), 'STUN requests at the rendezvous responder').toBeGreaterThan(0);
        expect(await punched(), "UDP from alice's router at bob").toBeGreaterThan(0);
        const more = batch('s3b', 20);
        await sendAll(a, b, more);
        await expectExactlyOnce(b, [...texts, ...more], 20_000);
        timings.push({
          scenario: '3 EIM ↔ EIM',
          path: 'webrtc',
          firstMessageMs: first,
          upgradeOrFallbackMs: upgradeMs,
        });
      }),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    '4a. both behind symmetric NAT, no TURN: WebRTC cannot punch, relay',
    () =>
      withLab({ sites: 2, nat: 'symmetric' }, async (lab) => {
        const rdv = await startRendezvous(lab, lab.servers[0]!);
        const a = await startPeer(lab, lab.site(0).hosts[0]!, { server: rdv.url, name: 'alice' });
        const b = await startPeer(lab, lab.site(1).hosts[0]!, { server: rdv.url, name: 'bob' });
        await befriend(a, b);
        const texts = batch('s4a', 20);
        const first = await sendAll(a, b, texts);
        await expectExactlyOnce(b, texts, 20_000);
        const status = await expectWebrtcGivesUp(a, b);
        timings.push({ scenario: '4a symmetric ↔ symmetric', path: 'relay', firstMessageMs: first, note: status });
      }),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    '4b. both behind symmetric NAT with coturn: WebRTC over TURN',
    () =>
      withLab({ sites: 2, nat: 'symmetric', servers: 2 }, async (lab) => {
        const turnNode = lab.servers[1]!;
        const secret = 'lab-turn-secret-0123456789';
        const turn = await startCoturn(lab, turnNode, { secret });
        const rdv = await startRendezvous(lab, lab.servers[0]!, {
          TURN_SECRET: secret,
          TURN_URLS: `turn:${turnNode.ip}:3478?transport=udp`,
        });
        const a = await startPeer(lab, lab.site(0).hosts[0]!, { server: rdv.url, name: 'alice' });
        const b = await startPeer(lab, lab.site(1).hosts[0]!, { server: rdv.url, name: 'bob' });
        await befriend(a, b);
        const consented = performance.now();
        const texts = batch('s4b', 20);
        const first = await sendAll(a, b, texts);
        await waitForPath(a, b, 'webrtc', UPGRADE_BOUND_MS);
        const upgradeMs = performance.now() - consented;
        // The data channel runs through a TURN allocation made with the REST credentials.
        expect(turn.stdout).toMatch(/ALLOCATE processed, success/);
        const more = batch('s4b-after', 20);
        await sendAll(a, b, more);
        await expectExactlyOnce(b, [...texts, ...more], 20_000);
        timings.push({
          scenario: '4b symmetric + TURN',
          path: 'webrtc (TURN)',
          firstMessageMs: first,
          upgradeOrFallbackMs: upgradeMs,
        });
      }),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    '5. UDP blocked at one router: relay',
    () =>
      withLab({ sites: [{ nat: 'udp-blocked' }, { nat: 'eim' }] }, async (lab) => {
        const rdv = await startRendezvous(lab, lab.servers[0]!);
        const a = await startPeer(lab, lab.site(0).hosts[0]!, { server: rdv.url, name: 'alice' });
        const b = await startPeer(lab, lab.site(1).hosts[0]!, { server: rdv.url, name: 'bob' });
        await befriend(a, b);
        const texts = batch('s5', 20);
        const first = await sendAll(a, b, texts);
        await expectExactlyOnce(b, texts, 20_000);
        const status = await expectWebrtcGivesUp(a, b);
        timings.push({ scenario: '5 UDP blocked at one site', path: 'relay', firstMessageMs: first, note: status });
      }),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    '6. WebRTC path cut mid-conversation: relay within a bound, 500 messages exactly once',
    () =>
      withLab({ sites: 2, nat: 'eim' }, async (lab) => {
        const rdv = await startRendezvous(lab, lab.servers[0]!);
        const a = await startPeer(lab, lab.site(0).hosts[0]!, { server: rdv.url, name: 'alice' });
        const b = await startPeer(lab, lab.site(1).hosts[0]!, { server: rdv.url, name: 'bob' });
        await befriend(a, b);
        const warm = batch('s6-warm', 5);
        const first = await sendAll(a, b, warm);
        await waitForPath(a, b, 'webrtc', UPGRADE_BOUND_MS);
        const before = batch('s6-before', 250);
        const after = batch('s6-after', 250);
        const sending = (async () => {
          for (const t of before) await a.ext.request('messages.send', { peer: b.id.key, text: t });
        })();
        await new Promise((r) => setTimeout(r, 100));
        await lab.blockUdp(0); // the cut lands while the first half is still being sent
        const cutAt = performance.now();
        await sending;
        for (const t of after) await a.ext.request('messages.send', { peer: b.id.key, text: t });
        await waitForPath(a, b, 'relay', FALLBACK_BOUND_MS);
        const fallbackMs = performance.now() - cutAt;
        await expectExactlyOnce(b, [...warm, ...before, ...after], 30_000);
        expect(fallbackMs).toBeLessThan(FALLBACK_BOUND_MS);
        timings.push({
          scenario: '6 UDP cut under WebRTC',
          path: 'webrtc → relay',
          firstMessageMs: first,
          upgradeOrFallbackMs: fallbackMs,
        });
      }),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    '7. two rendezvous instances sharing one Redis: signaling and relay across instances',
    () =>
      withLab({ sites: 2, nat: 'eim', servers: 2 }, async (lab) => {
        const redis = await startRedis(lab, lab.servers[0]!);
        const [r0, r1] = await Promise.all([
          startRendezvous(lab, lab.servers[0]!, { REDIS_URL: redis.url, INSTANCE_ID: 'lab-a' }),
          startRendezvous(lab, lab.servers[1]!, { REDIS_URL: redis.url, INSTANCE_ID: 'lab-b' }),
        ]);
        const a = await startPeer(lab, lab.site(0).hosts[0]!, { server: r0.url, name: 'alice' });
        const b = await startPeer(lab, lab.site(1).hosts[0]!, { server: r1.url, name: 'bob' });
        await befriend(a, b);
        const consented = performance.now();
        const texts = batch('s7', 20);
        const first = await sendAll(a, b, texts);
        // WebRTC only comes up if offers and answers crossed from one instance to the other.
        await waitForPath(a, b, 'webrtc', UPGRADE_BOUND_MS);
        const upgradeMs = performance.now() - consented;
        await lab.blockUdp(0);
        const down = await waitForPath(a, b, 'relay', FALLBACK_BOUND_MS);
        const relayed = batch('s7-relay', 50);
        await sendAll(a, b, relayed);
        await expectExactlyOnce(b, [...texts, ...relayed], 20_000);
        timings.push({
          scenario: '7 two instances + Redis',
          path: 'webrtc, then relay across instances',
          firstMessageMs: first,
          upgradeOrFallbackMs: upgradeMs,
          note: `fallback after UDP cut ${down.ms.toFixed(0)} ms`,
        });
      }),
    SCENARIO_TIMEOUT_MS,
  );
}
