import { fromBase64url, isProtocolError, PrekeyReplayGuard } from '@p2p-comm/protocol';
import { ClientError } from '../errors.js';
import { Journal } from '../store/journal.js';

/** One accepted prekey message in prekey-replay.log: [sender key base64url, sequence]. */
type Entry = [string, number];

/**
 * The receiver's PrekeyReplayGuard, durable: every accepted (sender, sequence) is appended to
 * `prekey-replay.log` before the message is handed on (`record`), and the guard's `toState()`
 * is the snapshot. A newer state version is refused with CLIENT_ERR_STATE_VERSION and left
 * untouched, so a restart never silently forgets what was accepted.
 */
export class PersistentPrekeyReplay {
  readonly guard: PrekeyReplayGuard;
  readonly #journal: Journal<unknown, Entry>;

  constructor(stateDir: string) {
    this.#journal = new Journal(stateDir, 'prekey-replay');
    const { snapshot, entries } = this.#journal.load();
    try {
      this.guard = snapshot === null ? new PrekeyReplayGuard() : PrekeyReplayGuard.fromState(snapshot);
      for (const e of entries) {
        const peer = Array.isArray(e) && typeof e[0] === 'string' ? fromBase64url(e[0]) : null;
        if (!peer || !Number.isSafeInteger(e[1])) throw new Error('bad entry');
        // Already in the snapshot (a crash between compacting and truncating the log): fine.
        if (this.guard.highest(peer) >= 0)
          try {
            this.guard.check(peer, e[1]);
          } catch {
            continue;
          }
        this.guard.commit(peer, e[1]);
      }
    } catch (err) {
      if (isProtocolError(err) && err.code === 'PROTO_ERR_BAD_VERSION')
        throw new ClientError('CLIENT_ERR_STATE_VERSION', `prekey replay state in ${stateDir}: ${err.message}`, {
          path: `${stateDir}/prekey-replay.json`,
        });
      throw new ClientError(
        'CLIENT_ERR_STATE_CORRUPT',
        `prekey replay state in ${stateDir}: ${(err as Error).message}`,
        {
          path: `${stateDir}/prekey-replay.json`,
        },
      );
    }
  }

  /** Persist an accepted (sender, sequence): call right after openPrekeyMessage committed it. */
  record(senderB64: string, sequence: number): void {
    this.#journal.append([senderB64, sequence]);
    if (this.#journal.wantsCompaction) this.#journal.compact(this.guard.toState());
  }
}
