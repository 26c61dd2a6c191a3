/**
 * The approval queue: every question the host puts to its user (a peer asking to connect, a
 * high-risk outgoing message, an incoming message) waits here until Accept, Deny or timeout.
 * The approval page and any interactive prompt are two faces of this one queue. Decisions are
 * final: a decided approval can't be decided again. A timeout or a full queue denies.
 */

import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { DEFAULT_APPROVAL_TIMEOUT_MS, MAX_APPROVAL_HISTORY, MAX_PENDING_APPROVALS } from '../constants.js';
import { HostError } from '../errors.js';

/**
 * `connect`: a plugin asks to connect to a key the user has not trusted (or meets a changed key);
 * `rename`: a trusted peer asks to be shown under another display name.
 */
export type ApprovalKind = 'consent' | 'send' | 'receive' | 'connect' | 'rename';
export type ApprovalState = 'pending' | 'accepted' | 'denied' | 'expired';

export interface ApprovalRequest {
  kind: ApprovalKind;
  /** The question, in the user's words: "Alice's AI agent wants to share a file listing …". */
  prompt: string;
  peer: { key: string; name?: string; fingerprint: string };
  plugin?: { id: string; name: string };
  /** Risk reasons (file-listing, paths, credentials, size), empty for consent. */
  reasons: string[];
  /** A short excerpt of the content, for the user only. */
  preview?: string;
  bytes?: number;
}

export interface Approval extends ApprovalRequest {
  id: string;
  state: ApprovalState;
  createdAt: number;
  expiresAt: number;
  decidedAt?: number;
}

export interface ApprovalQueueOptions {
  timeoutMs?: number;
  maxPending?: number;
  maxHistory?: number;
  now?: () => number;
}

interface Waiting {
  approval: Approval;
  resolve: (state: ApprovalState) => void;
  timer: NodeJS.Timeout;
}

export class ApprovalQueue extends EventEmitter<{ change: [] }> {
  private readonly waiting = new Map<string, Waiting>();
  private readonly history: Approval[] = [];
  private readonly timeoutMs: number;
  private readonly maxPending: number;
  private readonly maxHistory: number;
  private readonly now: () => number;

  constructor(opts: ApprovalQueueOptions = {}) {
    super();
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS;
    this.maxPending = opts.maxPending ?? MAX_PENDING_APPROVALS;
    this.maxHistory = opts.maxHistory ?? MAX_APPROVAL_HISTORY;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Queues a question and resolves with its final state. Throws HOST_ERR_APPROVAL_QUEUE_FULL
   * (the caller treats it as a denial) when too many are pending.
   */
  ask(req: ApprovalRequest): { id: string; decision: Promise<ApprovalState> } {
    if (this.waiting.size >= this.maxPending) throw new HostError('HOST_ERR_APPROVAL_QUEUE_FULL');
    const createdAt = this.now();
    const approval: Approval = {
      ...req,
      id: randomUUID(),
      state: 'pending',
      createdAt,
      expiresAt: createdAt + this.timeoutMs,
    };
    const decision = new Promise<ApprovalState>((resolve) => {
      const timer = setTimeout(() => this.settle(approval.id, 'expired'), this.timeoutMs);
      this.waiting.set(approval.id, { approval, resolve, timer });
    });
    this.emit('change');
    return { id: approval.id, decision };
  }

  /** The user's answer. Throws HOST_ERR_APPROVAL_NOT_FOUND / HOST_ERR_APPROVAL_DECIDED. */
  decide(id: string, accept: boolean): Approval {
    if (!this.waiting.has(id)) {
      if (this.history.some((a) => a.id === id)) throw new HostError('HOST_ERR_APPROVAL_DECIDED');
      throw new HostError('HOST_ERR_APPROVAL_NOT_FOUND');
    }
    return this.settle(id, accept ? 'accepted' : 'denied');
  }

  pending(): Approval[] {
    return [...this.waiting.values()].map((w) => ({ ...w.approval }));
  }

  decided(): Approval[] {
    return this.history.map((a) => ({ ...a }));
  }

  /** Expires everything pending (shutdown): nothing is left half-approved. */
  close(): void {
    for (const id of [...this.waiting.keys()]) this.settle(id, 'expired');
  }

  private settle(id: string, state: Exclude<ApprovalState, 'pending'>): Approval {
    const w = this.waiting.get(id)!;
    clearTimeout(w.timer);
    this.waiting.delete(id);
    const done: Approval = { ...w.approval, state, decidedAt: this.now() };
    this.history.unshift(done);
    if (this.history.length > this.maxHistory) this.history.pop();
    w.resolve(state);
    this.emit('change');
    return done;
  }
}
