/**
 * Steps every scenario shares: start two extensions, make them consent to each other, read the
 * path one uses to the other, send a batch and check it arrives exactly once. Timings go to a
 * table printed after the run (scenario → path → time to first message → time to upgrade).
 */
import { expect } from 'vitest';
import { Extension, type ExtensionOptions } from './extension.js';
import type { Lab, LabNode } from './lab.js';

export type PathKind = 'direct' | 'webrtc' | 'relay';

/** Longest wait for a peer to finish consent (ms). */
export const CONSENT_TIMEOUT_MS = 15_000;
/** Extra wait after the last expected message, to catch late duplicates (ms). */
export const DUPLICATE_SETTLE_MS = 1_000;

export interface ScenarioTiming {
  scenario: string;
  path: string;
  firstMessageMs?: number;
  upgradeOrFallbackMs?: number;
  note?: string;
}

export const timings: ScenarioTiming[] = [];

export interface Identity {
  key: string;
  share: string;
  fingerprint: string;
}

export interface Peer {
  ext: Extension;
  id: Identity;
}

export async function startPeer(lab: Lab, node: LabNode, opts: ExtensionOptions): Promise<Peer> {
  const ext = new Extension(lab, node, opts);
  await ext.request('identity.setName', { name: opts.name });
  const id = await ext.request<Identity>('identity.get');
  return { ext, id };
}

/** A asks B (by share string, or by bare key), B's host accepts; resolves when A trusts B. */
export async function befriend(a: Peer, b: Peer, by: 'share' | 'key' = 'share'): Promise<void> {
  await a.ext.request('peers.connect', by === 'share' ? { share: b.id.share } : { key: b.id.key });
  const req = await b.ext.waitFor(
    'consent.request',
    () => b.ext.notifications.find((n) => n.method === 'consent.request')?.params,
    CONSENT_TIMEOUT_MS,
  );
  const ref = typeof req['requestId'] === 'string' ? { requestId: req['requestId'] } : { key: a.id.key };
  await b.ext.request('consent.respond', { ...ref, accept: true });
  // Data may flow only once both sides consented: A's entry for B turns "trusted".
  await a.ext.waitFor(
    'consent of the peer',
    async () => ((await peerEntry(a, b))?.['state'] === 'trusted' ? true : undefined),
    CONSENT_TIMEOUT_MS,
  );
}

async function peerEntry(a: Peer, b: Peer): Promise<Record<string, unknown> | undefined> {
  const list = await a.ext.request<{ peers: Array<Record<string, unknown>> }>('peers.list');
  return list.peers.find((p) => p['key'] === b.id.key);
}

/** The path A currently uses to B, as A's status reports it (e.g. "webrtc: connected; …"). */
export async function pathStatus(a: Peer, b: Peer): Promise<string> {
  const entry = await peerEntry(a, b);
  return typeof entry?.['path'] === 'string' ? entry['path'] : 'no path';
}

export function activePath(status: string): PathKind | undefined {
  const m = /^(direct|webrtc|relay): connected/.exec(status);
  return m ? (m[1] as PathKind) : undefined;
}

/** Wait until A's best path to B is `kind`; returns ms waited and the status text. */
export async function waitForPath(
  a: Peer,
  b: Peer,
  kind: PathKind,
  timeoutMs: number,
): Promise<{ ms: number; status: string }> {
  const started = performance.now();
  let last = '';
  try {
    const status = await a.ext.waitFor(
      `path ${kind} to ${b.ext.name}`,
      async () => {
        last = await pathStatus(a, b);
        return activePath(last) === kind ? last : undefined;
      },
      timeoutMs,
    );
    return { ms: performance.now() - started, status };
  } catch (err) {
    throw new Error(
      `${a.ext.name} → ${b.ext.name}: expected path ${kind}, last status "${last}"\n${(err as Error).message}`,
    );
  }
}

/** Send texts A → B; resolves with ms until the first one arrived. */
export async function sendAll(a: Peer, b: Peer, texts: readonly string[]): Promise<number> {
  const started = performance.now();
  const before = b.ext.receivedTexts().length;
  for (const text of texts) await a.ext.request('messages.send', { peer: b.id.key, text });
  const firstAt = await b.ext.waitFor(
    'first message',
    () => {
      const n = b.ext.notifications.filter((x) => x.method === 'message.received')[before];
      return n ? n.at : undefined;
    },
    30_000,
  );
  return firstAt - started;
}

/** Every text arrived, and none twice (checked again after a settle time). */
export async function expectExactlyOnce(b: Peer, texts: readonly string[], timeoutMs: number): Promise<void> {
  const want = new Set(texts);
  await b.ext.waitFor(
    `${texts.length} messages`,
    () => {
      const got = new Set(b.ext.receivedTexts().filter((t) => want.has(t)));
      return got.size === want.size ? true : undefined;
    },
    timeoutMs,
  );
  await new Promise((r) => setTimeout(r, DUPLICATE_SETTLE_MS));
  const counts = new Map<string, number>();
  for (const t of b.ext.receivedTexts()) if (want.has(t)) counts.set(t, (counts.get(t) ?? 0) + 1);
  const dupes = [...counts].filter(([, n]) => n !== 1);
  expect(dupes, 'messages delivered more than once').toEqual([]);
  expect(counts.size).toBe(want.size);
}

export function batch(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
}

export function printTimings(): void {
  if (timings.length === 0) return;
  // Printed once per group of scenarios: what was printed is not printed again.
  const rows = timings
    .splice(0)
    .map(
      (t) =>
        `| ${t.scenario} | ${t.path} | ${t.firstMessageMs?.toFixed(0) ?? '—'} | ${t.upgradeOrFallbackMs?.toFixed(0) ?? '—'} | ${t.note ?? ''} |`,
    );
  console.log(
    [
      '| scenario | chosen path | send → first message (ms) | consent → upgrade, or cut → fallback (ms) | note |',
      '|---|---|---|---|---|',
      ...rows,
    ].join('\n'),
  );
}
