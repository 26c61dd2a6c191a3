/**
 * Rendezvous settings that lift the per-key and per-IP byte and frame rates out of the way of a
 * file transfer through the relay (both clients of a test usually share one address). The
 * defaults hold one client to RATE_BYTES_PER_S (4 MiB/s), which would turn a 1 GiB relay
 * transfer into minutes; every other limit stays enforced. Used by bench:files and the NAT lab.
 */
export const RAISED_RELAY_LIMITS: Readonly<Record<string, string>> = Object.freeze({
  RATE_BYTES_PER_S: '1000000000',
  RATE_BURST_BYTES: '1000000000',
  RATE_MSGS_PER_S: '1000000',
  RATE_BURST_MSGS: '1000000',
  RATE_IP_BYTES_PER_S: '1000000000',
  RATE_IP_MSGS_PER_S: '1000000',
});
