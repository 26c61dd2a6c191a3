/**
 * How fast the path manager moves a peer's traffic off a path that stopped delivering, and how
 * often a peer may be dialed, each with its unit (docs/limits.md, "Paths").
 */

/**
 * Messages await end-to-end acks and none arrived for this long after the first unanswered send:
 * the best path is suspect, traffic moves to the next one and the suspect is probed, ms. Healthy
 * paths ack within one round trip (milliseconds in a LAN, a few hundred across continents); a
 * cut path is otherwise only noticed by its heartbeat (direct 15 s, WebRTC 6 s).
 */
export const PATH_STALL_MS = 1_000;
/** How often stalled peers and suspect paths are re-checked, ms (the granularity of the above). */
export const PATH_STALL_CHECK_MS = 100;
/** A suspect path is probed (heartbeat request) again after this, ms, until it answers or dies. */
export const PATH_PROBE_INTERVAL_MS = 500;
/**
 * A path that answered its probe is not suspected again for this long (unless acks progress
 * before), ms: acks that are slow for another reason (a busy receiver) must not make traffic
 * flap between paths every PATH_STALL_MS.
 */
export const PATH_PROBE_CLEARS_FOR_MS = 5_000;
/**
 * A peer's envelopes arriving on a worse path than our best one mean the peer no longer trusts
 * our best path (it suspects it): we suspect it too, so our acks follow the peer. Not within this
 * long after the best path opened, ms: envelopes the peer sent before the new path came up are
 * still arriving on the old one.
 */
export const PATH_NEW_LINK_GRACE_MS = 1_000;
/**
 * Direct dials to one peer start at most this often, ms, whatever closes the links: a bound on
 * re-dials even when links keep closing without an error (e.g. replaced as duplicates).
 */
export const DIRECT_REDIAL_MIN_INTERVAL_MS = 1_000;
