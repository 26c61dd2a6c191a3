/**
 * What each step of a script does (the `do` names of script.ts; docs/conformance.md "Step
 * schema"). Actions drive the peer (stdio requests), our client (the SDK) or the proxy;
 * expectations wait, bounded, for events of the peer or of our client. Every failure is a
 * StepFailure whose message says what was awaited.
 */
import { randomBytes } from 'node:crypto';
import { EnvelopeType, sealEnvelope } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { encodePayload } from '../../client/src/session/payload.js';
import type { LoggedEvent } from './event-log.js';
import type { TamperRule } from './proxy.js';
import type { Step } from './script.js';
import { StepFailure } from './step-failure.js';
import { unknownFrame } from './tamper.js';
import type { World } from './world.js';

/** Default bound of a request to the peer, ms. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** Default bound of an expectation, ms (covers a few retransmissions of our client: 1 s, 2 s, 4 s). */
export const DEFAULT_EXPECT_TIMEOUT_MS = 15_000;
/** Default window of a `noMessage` step, ms. */
const DEFAULT_ABSENT_MS = 500;
/** Default time a peer gets to reconnect on its own before the runner sends `connect`, ms. */
const DEFAULT_RECONNECT_GRACE_MS = 2_000;

interface Sent {
  by: 'peer' | 'client' | 'stranger';
  text: string;
  msgId: string | null;
}

/** The state one script's steps share. */
export class StepContext {
  readonly sent = new Map<string, Sent>();
  /** Log positions at the script's last action: plain expectations only look after them. */
  peerSince = 0;
  clientSince = 0;
  rule: TamperRule | null = null;
  /** The proxy's count of closed peer connections when the last frame was injected. */
  closesAtInject = 0;
  constructor(readonly world: World) {}
}

export function paddedText(step: Step): string {
  const text = step.text ?? '';
  if (step.padTo === undefined || step.padTo <= text.length) return text;
  return `${text} ${'x'.repeat(step.padTo - text.length - 1)}`;
}

const isAction = (name: string) =>
  !/\.(consentRequest|consentAccepted|consentDeclined|revoked|message|acked|noMessage|refused|trusted|declined|fired|noConsentRequest)$/.test(
    name,
  );

/** Run one step. Returns a short detail for the report (what was seen), or throws StepFailure. */
export async function runStep(ctx: StepContext, step: Step): Promise<string> {
  const w = ctx.world;
  if (isAction(step.do)) {
    ctx.peerSince = w.peer.log.events.length;
    ctx.clientSince = w.clientLog.events.length;
  }
  const reqTimeout = step.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const expTimeout = step.timeoutMs ?? DEFAULT_EXPECT_TIMEOUT_MS;
  const ask = async (op: string, args: Record<string, unknown> = {}) => {
    const r = await w.peer.request(op, args, reqTimeout, step.do);
    if (!r.ok) throw new StepFailure(`"${op}" answered ok:false ${r.code}${r.message ? `: ${r.message}` : ''}`);
    return r as Record<string, unknown>;
  };
  const peerEvent = (event: string, more: (e: LoggedEvent) => boolean, what: string, whole = false) =>
    w.peer.log.wait((e) => e.event === event && more(e), expTimeout, what, whole ? 0 : ctx.peerSince);
  const clientEvent = (event: string, more: (e: LoggedEvent) => boolean, what: string, whole = false) =>
    w.clientLog.wait((e) => e.event === event && more(e), expTimeout, what, whole ? 0 : ctx.clientSince);
  const label = (): Sent => ctx.sent.get(step.label!)!;
  const fromClient = (e: LoggedEvent) => e.peer === w.clientKey;
  const fromPeer = (e: LoggedEvent) => e.peer === w.peerKey;

  switch (step.do) {
    // ------------------------------------------------------------ the peer
    case 'peer.connect':
      await ask('connect', { url: w.proxyUrl });
      return w.proxyUrl;
    case 'peer.disconnect':
      await ask('disconnect');
      return '';
    case 'peer.ensureConnected': {
      const grace = step.graceMs ?? DEFAULT_RECONNECT_GRACE_MS;
      const end = Date.now() + grace;
      while (w.proxy.open === 0 && Date.now() < end) await sleep(50);
      if (w.proxy.open > 0)
        return w.proxy.closes > ctx.closesAtInject
          ? 'the peer dropped the connection and reconnected by itself'
          : 'still connected';
      await ask('connect', { url: w.proxyUrl });
      return 'the peer had dropped the connection; reconnected with "connect"';
    }
    case 'peer.request':
      await ask('request', { peer: w.clientKey, ...(step.text ? { note: step.text } : {}) });
      return '';
    case 'peer.respond':
      await ask('respond', { peer: w.clientKey, accept: step.accept });
      return `accept=${step.accept}`;
    case 'peer.send': {
      const text = paddedText(step);
      const r = await ask('send', { peer: w.clientKey, text });
      if (typeof r.msgId !== 'string' || r.msgId.length === 0) throw new StepFailure('"send" answered no msgId');
      ctx.sent.set(step.label!, { by: 'peer', text, msgId: r.msgId });
      return `msgId ${r.msgId}`;
    }
    case 'peer.sendRefused': {
      const r = await w.peer.request('send', { peer: w.clientKey, text: paddedText(step) }, reqTimeout, step.do);
      if (r.ok) throw new StepFailure('"send" was accepted; it must be refused');
      if (step.codes && !step.codes.includes(r.code))
        throw new StepFailure(`"send" refused with ${r.code}, expected one of ${step.codes.join(', ')}`);
      return r.code;
    }
    case 'peer.revoke':
      await ask('revoke', { peer: w.clientKey });
      return '';

    // ------------------------------------------------------------ our client
    case 'client.disconnect':
      await w.stopClient();
      return 'our client stopped (its home keeps its state)';
    case 'client.connect':
      await w.restartClient();
      return 'our client started again from its home';
    case 'client.request':
      w.client.connect(w.peerKey);
      return '';
    case 'client.respond':
      w.client.respondConsent(w.peerKey, step.accept!);
      return `accept=${step.accept}`;
    case 'client.send': {
      const text = paddedText(step);
      const r = w.client.send(w.peerKey, { text });
      ctx.sent.set(step.label!, { by: 'client', text, msgId: r.id });
      return `msgId ${r.id}`;
    }
    case 'client.sendRefused': {
      try {
        w.client.send(w.peerKey, { text: paddedText(step) });
      } catch (err) {
        const code = (err as { code?: string }).code ?? String(err);
        if (step.codes && !step.codes.includes(code))
          throw new StepFailure(`refused with ${code}, expected one of ${step.codes.join(', ')}`);
        return code;
      }
      throw new StepFailure('our client accepted the send; it must refuse it');
    }
    case 'client.revoke':
      w.client.revoke(w.peerKey);
      return '';
    case 'stranger.send': {
      // Our SDK refuses to send to a key it does not trust, so the stranger seals a data envelope
      // itself, exactly as a trusted sender would, and hands it to its relay path.
      const s = await w.stranger();
      const text = paddedText(step);
      const peerKey = Buffer.from(w.peerKey, 'base64url');
      const id = randomBytes(16).toString('hex');
      const envelope = sealEnvelope(nodeSuite, {
        type: EnvelopeType.DATA,
        sender: s.identity,
        recipient: peerKey,
        plaintext: encodePayload({
          type: EnvelopeType.DATA,
          id,
          stream: randomBytes(12).toString('base64url'),
          seq: 0,
          enc: 'text',
          body: new Uint8Array(Buffer.from(text, 'utf8')),
        }),
      });
      s.paths.send(peerKey, envelope);
      ctx.sent.set(step.label!, { by: 'stranger', text, msgId: id });
      return `from ${s.id().key}`;
    }

    // ------------------------------------------------------------ the proxy
    case 'proxy.arm':
      ctx.rule = w.proxy.arm(step.dir!, step.match!, step.action!);
      return `${step.action} the next ${step.match} packet ${step.dir === 'toPeer' ? 'to the peer' : 'from the peer'}`;
    case 'proxy.fired': {
      const rule = ctx.rule;
      if (!rule) throw new StepFailure('no rule was armed');
      const end = Date.now() + expTimeout;
      while (!rule.fired && Date.now() < end) await sleep(20);
      if (!rule.fired)
        throw new StepFailure(`timed out after ${expTimeout} ms waiting for a ${rule.match} packet to ${rule.action}`);
      ctx.rule = null;
      return '';
    }
    case 'proxy.inject':
      ctx.closesAtInject = w.proxy.closes;
      if (!w.proxy.inject(unknownFrame())) throw new StepFailure('the peer is not connected to the proxy');
      return 'frame type 0x7e';
    case 'proxy.replayCaptured':
      if (!w.proxy.replayCaptured()) throw new StepFailure('nothing captured, or no connection open to send it on');
      return '';
    case 'wait':
      await sleep(step.ms!);
      return '';

    // ------------------------------------------------------------ expectations on the peer
    case 'peer.consentRequest':
      await peerEvent('consent.request', fromClient, 'consent.request from our client');
      return '';
    case 'peer.consentAccepted':
      await peerEvent('consent.accepted', fromClient, 'consent.accepted by our client');
      return '';
    case 'peer.consentDeclined':
      await peerEvent('consent.declined', fromClient, 'consent.declined by our client');
      return '';
    case 'peer.revoked':
      await peerEvent('revoked', fromClient, 'revoked by our client');
      return '';
    case 'peer.message': {
      const m = label();
      const e = await peerEvent(
        'message',
        (e) => fromClient(e) && e.text === m.text,
        `message "${step.label}" from our client`,
        true,
      );
      return `msgId ${String(e.msgId)}`;
    }
    case 'peer.acked': {
      const m = label();
      await peerEvent('acked', (e) => fromClient(e) && e.msgId === m.msgId, `acked ${m.msgId} ("${step.label}")`, true);
      return '';
    }
    case 'peer.noMessage': {
      const m = label();
      const e = await w.peer.log.absent(
        (e) => e.event === 'message' && e.text === m.text,
        step.forMs ?? DEFAULT_ABSENT_MS,
      );
      if (e) throw new StepFailure(`the peer delivered "${step.label}", which it must refuse`);
      return '';
    }
    case 'peer.noConsentRequest': {
      const e = await w.peer.log.absent(
        (e) => e.event === 'consent.request',
        step.forMs ?? DEFAULT_ABSENT_MS,
        ctx.peerSince,
      );
      if (e) throw new StepFailure('the peer showed a consent request it must refuse');
      return '';
    }
    case 'peer.refused': {
      const codes = step.codes ?? [];
      const match = (e: LoggedEvent) => e.event === 'refused';
      if (step.orSilentMs !== undefined) {
        const e = await w.peer.log.absent(match, step.orSilentMs, ctx.peerSince);
        if (!e) return `ignored silently (no refused within ${step.orSilentMs} ms)`;
        if (codes.length > 0 && !codes.includes(String(e.code)))
          throw new StepFailure(`refused with ${String(e.code)}, expected one of ${codes.join(', ')} (or silence)`);
        return String(e.code);
      }
      const e = await peerEvent('refused', () => true, `refused (${codes.join(' | ')})`);
      if (!codes.includes(String(e.code)))
        throw new StepFailure(`refused with ${String(e.code)}, expected one of ${codes.join(', ')}`);
      return String(e.code);
    }

    // ------------------------------------------------------------ expectations on our client
    case 'client.consentRequest':
      await clientEvent('consent.request', fromPeer, 'a consent request from the peer at our client');
      return '';
    case 'client.noConsentRequest': {
      const e = await w.clientLog.absent(
        (e) => e.event === 'consent.request',
        step.forMs ?? DEFAULT_ABSENT_MS,
        ctx.clientSince,
      );
      if (e) throw new StepFailure('our client showed a consent request it must refuse');
      return '';
    }
    case 'client.trusted':
      await clientEvent('trusted', fromPeer, 'the peer trusted at our client');
      return '';
    case 'client.declined':
      await clientEvent('declined', fromPeer, 'our request declined by the peer');
      return '';
    case 'client.revoked':
      await clientEvent('revoked', fromPeer, "the peer's revoke at our client");
      return '';
    case 'client.message': {
      const m = label();
      const e = await clientEvent(
        'message',
        (e) => fromPeer(e) && e.text === m.text,
        `message "${step.label}" from the peer at our client`,
        true,
      );
      return `msgId ${String(e.msgId)}`;
    }
    case 'client.acked': {
      const m = label();
      await clientEvent('acked', (e) => fromPeer(e) && e.msgId === m.msgId, `the peer's ack of "${step.label}"`, true);
      return '';
    }
    case 'client.noMessage': {
      const m = label();
      const e = await w.clientLog.absent(
        (e) => e.event === 'message' && e.text === m.text,
        step.forMs ?? DEFAULT_ABSENT_MS,
      );
      if (e) throw new StepFailure(`our client delivered "${step.label}"`);
      return '';
    }
    case 'client.refused': {
      const codes = step.codes!;
      const e = await clientEvent('refused', fromPeer, `our client refusing the peer's packet (${codes.join(' | ')})`);
      if (!codes.includes(String(e.code)))
        throw new StepFailure(`our client refused with ${String(e.code)}, expected one of ${codes.join(', ')}`);
      return String(e.code);
    }
    default:
      throw new StepFailure(`step "${step.do}" is not run here`);
  }
}

/**
 * After the last step: every message the peer emitted is one our client sent (never the
 * stranger's, never altered) and came once; the same for what our client received from the peer.
 */
export function exactlyOnce(ctx: StepContext): string {
  const w = ctx.world;
  const problems: string[] = [];
  const check = (events: LoggedEvent[], by: Sent['by'], who: string) => {
    const texts = new Map<string, string>();
    for (const [l, s] of ctx.sent) if (s.by === by) texts.set(s.text, l);
    const seen = new Map<string, number>();
    for (const e of events) {
      if (e.event !== 'message') continue;
      const l = texts.get(String(e.text));
      if (l === undefined) {
        problems.push(`${who} emitted a message no one sent it: ${JSON.stringify(String(e.text).slice(0, 60))}`);
        continue;
      }
      seen.set(l, (seen.get(l) ?? 0) + 1);
    }
    for (const [l, n] of seen) if (n > 1) problems.push(`${who} emitted "${l}" ${n} times`);
    return seen.size;
  };
  const a = check(w.peer.log.events, 'client', 'the peer');
  const b = check(w.clientLog.events, 'peer', 'our client');
  if (problems.length > 0) throw new StepFailure(problems.join('; '));
  return `${a} message(s) to the peer, ${b} from it, each once`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
