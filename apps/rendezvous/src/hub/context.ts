/**
 * What the hub's modules share: configuration, the broker, counters, and the two session
 * indexes. One object, built once by RelayHub, so no module reaches into another's fields.
 */
import type { Logger } from 'pino';
import type { Broker, MailboxLimits } from '../broker/broker.js';
import type { Config } from '../config.js';
import type { LinkManager } from '../link/manager.js';
import type { OutboundBatcher } from '../outbound.js';
import type { Session } from '../session.js';
import type { Stats } from '../stats.js';

export const KEY_BYTES = 32;
/** SIGNAL/RELAY header: type + frameId + to. */
export const ROUTED_HEADER = 37;
/** WebSocket.OPEN */
export const OPEN = 1;
export const CH_SIGNAL = 0;
export const CH_RELAY = 1;

export interface HubContext {
  readonly config: Config;
  readonly broker: Broker;
  readonly stats: Stats;
  readonly log: Logger;
  /** This instance's id, and the same as latin1 bytes for route headers. */
  readonly selfId: string;
  readonly selfIdBuf: Buffer;
  /** Open (authenticated) sessions by key (latin1 of the 32 key bytes). One per key. */
  readonly sessions: Map<string, Session>;
  /** Every accepted socket with a session, any state. Bounded by MAX_CONNECTIONS. */
  readonly all: Set<Session>;
  /** Records for other instances, published once per event-loop turn. */
  readonly out: OutboundBatcher;
  /** Instance links (INSTANCE_LINK_LISTEN), or null: every batch goes through the broker. */
  readonly links: LinkManager | null;
}

/** Mailbox limits as the broker takes them. */
export function mailboxLimits(c: Config): MailboxLimits {
  return {
    maxMessages: c.mailboxMaxMessages,
    maxBytes: c.mailboxMaxBytes,
    maxMessagesPerSender: c.mailboxMaxMessagesPerSender,
    maxBytesPerSender: c.mailboxMaxBytesPerSender,
    totalMaxBytes: c.mailboxTotalMaxBytes,
    ttlMs: c.mailboxTtlS * 1000,
  };
}
