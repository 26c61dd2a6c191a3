import { ReplayGuard, type ReplayGuardState } from '@p2p-comm/protocol';
import { REPLAY_GUARD_MAX_ENTRIES } from '../constants.js';
import { ClientError } from '../errors.js';
import { Journal } from '../store/journal.js';

type Entry = [string, number];

/**
 * A ReplayGuard whose every accept is appended to `<state>/replay.log` before the envelope is
 * processed, and folded into `replay.json` now and then; so an envelope accepted once is
 * refused after a restart too.
 */
export function openPersistentReplayGuard(stateDir: string): ReplayGuard {
  const journal = new Journal<ReplayGuardState, Entry>(stateDir, 'replay');
  const { snapshot, entries } = journal.load();
  let guard: ReplayGuard;
  const opts = {
    maxEntries: REPLAY_GUARD_MAX_ENTRIES,
    onAccept: (id: string, timestamp: number) => {
      journal.append([id, timestamp]);
      if (journal.wantsCompaction) journal.compact(guard.snapshot());
    },
  };
  try {
    guard = snapshot ? ReplayGuard.restore(snapshot, opts) : new ReplayGuard(opts);
    for (const e of entries) {
      if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'number') throw new Error('bad entry');
      guard.replay(e[0], e[1]);
    }
  } catch (err) {
    throw new ClientError('CLIENT_ERR_STATE_CORRUPT', `replay guard state in ${stateDir}: ${(err as Error).message}`);
  }
  return guard;
}
