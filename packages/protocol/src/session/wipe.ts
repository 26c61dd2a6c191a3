/** Key erasure helpers: every secret the session layer owns is overwritten with zeros when it is retired. */

/** Overwrite `bytes` with zeros in place (no-op for undefined). */
export function wipe(bytes: Uint8Array | undefined): void {
  if (bytes) bytes.fill(0);
}

/** True when every byte is zero (tests use it to check erasure). */
export function isWiped(bytes: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < bytes.length; i++) acc |= bytes[i]!;
  return acc === 0;
}
