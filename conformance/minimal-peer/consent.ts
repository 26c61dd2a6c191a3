// Consent (docs/protocol.md "Consent"): the per-peer trust state, this side's view.
//
//   unknown ── send REQUEST ──► pending-out ── recv RESPONSE accept:true ──► trusted
//   unknown ── recv REQUEST ──► pending-in ── user accepts: send RESPONSE accept:true ──► trusted
//   pending-out ── recv REQUEST (both asked) ──► trusted (answered accept:true at once)
//   trusted ── revoke() ──► revoked;  trusted / pending-out ── recv REVOKE ──► revoked-by-peer
//
// Only `trusted` peers may send or receive DATA, handshake and TRANSPORT packets.

export type TrustState = 'unknown' | 'pending-out' | 'pending-in' | 'trusted' | 'revoked' | 'revoked-by-peer';

/** CONSENT_RETRY_MS: a requester resends its request while pending-out (envelopes can be lost). */
export const CONSENT_RETRY_MS = 5_000;

/** Envelopes a key may send us before it is trusted: only consent requests ("Consent"). */
export function mayOpenEnvelope(trust: TrustState, envelopeType: number): boolean {
  if (envelopeType === 1) return true;
  return trust === 'trusted' || trust === 'pending-out';
}

/** The error a local `send` gets for a peer that is not trusted ("Revoke", errors.md). */
export function sendRefusal(trust: TrustState): string {
  return trust === 'revoked' || trust === 'revoked-by-peer' ? 'CLIENT_ERR_REVOKED' : 'CLIENT_ERR_NOT_TRUSTED';
}
