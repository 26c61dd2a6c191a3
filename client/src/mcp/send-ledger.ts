/**
 * Idempotent sends for `p2p-comm mcp`. A send may wait minutes for the host user's approval,
 * longer than a model waits for a tool: the model gets "waiting for the user's approval" and
 * polls with the same id (message_status, or send_message again), and a retry with an id
 * already used never sends the text a second time. Ids live in this MCP server's memory, the
 * last MCP_MAX_TRACKED_SENDS of them.
 */
import { createHash } from 'node:crypto';
import { MCP_MAX_TRACKED_SENDS } from './constants.js';
import { GatewayCallError } from './gateway.js';

export type SendState =
  | { status: 'waiting_for_approval' }
  | { status: 'sent'; result: Record<string, unknown> }
  | { status: 'failed'; code: string; message: string };

interface Entry {
  /** What the id was first used for: the peer key and the text, hashed. */
  fingerprint: string;
  state: SendState;
  settled: Promise<void>;
}

export class SendLedger {
  readonly #entries = new Map<string, Entry>();

  /**
   * The send with this id: started now with `run`, or the one already started for it. The
   * same id for another peer or text is MCP_ERR_ID_CONFLICT (nothing is sent).
   */
  begin(id: string, peerKey: string, text: string, run: () => Promise<unknown>): Entry {
    const fingerprint = createHash('sha256').update(peerKey).update('\0').update(text).digest('hex');
    const known = this.#entries.get(id);
    if (known) {
      if (known.fingerprint !== fingerprint)
        throw new GatewayCallError(
          'MCP_ERR_ID_CONFLICT',
          0,
          `id ${JSON.stringify(id)} was already used for a different peer or text; choose a new id for a new message`,
        );
      return known;
    }
    const entry: Entry = { fingerprint, state: { status: 'waiting_for_approval' }, settled: Promise.resolve() };
    entry.settled = run().then(
      (result) => {
        entry.state = { status: 'sent', result: (result ?? {}) as Record<string, unknown> };
      },
      (err: unknown) => {
        entry.state = {
          status: 'failed',
          code: err instanceof GatewayCallError ? err.code : 'MCP_ERR_TOOL_FAILED',
          message: err instanceof Error ? err.message : String(err),
        };
      },
    );
    this.#entries.set(id, entry);
    if (this.#entries.size > MCP_MAX_TRACKED_SENDS) this.#entries.delete(this.#entries.keys().next().value!);
    return entry;
  }

  get(id: string): Entry | undefined {
    return this.#entries.get(id);
  }

  /** The entry's state once it settles or after `ms`, whichever comes first. */
  async wait(entry: Entry, ms: number): Promise<SendState> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([entry.settled, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
    return entry.state;
  }
}
