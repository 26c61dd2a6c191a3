/** Limits and defaults of mDNS discovery, each with its unit (docs/limits.md). */

/** DNS-SD service type the client announces and browses. */
export const MDNS_SERVICE_TYPE = '_p2p-comm._tcp.local';
/** Standard mDNS UDP port and IPv4 group (RFC 6762). Tests use another port on 127.0.0.1. */
export const MDNS_DEFAULT_PORT = 5353;
export const MDNS_DEFAULT_GROUP = '224.0.0.251';
/** TTL of our records, seconds (RFC 6762 recommends 120 s for host records). */
export const MDNS_RECORD_TTL_S = 120;
/** Records read from one packet; the rest are ignored (bound on work per packet). */
export const MDNS_MAX_RECORDS_PER_PACKET = 64;
/** Peer hints remembered (key → latest address), entries; the oldest is evicted. */
export const MDNS_MAX_HINTS = 256;
/** Addresses announced or remembered per peer, count. */
export const MDNS_MAX_ADDRESSES_PER_PEER = 8;
/** Longest display name carried in the TXT record, bytes. */
export const MDNS_MAX_NAME_BYTES = 64;
