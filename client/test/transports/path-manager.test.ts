/**
 * The path manager's stall detection, with in-memory Links (a stub of the Link interface): what
 * makes a path suspect, where traffic goes meanwhile, and what clears it.
 */
import { encodeKey, generateIdentity } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterEach, describe, expect, it } from 'vitest';
import { LinkEvents } from '../../src/transports/direct-link-events.js';
import type { PathKind } from '../../src/transports/link.js';
import { PATH_NEW_LINK_GRACE_MS, PATH_STALL_MS } from '../../src/transports/path-constants.js';
import { PathManager } from '../../src/transports/path-manager.js';
import { waitFor } from '../helpers/server.js';

/** A link that records what it sends; `cut` makes it swallow everything, probes included. */
class MemLink extends LinkEvents {
  readonly sent: Uint8Array[] = [];
  cut = false;
  lastHeardAt = Date.now();
  probes = 0;
  constructor(
    readonly kind: PathKind,
    readonly remoteKey: Uint8Array,
  ) {
    super();
  }
  send(envelope: Uint8Array): void {
    if (!this.cut) this.sent.push(envelope);
  }
  probe(): void {
    this.probes++;
    if (!this.cut) setTimeout(() => (this.lastHeardAt = Date.now()), 5);
  }
  receive(envelope: Uint8Array): void {
    this.lastHeardAt = Date.now();
    this.deliver(envelope);
  }
  protected teardown(): void {}
}

const managers: PathManager[] = [];
afterEach(() => {
  for (const m of managers.splice(0)) m.closeAll('test over');
});

function setup(outstanding: () => boolean) {
  const peerKey = generateIdentity(nodeSuite).publicKey;
  const peer = encodeKey(peerKey);
  const paths = new PathManager(() => {});
  managers.push(paths);
  paths.trackProgress(outstanding);
  const changes: Array<PathKind | null> = [];
  paths.onPathChange((_, best) => changes.push(best));
  const direct = new MemLink('direct', peerKey);
  const webrtc = new MemLink('webrtc', peerKey);
  paths.addLink(direct);
  paths.addLink(webrtc);
  // Links offered long enough ago to be judged (PATH_NEW_LINK_GRACE_MS, PATH_STALL_MS).
  return { peerKey, peer, paths, changes, direct, webrtc };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('path changes tell what came before', () => {
  it('handlers get the previous best path; a move to a worse path (or none) is a fall back', () => {
    const peerKey = generateIdentity(nodeSuite).publicKey;
    const paths = new PathManager(() => {});
    managers.push(paths);
    const seen: Array<[PathKind | null, PathKind | null, boolean]> = [];
    paths.onPathChange((_, best, before) => seen.push([before, best, PathManager.fellBack(before, best)]));
    const webrtc = new MemLink('webrtc', peerKey);
    const direct = new MemLink('direct', peerKey);
    paths.addLink(webrtc);
    paths.addLink(direct);
    direct.close('cut');
    webrtc.close('cut');
    expect(seen).toEqual([
      [null, 'webrtc', false],
      ['webrtc', 'direct', false],
      ['direct', 'webrtc', true],
      ['webrtc', null, true],
    ]);
    expect(PathManager.fellBack('relay', 'direct')).toBe(false);
    expect(PathManager.fellBack('direct', 'relay')).toBe(true);
  });
});

describe('stall detection', () => {
  it('acks stall on the best link: traffic moves to the next at once, the suspect is probed and comes back', async () => {
    const { peerKey, peer, paths, changes, direct, webrtc } = setup(() => true);
    await sleep(PATH_STALL_MS);
    paths.send(peerKey, Uint8Array.of(1));
    expect(direct.sent).toHaveLength(1);
    direct.cut = true;
    paths.send(peerKey, Uint8Array.of(2));
    await waitFor(() => paths.best(peer)?.kind === 'webrtc', PATH_STALL_MS * 3, 'move to webrtc');
    expect(changes.at(-1)).toBe('webrtc'); // the session is told, and resends its window
    expect(direct.probes).toBeGreaterThan(0);
    expect(paths.status(peer)).toMatch(/^webrtc: connected; direct: no acks for \d+ ms, probing/);
    paths.send(peerKey, Uint8Array.of(3));
    expect(webrtc.sent.map((e) => e[0])).toEqual([3]);
    // Still cut: probes keep going, traffic stays away.
    await sleep(600);
    expect(paths.best(peer)?.kind).toBe('webrtc');
    direct.cut = false;
    await waitFor(() => paths.best(peer)?.kind === 'direct', 2_000, 'direct answers its probe');
    expect(changes.at(-1)).toBe('direct');
  });

  it('sends that await no ack (our own acks, say) never make a path suspect', async () => {
    const { peerKey, peer, paths, direct } = setup(() => false);
    await sleep(PATH_STALL_MS);
    direct.cut = true;
    for (let i = 0; i < 5; i++) {
      paths.send(peerKey, Uint8Array.of(i));
      await sleep(PATH_STALL_MS / 2);
    }
    expect(paths.best(peer)?.kind).toBe('direct');
    expect(direct.probes).toBe(0);
  });

  it('ack progress keeps the best path; a path without an alternative is never left', async () => {
    const progress = setup(() => true);
    await sleep(PATH_STALL_MS);
    for (let i = 0; i < 6; i++) {
      progress.paths.send(progress.peerKey, Uint8Array.of(i));
      await sleep(PATH_STALL_MS / 3);
      progress.paths.ackProgress(progress.peer);
    }
    expect(progress.paths.best(progress.peer)?.kind).toBe('direct');

    // Only one path: stalled or not, it is where traffic goes.
    const lone = setup(() => true);
    lone.webrtc.close('gone');
    await sleep(PATH_STALL_MS);
    lone.direct.cut = true;
    lone.paths.send(lone.peerKey, Uint8Array.of(1));
    await sleep(PATH_STALL_MS * 2);
    expect(lone.paths.best(lone.peer)?.kind).toBe('direct');
  });

  it('the peer’s envelopes on a worse path make our best one suspect (so our acks follow it)', async () => {
    const { peer, paths, changes, direct, webrtc } = setup(() => false);
    // Within the grace after a link opens, late envelopes on the old path are expected.
    webrtc.receive(Uint8Array.of(9));
    expect(paths.best(peer)?.kind).toBe('direct');
    await sleep(PATH_NEW_LINK_GRACE_MS);
    direct.cut = true;
    webrtc.receive(Uint8Array.of(10));
    expect(paths.best(peer)?.kind).toBe('webrtc');
    expect(changes.at(-1)).toBe('webrtc');
    expect(direct.probes).toBe(1);
  });
});
