/**
 * Path agility in the NAT lab (issue 18): how fast a pair reaches its better path after consent,
 * how fast delivery resumes when that path is cut under a stream (with nothing lost or doubled),
 * and that two listeners dialing each other end with one connection.
 */
import { expect, it } from 'vitest';
import type { Lab, LabNode } from './lab.js';
import { batch, befriend, expectExactlyOnce, type Peer, startPeer, timings, waitForPath } from './scenario.js';
import { LISTEN_PORT, listenerPeer, SCENARIO_TIMEOUT_MS, UPGRADE_BOUND_MS, withLab } from './scenarios.js';
import { startRendezvous } from './services.js';

/** Consent → better path, when one is possible, ms (issue 18's goal). */
export const AGILE_UPGRADE_BOUND_MS = 1_000;
/**
 * Consent → WebRTC, ms: the goal plus ICE's own gathering and checks, which took 0.1–1.2 s in
 * an independent run on this kind of machine and are not ours to shorten.
 */
export const AGILE_WEBRTC_UPGRADE_BOUND_MS = 2_000;
/** Cut of the path in use → delivery resumes on the next one, ms (issue 18's goal). */
export const AGILE_RESUME_BOUND_MS = 2_000;
/** Stream pacing: one message every this many ms. */
const STREAM_INTERVAL_MS = 20;
/** Stream length, messages (4 s at the pacing above); the cut lands after the first second. */
const STREAM_MESSAGES = 200;
const CUT_AFTER_MESSAGES = 50;
/** TCP SYNs a pair's two listeners may see from each other in all: one dial each, one SYN retry. */
const DUAL_DIAL_MAX_SYNS = 3;

interface Notification {
  method: string;
  params: Record<string, unknown>;
  at: number;
}

function notes(p: Peer): Notification[] {
  return p.ext.notifications as unknown as Notification[];
}

/** A's notification times: when B turned trusted, and when a better path than the relay was up. */
function upgradeTimes(a: Peer, b: Peer, kind: 'direct' | 'webrtc'): { trustedAt?: number; upAt?: number } {
  const mine = notes(a).filter((n) => n.method === 'peer.status' && n.params['key'] === b.id.key);
  const trustedAt = mine.find((n) => n.params['state'] === 'trusted')?.at;
  const re = new RegExp(`^${kind}: connected`);
  const upAt = mine.find((n) => typeof n.params['path'] === 'string' && re.test(n.params['path']))?.at;
  return { ...(trustedAt !== undefined ? { trustedAt } : {}), ...(upAt !== undefined ? { upAt } : {}) };
}

/** Consent → `kind` up, ms, from A's own notifications (the path may come up before polling sees it). */
async function measureUpgrade(a: Peer, b: Peer, kind: 'direct' | 'webrtc'): Promise<number> {
  await waitForPath(a, b, kind, UPGRADE_BOUND_MS);
  const { trustedAt, upAt } = upgradeTimes(a, b, kind);
  expect(trustedAt, 'a peer.status saying the peer is trusted').toBeDefined();
  expect(upAt, `a peer.status saying ${kind} is connected`).toBeDefined();
  return Math.max(0, upAt! - trustedAt!);
}

/**
 * Send a paced stream A → B and cut the path in use partway (after `cutAfter` messages). Returns
 * the texts and when delivery resumed after the cut: the arrival that ends the longest silence
 * at B after the cut, minus the cut's time.
 */
async function streamAcrossCut(
  a: Peer,
  b: Peer,
  prefix: string,
  cut: () => Promise<void>,
): Promise<{ texts: string[]; resumeMs: number; longestGapMs: number }> {
  const texts = batch(prefix, STREAM_MESSAGES);
  let cutAt = 0;
  for (const [i, text] of texts.entries()) {
    if (i === CUT_AFTER_MESSAGES) {
      await cut();
      cutAt = performance.now();
    }
    const started = performance.now();
    await a.ext.request('messages.send', { peer: b.id.key, text });
    const left = STREAM_INTERVAL_MS - (performance.now() - started);
    if (left > 0) await new Promise((r) => setTimeout(r, left));
  }
  await expectExactlyOnce(b, texts, 30_000);
  const want = new Set(texts);
  const arrivals = notes(b)
    .filter((n) => n.method === 'message.received' && want.has(String(n.params['text'])))
    .map((n) => n.at);
  const before = arrivals.filter((t) => t <= cutAt);
  const after = arrivals.filter((t) => t > cutAt);
  let prev = before.at(-1) ?? cutAt;
  let longestGapMs = 0;
  let resumeMs = 0;
  for (const t of after) {
    if (t - prev > longestGapMs) {
      longestGapMs = t - prev;
      resumeMs = t - cutAt;
    }
    prev = t;
  }
  return { texts, resumeMs, longestGapMs };
}

/** TCP connections in state established with local port `port` inside a node's namespace. */
async function establishedOn(lab: Lab, node: LabNode, port: number): Promise<number> {
  const out = await lab.exec(node, 'ss', ['-Htn', 'state', 'established', `( sport = :${port} )`]);
  return out.split('\n').filter((l) => l.trim() !== '').length;
}

export function registerPathAgilityScenarios(): void {
  it(
    'A1. consent → direct (NATed host to a public listener) within the bound',
    () =>
      withLab({ sites: [{ nat: 'eim' }], publicHosts: 1 }, async (lab) => {
        const rdv = await startRendezvous(lab, lab.servers[0]!);
        const a = await startPeer(lab, lab.site(0).hosts[0]!, { server: rdv.url, name: 'alice' });
        const b = await startPeer(lab, lab.publicHosts[0]!, listenerPeer(lab.publicHosts[0]!, rdv.url, 'bob'));
        await befriend(a, b, 'share');
        const upgradeMs = await measureUpgrade(a, b, 'direct');
        timings.push({ scenario: 'A1 consent → direct', path: 'direct', upgradeOrFallbackMs: upgradeMs });
        expect(upgradeMs).toBeLessThanOrEqual(AGILE_UPGRADE_BOUND_MS);
      }),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'A2. consent → WebRTC (both behind endpoint-independent NAT) within the bound',
    () =>
      withLab({ sites: 2, nat: 'eim' }, async (lab) => {
        const rdv = await startRendezvous(lab, lab.servers[0]!);
        const a = await startPeer(lab, lab.site(0).hosts[0]!, { server: rdv.url, name: 'alice' });
        const b = await startPeer(lab, lab.site(1).hosts[0]!, { server: rdv.url, name: 'bob' });
        await befriend(a, b);
        const upgradeMs = await measureUpgrade(a, b, 'webrtc');
        timings.push({ scenario: 'A2 consent → WebRTC', path: 'webrtc', upgradeOrFallbackMs: upgradeMs });
        expect(upgradeMs).toBeLessThanOrEqual(AGILE_WEBRTC_UPGRADE_BOUND_MS);
      }),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'A3. UDP cut under a WebRTC stream: delivery resumes on the relay within the bound, exactly once',
    () =>
      withLab({ sites: 2, nat: 'eim' }, async (lab) => {
        const rdv = await startRendezvous(lab, lab.servers[0]!);
        const a = await startPeer(lab, lab.site(0).hosts[0]!, { server: rdv.url, name: 'alice' });
        const b = await startPeer(lab, lab.site(1).hosts[0]!, { server: rdv.url, name: 'bob' });
        await befriend(a, b);
        await waitForPath(a, b, 'webrtc', UPGRADE_BOUND_MS);
        const { resumeMs, longestGapMs } = await streamAcrossCut(a, b, 'a3', () => lab.blockUdp(0));
        timings.push({
          scenario: 'A3 UDP cut under WebRTC',
          path: 'webrtc → relay',
          upgradeOrFallbackMs: resumeMs,
          note: `longest silence ${longestGapMs.toFixed(0)} ms, ${STREAM_MESSAGES} msgs exactly once`,
        });
        expect(resumeMs).toBeLessThanOrEqual(AGILE_RESUME_BOUND_MS);
      }),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'A4. direct TCP cut while WebRTC stays up: delivery resumes on WebRTC within the bound, exactly once',
    () =>
      withLab({ sites: [{ nat: 'eim' }], publicHosts: 1 }, async (lab) => {
        const rdv = await startRendezvous(lab, lab.servers[0]!);
        const a = await startPeer(lab, lab.site(0).hosts[0]!, { server: rdv.url, name: 'alice' });
        const b = await startPeer(lab, lab.publicHosts[0]!, listenerPeer(lab.publicHosts[0]!, rdv.url, 'bob'));
        await befriend(a, b, 'share');
        await waitForPath(a, b, 'direct', UPGRADE_BOUND_MS);
        // WebRTC must be up beside the direct link, so the cut has somewhere better than the relay to go.
        await a.ext.waitFor(
          'webrtc beside direct',
          async () => {
            const list = await a.ext.request<{ peers: Array<Record<string, unknown>> }>('peers.list');
            const path = String(list.peers.find((p) => p['key'] === b.id.key)?.['path'] ?? '');
            return /^direct: connected/.test(path) && /webrtc: connected/.test(path) ? path : undefined;
          },
          UPGRADE_BOUND_MS,
        );
        const { resumeMs, longestGapMs } = await streamAcrossCut(a, b, 'a4', () => lab.blockTcpPort(0, LISTEN_PORT));
        const after = await waitForPath(a, b, 'webrtc', 5_000);
        timings.push({
          scenario: 'A4 direct TCP cut, WebRTC up',
          path: 'direct → webrtc',
          upgradeOrFallbackMs: resumeMs,
          note: `longest silence ${longestGapMs.toFixed(0)} ms, ${STREAM_MESSAGES} msgs exactly once; then "${after.status}"`,
        });
        expect(resumeMs).toBeLessThanOrEqual(AGILE_RESUME_BOUND_MS);
      }),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'A5. two public listeners dial each other at once (2 pairs): one connection per pair, chosen once',
    () =>
      withLab({ sites: 0, publicHosts: 4 }, async (lab) => {
        const rdv = await startRendezvous(lab, lab.servers[0]!);
        const hosts = lab.publicHosts;
        const pairs: Array<[Peer, Peer, LabNode, LabNode]> = [];
        const syns: Array<() => Promise<number>> = [];
        for (let i = 0; i < 2; i++) {
          const [ha, hb] = [hosts[2 * i]!, hosts[2 * i + 1]!];
          syns.push(await lab.countInbound(ha, ['-p', 'tcp', '--syn', '-s', hb.ip, '--dport', String(LISTEN_PORT)]));
          syns.push(await lab.countInbound(hb, ['-p', 'tcp', '--syn', '-s', ha.ip, '--dport', String(LISTEN_PORT)]));
          const a = await startPeer(lab, ha, listenerPeer(ha, rdv.url, `a${i}`));
          const b = await startPeer(lab, hb, listenerPeer(hb, rdv.url, `b${i}`));
          pairs.push([a, b, ha, hb]);
        }
        await Promise.all(pairs.map(([a, b]) => befriend(a, b, 'share')));
        for (const [a, b] of pairs) {
          await waitForPath(a, b, 'direct', UPGRADE_BOUND_MS);
          await waitForPath(b, a, 'direct', UPGRADE_BOUND_MS);
        }
        // A storm replaced links ~100 times a second; a settled pair holds one connection.
        await new Promise((r) => setTimeout(r, 2_000));
        const seen = [];
        for (const [i, [, , ha, hb]] of pairs.entries()) {
          const established = (await establishedOn(lab, ha, LISTEN_PORT)) + (await establishedOn(lab, hb, LISTEN_PORT));
          seen.push({ established, syns: (await syns[2 * i]!()) + (await syns[2 * i + 1]!()) });
        }
        // Recorded before the checks, so a failing run shows its numbers too.
        timings.push({
          scenario: 'A5 dual dial, 2 pairs',
          path: 'direct',
          note: seen.map((c, i) => `pair ${i}: ${c.established} established, ${c.syns} SYNs`).join('; '),
        });
        for (const [i, [a, b]] of pairs.entries()) {
          expect(seen[i]!.established, `pair ${i}: connections to the listeners`).toBe(1);
          expect(seen[i]!.syns, `pair ${i}: dials`).toBeLessThanOrEqual(DUAL_DIAL_MAX_SYNS);
          expect((await waitForPath(a, b, 'direct', 1_000)).status).toMatch(/^direct: connected/);
        }
      }),
    SCENARIO_TIMEOUT_MS,
  );
}
