/**
 * Issue 12, item 5: display-name spoofing (medium).
 *
 * Attack reproduced on a9e1cb0: a trusted peer (Mallory) sends an unsolicited, validly signed
 * CONSENT_RESPONSE { accept: true, name: "Alice" }; the victim's client renamed Mallory to
 * "Alice", and Mallory's next message showed as from "Alice". Names with bidi overrides and
 * zero-width characters passed the cleaning, and a Cyrillic "Аlice" was a different name.
 *
 * What must hold (client/src/store/display-name.ts, client/src/session/name-changes.ts):
 * - names come from the consent the local user approved; a name a peer sends later is a
 *   proposal (`name.change`) that only the local user's `names.respond` applies, and one that
 *   looks like another known peer's is never proposed;
 * - peer names are cleaned (NFKC; control, bidi, zero-width characters dropped; bounded);
 * - lookalikes (case, NFKC, Latin/Cyrillic/Greek homoglyphs) are the same name: a new key with
 *   one is a key change, and where two alike names exist each is shown with a fingerprint
 *   suffix and neither can be picked by the bare name.
 *
 * The victim is a real extension process; the other peers are hostile, so they are raw signed
 * envelopes sent through a real rendezvous server with the client's real connection class.
 */
import { randomBytes } from 'node:crypto';
import {
  EnvelopeType,
  encodeKey,
  formatFingerprint,
  generateIdentity,
  type Identity,
  sealEnvelope,
} from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePayload, type Payload } from '../../client/src/session/payload.js';
import { RendezvousConnection } from '../../client/src/transports/rendezvous-connection.js';
import { ExtensionProcess } from '../../client/test/helpers/extension-process.js';
import { startRendezvous, tempHome, waitFor } from '../../client/test/helpers/server.js';

type Peer = { key: string; name: string; state: string };

interface RawPeer {
  id: Identity;
  key: string;
  conn: RendezvousConnection;
  send(payload: Payload): void;
  /** A DATA message on this peer's own stream; returns its message id. */
  say(text: string): string;
}

const cleanups: Array<() => Promise<void> | void> = [];
let url: string;
let victim: ExtensionProcess;
let victimKey: Uint8Array;

async function rawPeer(): Promise<RawPeer> {
  const id = generateIdentity(nodeSuite);
  const conn = new RendezvousConnection({ url, identity: id, suite: nodeSuite });
  conn.start();
  cleanups.unshift(() => conn.stop());
  await waitFor(() => conn.isConnected, 10_000, 'a raw peer to connect');
  const stream = `s-${randomBytes(6).toString('hex')}`;
  let seq = 0;
  const send = (payload: Payload) => {
    conn.relay(
      victimKey,
      sealEnvelope(nodeSuite, {
        type: payload.type,
        sender: id,
        recipient: victimKey,
        plaintext: encodePayload(payload),
      }),
    );
  };
  return {
    id,
    key: encodeKey(id.publicKey),
    conn,
    send,
    say: (text) => {
      const msgId = randomBytes(16).toString('hex');
      send({
        type: EnvelopeType.DATA,
        id: msgId,
        stream,
        seq: seq++,
        enc: 'text',
        body: new Uint8Array(Buffer.from(text, 'utf8')),
      });
      return msgId;
    },
  };
}

/** The raw peer asks; the victim's user sees the request and answers. */
async function ask(peer: RawPeer, name: string, accept: boolean) {
  const from = victim.notifications.length;
  peer.send({ type: EnvelopeType.CONSENT_REQUEST, name });
  const request = await victim.waitNotification('consent.request', (p) => p.key === peer.key, 15_000, from);
  await victim.call('consent.respond', { requestId: request.requestId, accept });
  return request;
}

async function peers(): Promise<Peer[]> {
  return (await victim.call<{ peers: Peer[] }>('peers.list')).peers;
}

let alice: RawPeer;
let mallory: RawPeer;

beforeAll(async () => {
  const rdv = await startRendezvous();
  url = rdv.url;
  cleanups.push(() => rdv.close());
  const h = tempHome('adv5-victim-');
  cleanups.push(h.cleanup);
  victim = new ExtensionProcess(h.home, url);
  cleanups.unshift(async () => {
    await victim.kill();
  });
  await victim.waitConnected();
  const me = await victim.call<{ key: string }>('identity.setName', { name: 'Victim' });
  victimKey = new Uint8Array(Buffer.from(me.key, 'base64url'));
  alice = await rawPeer();
  mallory = await rawPeer();
  await ask(alice, 'Alice', true);
  await ask(mallory, 'Mallory', true);
}, 60_000);

afterAll(async () => {
  for (const c of cleanups.splice(0)) await c();
}, 30_000);

describe('item 5: names come from what the local user approved', () => {
  it('an unsolicited CONSENT_RESPONSE naming a trusted peer "Alice" renames nothing; Mallory’s message stays Mallory’s', async () => {
    mallory.send({ type: EnvelopeType.CONSENT_RESPONSE, accept: true, name: 'Alice' });
    const id = mallory.say('hi, it is Alice');
    const message = await victim.waitNotification('message.received', (p) => p.id === id);
    expect(message).toMatchObject({ from: mallory.key, name: 'Mallory' });
    expect((await peers()).find((p) => p.key === mallory.key)?.name).toBe('Mallory');
    // A name that looks like another peer's is never even proposed.
    expect(victim.notifications.some((n) => n.method === 'name.change')).toBe(false);
  }, 30_000);

  it('another name is a rename request: nothing changes until the local user accepts it', async () => {
    mallory.send({ type: EnvelopeType.CONSENT_RESPONSE, accept: true, name: 'Mal' });
    const request = await victim.waitNotification('name.change', (p) => p.key === mallory.key);
    expect(request).toMatchObject({
      name: 'Mallory',
      proposedName: 'Mal',
      fingerprint: formatFingerprint(mallory.id.publicKey),
    });
    expect((await peers()).find((p) => p.key === mallory.key)?.name).toBe('Mallory');
    await victim.call('names.respond', { requestId: request.requestId, accept: true });
    expect((await peers()).find((p) => p.key === mallory.key)?.name).toBe('Mal');
    const id = mallory.say('renamed');
    expect(await victim.waitNotification('message.received', (p) => p.id === id)).toMatchObject({ name: 'Mal' });
  }, 30_000);

  it('a new key named with bidi overrides, zero-width characters and a Cyrillic "А" is Alice’s name: a key change', async () => {
    const eve = await rawPeer();
    const request = await ask(eve, '\u202EАlice\u200B', false);
    expect(request.name).toBe('Аlice');
    expect(request.keyChanged).toMatchObject({ previousKey: alice.key });
    expect((await peers()).map((p) => p.key)).not.toContain(eve.key);
  }, 30_000);

  it('the local user cannot give a peer a name that looks like another’s', async () => {
    await expect(victim.call('peers.setName', { peer: mallory.key, name: 'ALICE' })).rejects.toMatchObject({
      code: 'CLIENT_ERR_NAME_TAKEN',
    });
  }, 30_000);

  it('two alike names (after a revoke) are shown with fingerprints and neither is picked by the bare name', async () => {
    await victim.call('peers.revoke', { peer: alice.key });
    const alice2 = await rawPeer();
    await ask(alice2, 'alice', true);
    const list = await peers();
    const short = (id: Identity) => formatFingerprint(id.publicKey).split(':').slice(0, 2).join(':');
    expect(list.find((p) => p.key === alice.key)?.name).toBe(`Alice (${short(alice.id)})`);
    expect(list.find((p) => p.key === alice2.key)?.name).toBe(`alice (${short(alice2.id)})`);
    await expect(victim.call('messages.send', { peer: 'alice', text: 'x' })).rejects.toMatchObject({
      code: 'CLIENT_ERR_AMBIGUOUS_NAME',
    });
    const sent = await victim.call<{ to: string }>('messages.send', { peer: `alice (${short(alice2.id)})`, text: 'x' });
    expect(sent.to).toBe(alice2.key);
  }, 30_000);
});
