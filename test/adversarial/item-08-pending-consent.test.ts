/**
 * Issue 12, item 8: pending consent never expired (low).
 *
 * Attack reproduced on a9e1cb0: 64 strangers (PENDING_CONSENT_MAX) each sent one consent
 * request; nobody answered them, they never expired, and every later request was dropped
 * while the list was full: a real new peer was refused a day later.
 *
 * What must hold (client/src/session/pending-consents.ts): a pending request expires
 * PENDING_CONSENT_TTL_MS after it arrived (ClientInit.consentTtlMs), a resend does not refresh
 * it, and a full list makes room by dropping expired and then the oldest requests, so the
 * newest request is always listed.
 *
 * The client is real (its NEXUS_HOME, stores, replay guard and session); the envelopes are real
 * signed consent requests handed to its session as if the relay delivered them. Only the clock
 * is moved (Date only; timers stay real): filling the list takes 7 windows of the consent rate
 * limit (CONSENT_RATE_GLOBAL = 10 per minute), and the attack's point is "a day later".
 */
import { EnvelopeType, encodeKey, generateIdentity, type Identity, sealEnvelope } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CONSENT_RATE_GLOBAL, CONSENT_RATE_WINDOW_MS, PENDING_CONSENT_MAX } from '../../client/src/constants.js';
import { type ClientInit, createClient, type P2PClient } from '../../client/src/index.js';
import { encodePayload } from '../../client/src/session/payload.js';
import { tempHome } from '../../client/test/helpers/server.js';

const T0 = Date.UTC(2026, 10, 30, 9, 0, 0);
const DAY_MS = 86_400_000;

const cleanups: Array<() => Promise<void> | void> = [];
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
});
afterEach(async () => {
  vi.useRealTimers();
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function victim(init: Partial<ClientInit> = {}): Promise<{ client: P2PClient; prompts: string[] }> {
  const { home, cleanup } = tempHome();
  const client = createClient({ home, ...init });
  await client.start();
  cleanups.push(cleanup, () => client.stop());
  const prompts: string[] = [];
  client.on('consent.request', (r) => prompts.push(r.key));
  return { client, prompts };
}

function ask(client: P2PClient, from: Identity, name: string): void {
  const envelope = sealEnvelope(nodeSuite, {
    type: EnvelopeType.CONSENT_REQUEST,
    sender: from,
    recipient: client.identity.publicKey,
    plaintext: encodePayload({ type: EnvelopeType.CONSENT_REQUEST, name }),
  });
  client.session.receive(from.publicKey, envelope, 'relay');
}

/** PENDING_CONSENT_MAX strangers ask, as fast as the rate limit lets them; returns them oldest first. */
function fillWithStrangers(client: P2PClient): Identity[] {
  const strangers = Array.from({ length: PENDING_CONSENT_MAX }, () => generateIdentity(nodeSuite));
  strangers.forEach((s, i) => {
    vi.setSystemTime(T0 + Math.floor(i / CONSENT_RATE_GLOBAL) * (CONSENT_RATE_WINDOW_MS + 1_000));
    ask(client, s, `stranger ${i}`);
  });
  expect(client.session.pendingConsents()).toHaveLength(PENDING_CONSENT_MAX);
  return strangers;
}

const nextRateWindow = () => Math.ceil(PENDING_CONSENT_MAX / CONSENT_RATE_GLOBAL) * (CONSENT_RATE_WINDOW_MS + 1_000);

describe('item 8: pending consent requests expire and the list stays fair', () => {
  it('64 unanswered strangers, then a real peer a day later: the peer is listed and can be accepted', async () => {
    const { client, prompts } = await victim();
    fillWithStrangers(client);
    vi.setSystemTime(T0 + DAY_MS);
    const carol = generateIdentity(nodeSuite);
    ask(client, carol, 'Carol');
    const carolKey = encodeKey(carol.publicKey);
    expect(prompts.at(-1)).toBe(carolKey);
    // The strangers' requests expired: only Carol's is left.
    expect(client.session.pendingConsents().map((p) => p.key)).toEqual([carolKey]);
    const request = client.session.pendingConsents()[0]!;
    expect(client.respondConsent(request.requestId, true).state).toBe('trusted');
  });

  it('a full list of fresh requests makes room for a new one by dropping the oldest', async () => {
    const { client, prompts } = await victim();
    const strangers = fillWithStrangers(client);
    const oldest = client.session.pendingConsents()[0]!;
    expect(oldest.key).toBe(encodeKey(strangers[0]!.publicKey));
    vi.setSystemTime(T0 + nextRateWindow());
    const carol = generateIdentity(nodeSuite);
    ask(client, carol, 'Carol');
    expect(prompts.at(-1)).toBe(encodeKey(carol.publicKey));
    const listed = client.session.pendingConsents().map((p) => p.key);
    expect(listed).toHaveLength(PENDING_CONSENT_MAX);
    expect(listed).toContain(encodeKey(carol.publicKey));
    expect(listed).not.toContain(oldest.key);
    expect(() => client.respondConsent(oldest.requestId, true)).toThrowError(
      expect.objectContaining({ code: 'CLIENT_ERR_NO_PENDING_REQUEST' }),
    );
  });

  it('the TTL is configurable, a resend does not refresh it, and a later resend is listed anew', async () => {
    const { client, prompts } = await victim({ consentTtlMs: 60_000 });
    const dave = generateIdentity(nodeSuite);
    ask(client, dave, 'Dave');
    const first = client.session.pendingConsents()[0]!;
    vi.setSystemTime(T0 + 30_000);
    ask(client, dave, 'Dave'); // the requester's client re-asks on its own every 5 s
    expect(prompts).toHaveLength(1);
    vi.setSystemTime(T0 + 60_001);
    expect(client.session.pendingConsents()).toEqual([]);
    vi.setSystemTime(T0 + 65_000);
    ask(client, dave, 'Dave');
    const again = client.session.pendingConsents();
    expect(again).toHaveLength(1);
    expect(again[0]!.requestId).not.toBe(first.requestId);
    expect(prompts).toHaveLength(2);
  });
});
