/**
 * Event plumbing shared by the path Links: envelope and close handlers, a bounded buffer for
 * envelopes that arrive before the first handler is registered, and "close runs once".
 */
import type { Link, PathKind } from './link.js';

/** Envelopes held for a Link whose owner has not registered a handler yet, count. */
export const LINK_EARLY_ENVELOPES_MAX = 1024;

export abstract class LinkEvents implements Link {
  abstract readonly kind: PathKind;
  abstract readonly remoteKey: Uint8Array;
  abstract send(envelope: Uint8Array): void;
  /** Release the underlying transport. Called once, by close(). */
  protected abstract teardown(reason: string): void;

  #open = true;
  #closeReason: string | undefined;
  readonly #envelopeHandlers: Array<(envelope: Uint8Array) => void> = [];
  readonly #closeHandlers: Array<(reason: string) => void> = [];
  #early: Uint8Array[] | undefined = [];

  get isOpen(): boolean {
    return this.#open;
  }

  /** Why the link closed (undefined while open). */
  get closeReason(): string | undefined {
    return this.#closeReason;
  }

  onEnvelope(handler: (envelope: Uint8Array) => void): void {
    this.#envelopeHandlers.push(handler);
    const early = this.#early;
    this.#early = undefined;
    if (early) for (const envelope of early) handler(envelope);
  }

  onClose(handler: (reason: string) => void): void {
    if (!this.#open) {
      const reason = this.#closeReason ?? 'closed';
      queueMicrotask(() => handler(reason));
      return;
    }
    this.#closeHandlers.push(handler);
  }

  close(reason = `${this.kindLabel()}: closed`): void {
    if (!this.#open) return;
    this.#open = false;
    this.#closeReason = reason;
    try {
      this.teardown(reason);
    } finally {
      for (const handler of this.#closeHandlers.splice(0)) {
        try {
          handler(reason);
        } catch {
          // A faulty handler must not keep the others from learning the link is gone.
        }
      }
    }
  }

  protected kindLabel(): string {
    return this.kind;
  }

  /** Hand one received envelope to the handlers (or hold it until one registers). */
  protected deliver(envelope: Uint8Array): void {
    if (!this.#open) return;
    if (this.#early) {
      // Beyond the bound the owner is not listening at all; dropping is safe because the
      // session layer above retransmits anything not acknowledged end to end.
      if (this.#early.length < LINK_EARLY_ENVELOPES_MAX) this.#early.push(envelope);
      return;
    }
    for (const handler of this.#envelopeHandlers) handler(envelope);
  }
}
