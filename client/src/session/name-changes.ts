import { randomBytes } from 'node:crypto';
import { NAME_CHANGE_PENDING_MAX, NAME_CHANGE_REFUSED_MAX } from '../constants.js';
import { ClientError } from '../errors.js';
import { displayLabel, namesCollide } from '../store/display-name.js';
import type { TrustStore } from '../store/trust-store.js';

/** A peer asks to be shown under another name; only the local user can say yes. */
export interface NameChangeEvent {
  requestId: string;
  key: string;
  fingerprint: string;
  /** The name shown now (with a fingerprint suffix if it looks like another peer's); '' if none. */
  name: string;
  /** The name the peer sent (already sanitised). */
  proposedName: string;
}

export type ProposeOutcome =
  | { kind: 'unchanged' }
  | { kind: 'asked'; event: NameChangeEvent }
  | { kind: 'dropped'; code: 'CLIENT_ERR_NAME_TAKEN' | 'CLIENT_ERR_BUSY' };

/**
 * Name changes proposed by peers, waiting for the local user. A peer's name comes from the
 * consent (or connect) the local user approved; whatever name a peer sends later — in a consent
 * request or response — is only a proposal. At most one proposal per peer waits at a time (later
 * ones are ignored until it is answered), NAME_CHANGE_PENDING_MAX in all; a proposal the user
 * refused is not asked again; a name that looks like another known peer's is never proposed.
 */
export class NameChanges {
  readonly #pending = new Map<string, NameChangeEvent>();
  readonly #refused = new Map<string, string>();

  constructor(private readonly trust: TrustStore) {}

  propose(key: string, proposedName: string): ProposeOutcome {
    const peer = this.trust.get(key);
    if (!peer || !proposedName || proposedName === peer.name) return { kind: 'unchanged' };
    if (this.#pending.has(key) || this.#refused.get(key) === proposedName) return { kind: 'unchanged' };
    if (this.trust.list().some((p) => p.key !== key && namesCollide(p.name, proposedName)))
      return { kind: 'dropped', code: 'CLIENT_ERR_NAME_TAKEN' };
    if (this.#pending.size >= NAME_CHANGE_PENDING_MAX) return { kind: 'dropped', code: 'CLIENT_ERR_BUSY' };
    const event: NameChangeEvent = {
      requestId: randomBytes(8).toString('hex'),
      key,
      fingerprint: peer.fingerprint,
      name: displayLabel(peer, this.trust.list()),
      proposedName,
    };
    this.#pending.set(key, event);
    return { kind: 'asked', event };
  }

  pending(): NameChangeEvent[] {
    return [...this.#pending.values()].map((e) => ({ ...e }));
  }

  /**
   * The local user's answer, by request id or key. Accepting re-checks that the name still
   * looks like no other peer's (another peer may have taken it while the question waited).
   */
  respond(ref: string, accept: boolean): NameChangeEvent {
    const event = this.#pending.get(ref) ?? [...this.#pending.values()].find((e) => e.requestId === ref);
    if (!event) throw new ClientError('CLIENT_ERR_NO_PENDING_REQUEST', ref);
    this.#pending.delete(event.key);
    if (!accept) {
      this.#refused.delete(event.key);
      this.#refused.set(event.key, event.proposedName);
      if (this.#refused.size > NAME_CHANGE_REFUSED_MAX) this.#refused.delete(this.#refused.keys().next().value!);
      return event;
    }
    this.assertFree(event.proposedName, event.key);
    this.trust.put(event.key, { name: event.proposedName });
    return event;
  }

  /** Throws CLIENT_ERR_NAME_TAKEN when `name` looks like a known peer's other than `key`. */
  assertFree(name: string, key: string): void {
    const clash = this.trust.list().find((p) => p.key !== key && namesCollide(p.name, name));
    if (clash)
      throw new ClientError('CLIENT_ERR_NAME_TAKEN', `"${name}" looks like ${clash.name} (${clash.fingerprint})`, {
        name,
        peer: clash.key,
        fingerprint: clash.fingerprint,
      });
  }

  /** Trust ended (revoke, removal): its question is moot. */
  forget(key: string): void {
    this.#pending.delete(key);
  }
}
