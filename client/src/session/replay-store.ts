import { isProtocolError, ReplayGuard } from '@p2p-comm/protocol';
import { ClientError } from '../errors.js';
import { Journal } from '../store/journal.js';
import type { TrustState } from '../store/trust-store.js';

/**
 * Peers the local user chose: trusted, or asked by our own connect (their answer is expected).
 * They get the trusted replay budget and every envelope type is opened from them; from anyone
 * else only consent requests are (see Session.receive), in a small budget of their own.
 */
export function chosenByUser(state: TrustState | undefined): boolean {
  return state === 'trusted' || state === 'pending-out';
}

/** One accepted pair in replay.log: [sender key, nonce, timestamp ms] (version 1 wrote [sender.nonce, timestamp]). */
type Entry = [string, string, number] | [string, number];

export interface PersistentReplayGuardOptions {
  /** Keys the local user chose (trusted or asked); everyone else gets the small untrusted budget. */
  isTrusted?: (senderKey: string) => boolean;
}

/**
 * A ReplayGuard whose every accept is appended to `<state>/replay.log` before the envelope is
 * processed, and folded into `replay.json` now and then; so an envelope accepted once is
 * refused after a restart too. Reads state of format version 1 (migrated, see
 * ReplayGuard.restore) and 2; a newer version is refused with CLIENT_ERR_STATE_VERSION and
 * left untouched rather than overwritten.
 */
export function openPersistentReplayGuard(stateDir: string, opts: PersistentReplayGuardOptions = {}): ReplayGuard {
  const journal = new Journal<unknown, Entry>(stateDir, 'replay');
  const { snapshot, entries } = journal.load();
  let guard: ReplayGuard;
  const guardOpts = {
    ...(opts.isTrusted ? { isTrusted: opts.isTrusted } : {}),
    onAccept: (sender: string, nonce: string, timestamp: number) => {
      journal.append([sender, nonce, timestamp]);
      if (journal.wantsCompaction) journal.compact(guard.snapshot());
    },
  };
  const now = Date.now();
  try {
    guard = snapshot ? ReplayGuard.restore(snapshot, guardOpts, now) : new ReplayGuard(guardOpts);
    for (const e of entries) {
      if (Array.isArray(e) && e.length === 3 && typeof e[0] === 'string' && typeof e[1] === 'string')
        guard.replay(e[0], e[1], e[2] as number, now);
      else if (Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && e[0].indexOf('.') > 0) {
        const dot = e[0].indexOf('.');
        guard.replay(e[0].slice(0, dot), e[0].slice(dot + 1), e[1] as number, now);
      } else throw new Error('bad entry');
      if (typeof e[e.length - 1] !== 'number') throw new Error('bad entry timestamp');
    }
  } catch (err) {
    if (isProtocolError(err) && err.code === 'PROTO_ERR_BAD_VERSION')
      throw new ClientError('CLIENT_ERR_STATE_VERSION', `replay guard state in ${stateDir}: ${err.message}`, {
        path: `${stateDir}/replay.json`,
      });
    throw new ClientError('CLIENT_ERR_STATE_CORRUPT', `replay guard state in ${stateDir}: ${(err as Error).message}`);
  }
  return guard;
}
