/**
 * Plain numeric counters bumped on the hot path (a property increment, no labels or maps);
 * metrics.ts reads them when Prometheus scrapes.
 */

export const DROP_REASONS = [
  'rate_limited',
  'bad_envelope',
  'sender_mismatch',
  'recipient_mismatch',
  'slow_reader',
  'heartbeat',
  'mailbox_full',
  'mailbox_sender_full',
  'mailbox_budget',
  'bad_signature',
  'recipient_busy',
  'unavailable',
  'route_timeout',
  'busy',
  'frame_too_large',
  'malformed',
  'text_frame',
  'unknown_frame',
  'unexpected_frame',
  'unsupported_packet',
  'bad_prekey_bundle',
  'prekey_stale',
  'bad_ttl',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export const AUTH_FAILURE_REASONS = [
  'bad_hello',
  'timeout',
  'not_authenticated',
  'admission',
  'blocked',
  'unavailable',
] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

export class Stats {
  connectionsAccepted = 0;
  connectionsRejected = 0;
  authOk = 0;
  replaced = 0;
  framesIn = 0;
  bytesIn = 0;
  forwardedSignalLocal = 0;
  forwardedRelayLocal = 0;
  forwardedRemote = 0;
  forwardedBytes = 0;
  remoteDelivered = 0;
  peerOffline = 0;
  mailboxQueued = 0;
  /** Mailbox writes answered QUEUED because that (sender, message id) was already held. */
  mailboxDuplicates = 0;
  mailboxDelivered = 0;
  /** PREKEY_PUBLISH answered ACK (stored). */
  prekeyPublished = 0;
  /** PREKEY_FETCH answered with a bundle / with none held. */
  prekeyFetchHits = 0;
  prekeyFetchMisses = 0;
  batchesOut = 0;
  batchesIn = 0;
  readonly drops: Record<DropReason, number> = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<
    DropReason,
    number
  >;
  readonly authFailures: Record<AuthFailureReason, number> = Object.fromEntries(
    AUTH_FAILURE_REASONS.map((r) => [r, 0]),
  ) as Record<AuthFailureReason, number>;
}
