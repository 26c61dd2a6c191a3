/**
 * mDNS / DNS-SD discovery on the LAN. An extension with a direct listener announces
 * `<fingerprint>._p2p-comm._tcp.local` (SRV: port, TXT: key and name, A: addresses) and answers
 * queries for the service; every extension browses for it and reports hints for the keys it
 * wants (its trusted peers). A hint is only a hint: the direct handshake proves the key, and
 * anyone on the LAN can announce any key at any address, so the upgrader dials a hint only if
 * the address policy allows it (address-policy.ts: no loopback, link-local, multicast or
 * unspecified addresses unless configured).
 *
 * @example
 *   const mdns = new MdnsDiscovery({ announce: { key, port: 7788, addresses: ['192.168.1.20'] },
 *     wants: (k) => trust.has(k), onHint: (h) => paths.directHint(h) });
 *   await mdns.start(); mdns.query();
 */
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { decodeKey, encodeKey, fingerprint, toHex } from '@p2p-comm/protocol';
import type { Answer } from 'dns-packet';
import type mDNS from 'multicast-dns';
import {
  MDNS_DEFAULT_GROUP,
  MDNS_DEFAULT_PORT,
  MDNS_MAX_ADDRESSES_PER_PEER,
  MDNS_MAX_HINTS,
  MDNS_MAX_NAME_BYTES,
  MDNS_MAX_RECORDS_PER_PACKET,
  MDNS_RECORD_TTL_S,
  MDNS_SERVICE_TYPE,
} from './mdns-constants.js';

export interface MdnsSocketOptions {
  /** Interface address for multicast (e.g. '127.0.0.1' in tests); all interfaces when unset. */
  readonly interface?: string;
  readonly port?: number;
  readonly group?: string;
  /** Address to bind; default 0.0.0.0 (multicast needs the wildcard or the group). */
  readonly bind?: string;
}

export interface MdnsAnnouncement {
  readonly key: Uint8Array;
  /** Direct listener port. */
  readonly port: number;
  /** Addresses the listener is reachable at on the LAN. */
  readonly addresses: readonly string[];
  readonly name?: string;
}

export interface MdnsHint {
  readonly key: Uint8Array;
  readonly host: string;
  readonly port: number;
  readonly name?: string;
}

export interface MdnsDiscoveryOptions {
  readonly socket?: MdnsSocketOptions;
  /** Set when this extension has a listener to announce. */
  readonly announce?: MdnsAnnouncement;
  /** Whether hints for this key are wanted (normally: a trusted peer). */
  readonly wants: (key: Uint8Array) => boolean;
  readonly onHint: (hint: MdnsHint) => void;
}

/** Instance label: 16 bytes of the key's fingerprint in hex, so a name is bound to its key. */
export function instanceLabel(key: Uint8Array): string {
  return toHex(fingerprint(key).subarray(0, 16));
}

type MdnsFactory = (opts?: mDNS.Options) => mDNS.MulticastDNS;

export class MdnsDiscovery {
  readonly #opts: MdnsDiscoveryOptions;
  #mdns: mDNS.MulticastDNS | undefined;
  readonly #hints = new Map<string, MdnsHint>();

  constructor(opts: MdnsDiscoveryOptions) {
    this.#opts = opts;
  }

  /** Latest hint per wanted key (hex key → hint). */
  get hints(): ReadonlyMap<string, MdnsHint> {
    return this.#hints;
  }

  start(): Promise<void> {
    const make = createRequire(import.meta.url)('multicast-dns') as MdnsFactory;
    const s = this.#opts.socket ?? {};
    const mdns = make({
      port: s.port ?? MDNS_DEFAULT_PORT,
      ip: s.group ?? MDNS_DEFAULT_GROUP,
      interface: s.interface,
      bind: s.bind ?? '0.0.0.0',
      multicast: true,
      loopback: true,
      reuseAddr: true,
    });
    this.#mdns = mdns;
    mdns.on('query', (query) => {
      if (!this.#opts.announce) return;
      const asked = query.questions.some(
        (q) => q.name.toLowerCase() === MDNS_SERVICE_TYPE && (q.type === 'PTR' || String(q.type) === 'ANY'),
      );
      if (asked) this.announce();
    });
    mdns.on('response', (packet) => this.#onResponse([...packet.answers, ...(packet.additionals ?? [])]));
    return new Promise((resolve, reject) => {
      mdns.once('ready', () => {
        mdns.on('error', () => {
          // A bad packet or a transient send error must not stop discovery.
        });
        if (this.#opts.announce) this.announce();
        resolve();
      });
      mdns.once('error', (err: Error) => reject(err));
    });
  }

  /** Ask the LAN who offers the service (answers arrive as hints). */
  query(): void {
    this.#mdns?.query({ questions: [{ name: MDNS_SERVICE_TYPE, type: 'PTR' }] });
  }

  /** Send our records (also done on start and on each matching query). */
  announce(ttl = MDNS_RECORD_TTL_S, done?: () => void): void {
    const a = this.#opts.announce;
    if (!a || !this.#mdns) {
      done?.();
      return;
    }
    const label = instanceLabel(a.key);
    const instance = `${label}.${MDNS_SERVICE_TYPE}`;
    const target = `${label}.local`;
    const name = (a.name ?? '').slice(0, MDNS_MAX_NAME_BYTES);
    const answers: Answer[] = [
      { name: MDNS_SERVICE_TYPE, type: 'PTR', ttl, data: instance },
      { name: instance, type: 'SRV', ttl, data: { port: a.port, target } },
      { name: instance, type: 'TXT', ttl, data: ['v=1', `k=${encodeKey(a.key)}`, `n=${name}`] },
      ...a.addresses
        .slice(0, MDNS_MAX_ADDRESSES_PER_PEER)
        .map(
          (address): Answer =>
            isIP(address) === 6
              ? { name: target, type: 'AAAA', ttl, data: address }
              : { name: target, type: 'A', ttl, data: address },
        ),
    ];
    this.#mdns.respond({ answers }, () => done?.());
  }

  stop(): Promise<void> {
    const mdns = this.#mdns;
    if (!mdns) return Promise.resolve();
    // Goodbye (TTL 0) so peers forget us now rather than in two minutes; sent before closing.
    return new Promise((resolve) =>
      this.announce(0, () => {
        this.#mdns = undefined;
        mdns.destroy(() => resolve());
      }),
    );
  }

  #onResponse(records: Answer[]): void {
    const rs = records.slice(0, MDNS_MAX_RECORDS_PER_PACKET);
    const suffix = `.${MDNS_SERVICE_TYPE}`;
    for (const txt of rs) {
      if (txt.type !== 'TXT' || !txt.name.toLowerCase().endsWith(suffix)) continue;
      const fields = txtFields(txt.data);
      let key: Uint8Array;
      try {
        key = decodeKey(fields.get('k'));
      } catch {
        continue;
      }
      // The instance name must be derived from the key it carries.
      if (txt.name.toLowerCase() !== `${instanceLabel(key)}${suffix}`) continue;
      if (!this.#opts.wants(key)) continue;
      const srv = rs.find((r) => r.type === 'SRV' && r.name.toLowerCase() === txt.name.toLowerCase());
      if (srv?.type !== 'SRV') continue;
      const port = srv.data.port;
      if (!Number.isInteger(port) || port < 1 || port > 65_535) continue;
      const target = srv.data.target.toLowerCase();
      const hosts = rs
        .flatMap((r) => ((r.type === 'A' || r.type === 'AAAA') && r.name.toLowerCase() === target ? [r.data] : []))
        .filter((h) => typeof h === 'string' && isIP(h) !== 0)
        .slice(0, MDNS_MAX_ADDRESSES_PER_PEER);
      const ttl = txt.ttl ?? MDNS_RECORD_TTL_S;
      const id = toHex(key);
      if (ttl === 0) {
        this.#hints.delete(id);
        continue;
      }
      for (const host of hosts) {
        const name = fields.get('n');
        const hint: MdnsHint = name ? { key, host, port, name } : { key, host, port };
        this.#remember(id, hint);
        this.#opts.onHint(hint);
      }
    }
  }

  #remember(id: string, hint: MdnsHint): void {
    this.#hints.delete(id);
    if (this.#hints.size >= MDNS_MAX_HINTS) this.#hints.delete(this.#hints.keys().next().value as string);
    this.#hints.set(id, hint);
  }
}

function txtFields(data: unknown): Map<string, string> {
  const out = new Map<string, string>();
  const items = Array.isArray(data) ? data : [data];
  for (const item of items.slice(0, 16)) {
    const text = typeof item === 'string' ? item : Buffer.isBuffer(item) ? item.toString('utf8') : '';
    const eq = text.indexOf('=');
    if (eq > 0) out.set(text.slice(0, eq), text.slice(eq + 1, eq + 1 + MDNS_MAX_NAME_BYTES * 2));
  }
  return out;
}
