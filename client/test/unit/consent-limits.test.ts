import { EnvelopeType, generateIdentity, sealEnvelope } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterEach, describe, expect, it } from 'vitest';
import { CONSENT_RATE_GLOBAL, CONSENT_RATE_PER_KEY } from '../../src/constants.js';
import { InboxState } from '../../src/session/inbox-state.js';
import { Outbox } from '../../src/session/outbox.js';
import { encodePayload } from '../../src/session/payload.js';
import { openPersistentReplayGuard } from '../../src/session/replay-store.js';
import { Session } from '../../src/session/session.js';
import { storePaths } from '../../src/store/paths.js';
import { TrustStore } from '../../src/store/trust-store.js';
import { tempHome } from '../helpers/server.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function victim() {
  const h = tempHome('p2p-consent-');
  cleanups.push(h.cleanup);
  const paths = storePaths(h.home);
  const identity = generateIdentity(nodeSuite);
  const sent: Array<{ to: Uint8Array; env: Uint8Array }> = [];
  const session = new Session({
    suite: nodeSuite,
    identity,
    localName: () => 'Victim',
    trust: new TrustStore(paths),
    outbox: new Outbox(paths.stateDir),
    inbox: new InboxState(paths.stateDir),
    replayGuard: openPersistentReplayGuard(paths.stateDir),
    transmit: (to, env) => {
      sent.push({ to, env });
      return 'relay';
    },
    pathStatus: () => 'relay: connected',
    requireApproval: false,
  });
  const prompts: string[] = [];
  const rejected: string[] = [];
  session.on('consent.request', (r) => prompts.push(r.key));
  session.on('rejected', (r) => rejected.push(r.code));
  return { session, identity, prompts, rejected, sent };
}

const request = (from: ReturnType<typeof generateIdentity>, to: Uint8Array, type: 1 | 5 = 1) =>
  sealEnvelope(nodeSuite, {
    type: type === 1 ? EnvelopeType.CONSENT_REQUEST : EnvelopeType.DATA,
    sender: from,
    recipient: to,
    plaintext:
      type === 1
        ? encodePayload({ type: EnvelopeType.CONSENT_REQUEST, name: 'Spam' })
        : encodePayload({
            type: EnvelopeType.DATA,
            id: 'ab'.repeat(16),
            stream: 'stream-xyz',
            seq: 0,
            enc: 'text',
            body: new Uint8Array(1),
          }),
  });

describe('consent from unknown keys', () => {
  it('one key cannot prompt more than CONSENT_RATE_PER_KEY times a window, even after denials', () => {
    const v = victim();
    const spammer = generateIdentity(nodeSuite);
    for (let i = 0; i < 10; i++) {
      v.session.receive(spammer.publicKey, request(spammer, v.identity.publicKey), 'relay');
      if (v.session.pendingConsents().length > 0)
        v.session.respondConsent(v.session.pendingConsents()[0]!.requestId, false);
    }
    expect(v.prompts).toHaveLength(CONSENT_RATE_PER_KEY);
    expect(v.rejected.filter((c) => c === 'CLIENT_ERR_CONSENT_RATE_LIMITED')).toHaveLength(10 - CONSENT_RATE_PER_KEY);
  });

  it('many keys cannot prompt more than CONSENT_RATE_GLOBAL times a window', () => {
    const v = victim();
    for (let i = 0; i < CONSENT_RATE_GLOBAL + 5; i++) {
      const k = generateIdentity(nodeSuite);
      v.session.receive(k.publicKey, request(k, v.identity.publicKey), 'relay');
    }
    expect(v.prompts).toHaveLength(CONSENT_RATE_GLOBAL);
  });

  it('data from an unknown key is refused, never delivered, and answered with a revoke notice', () => {
    const v = victim();
    const delivered: unknown[] = [];
    v.session.on('message.received', (m) => delivered.push(m));
    const stranger = generateIdentity(nodeSuite);
    v.session.receive(stranger.publicKey, request(stranger, v.identity.publicKey, 5), 'relay');
    expect(delivered).toEqual([]);
    expect(v.rejected).toEqual(['CLIENT_ERR_NOT_TRUSTED']);
    expect(v.sent).toHaveLength(1);
    expect(v.sent[0]!.env[1]).toBe(EnvelopeType.REVOKE);
  });

  it('a replayed envelope is refused', () => {
    const v = victim();
    const k = generateIdentity(nodeSuite);
    const env = request(k, v.identity.publicKey);
    v.session.receive(k.publicKey, env, 'relay');
    v.session.receive(k.publicKey, env, 'relay');
    expect(v.prompts).toHaveLength(1);
    expect(v.rejected).toEqual(['PROTO_ERR_REPLAY']);
  });
});
