/**
 * Audit log: one JSON line per gate decision. Lines name the gate, the outcome, the plugin, the
 * peer and the error code of a denial; they never hold message content (only sizes and the
 * risk reviewer's reasons). Kept in a bounded ring for the page and tests, and appended to a
 * sink (a file in production).
 */
import { AUDIT_RING_ENTRIES } from './constants.js';
import type { HostErrorCode } from './errors.js';

export type Gate = 'auth' | 'permission' | 'scope' | 'risk' | 'approval' | 'extension' | 'deliver' | 'consent' | 'rpc';

export interface AuditEntry {
  ts: string;
  gate: Gate;
  outcome: 'allow' | 'deny' | 'info';
  direction?: 'out' | 'in';
  plugin?: string;
  peer?: string;
  messageId?: string;
  code?: HostErrorCode;
  detail?: string;
  bytes?: number;
}

export type AuditSink = (line: string) => void;

export class AuditLog {
  private readonly ring: AuditEntry[] = [];

  constructor(
    private readonly sink: AuditSink = () => {},
    private readonly now: () => number = Date.now,
    private readonly capacity = AUDIT_RING_ENTRIES,
  ) {}

  record(entry: Omit<AuditEntry, 'ts'>): AuditEntry {
    const full: AuditEntry = { ts: new Date(this.now()).toISOString(), ...entry };
    this.ring.push(full);
    if (this.ring.length > this.capacity) this.ring.shift();
    try {
      this.sink(JSON.stringify(full));
    } catch {
      // A failing sink must not turn a gate decision into a crash; the ring still has it.
    }
    return full;
  }

  entries(): readonly AuditEntry[] {
    return this.ring;
  }
}
