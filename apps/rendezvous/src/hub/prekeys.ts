/**
 * The prekey store's frames (docs/protocol.md "Rendezvous server behaviour"):
 *
 *   PREKEY_PUBLISH  the session's own signed bundle: decoded and verified (owner = the
 *                   authenticated key, strict signature, validity now), kept by the broker until
 *                   its `expires` (at most PREKEY_STORE_MAX_TTL_MS) unless a newer one is held;
 *                   answered ACK DELIVERED, or ERROR with the frameId.
 *   PREKEY_FETCH    any key's bundle: answered PREKEY_BUNDLE (empty bundle = none held).
 *
 * Both are rate-limited per connection (PREKEY_REQUESTS_PER_S / _BURST) on top of the frame
 * buckets: a fetch costs a broker read and a publish a signature check, and a stranger must not
 * be able to walk the key space. A frame that does not decode is RDV_ERR_MALFORMED_FRAME (closes,
 * as every undecodable frame); a bundle that decodes but is refused is answered and the
 * connection stays.
 */
import { decodeFrame, FrameType, isProtocolError, PUBLIC_KEY_BYTES, verifyPrekeyBundle } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { PREKEY_STORE_MAX_TTL_MS } from '../constants.js';
import type { RendezvousErrorCode } from '../errors.js';
import { ackFrame, prekeyBundleFrame } from '../frames-out.js';
import { takePrekeyToken, takeTokens } from '../rate-limit.js';
import { type Session, SessionState } from '../session.js';
import type { HubContext } from './context.js';
import type { SocketSender } from './sender.js';

/** What a refused bundle's ProtocolError becomes on the wire. */
function publishRefusal(code: string): RendezvousErrorCode {
  if (code === 'PROTO_ERR_WRONG_RECIPIENT') return 'RDV_ERR_PREKEY_OWNER';
  if (code === 'PROTO_ERR_PREKEY_EXPIRED') return 'RDV_ERR_PREKEY_EXPIRED';
  return 'RDV_ERR_BAD_PREKEY_BUNDLE';
}

export class PrekeyFrames {
  constructor(
    private readonly ctx: HubContext,
    private readonly sender: SocketSender,
  ) {}

  /** PREKEY_PUBLISH or PREKEY_FETCH from an open session. */
  onFrame(s: Session, data: Buffer, now: number): void {
    const { stats, config } = this.ctx;
    let frame: ReturnType<typeof decodeFrame>;
    try {
      frame = decodeFrame(data, config.maxFrameBytes);
    } catch {
      stats.drops.malformed++;
      this.sender.fail(s, 'RDV_ERR_MALFORMED_FRAME');
      return;
    }
    if (frame.type !== FrameType.PREKEY_PUBLISH && frame.type !== FrameType.PREKEY_FETCH) return;
    if (!takeTokens(s, config, data.length, now) || !takePrekeyToken(s, now)) {
      stats.drops.rate_limited++;
      this.sender.fail(s, 'RDV_ERR_RATE_LIMITED', frame.frameId);
      return;
    }
    if (!this.ctx.broker.isReady()) {
      stats.drops.unavailable++;
      this.sender.fail(s, 'RDV_ERR_UNAVAILABLE', frame.frameId);
      return;
    }
    if (frame.type === FrameType.PREKEY_PUBLISH) this.publish(s, frame.frameId, frame.bundle, now);
    else this.fetch(s, frame.frameId, frame.key, now);
  }

  private publish(s: Session, frameId: number, bundleBytes: Uint8Array, now: number): void {
    const { stats, broker } = this.ctx;
    let expires: number;
    try {
      expires = verifyPrekeyBundle(nodeSuite, bundleBytes, { now, expectedIdentity: s.key! }).expiresAt;
    } catch (err) {
      const code = publishRefusal(isProtocolError(err) ? err.code : '');
      stats.drops.bad_prekey_bundle++;
      this.sender.failWith(s, code, frameId, isProtocolError(err) ? err.code : 'refused');
      return;
    }
    const ttl = Math.min(expires - now, PREKEY_STORE_MAX_TTL_MS);
    // Copy: `bundleBytes` is a view into the socket's read buffer.
    const bundle = Buffer.from(bundleBytes);
    broker.prekeyPut(s.keyB64, bundle, ttl, now).then(
      (r) => {
        if (s.state !== SessionState.OPEN) return;
        if (r === 'stale') {
          stats.drops.prekey_stale++;
          this.sender.fail(s, 'RDV_ERR_PREKEY_STALE', frameId);
          return;
        }
        stats.prekeyPublished++;
        this.sender.send(s, ackFrame(frameId, 0));
      },
      () => {
        stats.drops.unavailable++;
        if (s.state === SessionState.OPEN) this.sender.fail(s, 'RDV_ERR_UNAVAILABLE', frameId);
      },
    );
  }

  private fetch(s: Session, frameId: number, key: Uint8Array, now: number): void {
    const { stats, broker } = this.ctx;
    const owner = Buffer.from(key.buffer, key.byteOffset, PUBLIC_KEY_BYTES);
    const ownerB64 = owner.toString('base64url');
    const keyCopy = Buffer.from(owner);
    broker.prekeyGet(ownerB64, now).then(
      (bundle) => {
        if (s.state !== SessionState.OPEN) return;
        if (bundle === null || bundle.length === 0) stats.prekeyFetchMisses++;
        else stats.prekeyFetchHits++;
        this.sender.send(s, prekeyBundleFrame(frameId, keyCopy, bundle));
      },
      () => {
        stats.drops.unavailable++;
        if (s.state === SessionState.OPEN) this.sender.fail(s, 'RDV_ERR_UNAVAILABLE', frameId);
      },
    );
  }
}
