import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { FILE_HASH_READ_BYTES } from './constants.js';

/**
 * SHA-256 of the first `length` bytes of `path` (the whole file when omitted), read in
 * FILE_HASH_READ_BYTES pieces so memory stays flat whatever the size. Returns the running
 * hash, not the digest: the recipient resuming a partial file goes on feeding it. (node:crypto
 * cannot export a hash's internal state, so a restart re-reads the partial file instead.)
 * Throws RangeError when the file is shorter than `length`.
 */
export async function hashFilePrefix(path: string, length?: number): Promise<{ hash: Hash; bytes: number }> {
  const hash = createHash('sha256');
  const fh = await open(path, 'r');
  try {
    const want = length ?? (await fh.stat()).size;
    const buf = Buffer.allocUnsafe(Math.min(FILE_HASH_READ_BYTES, Math.max(1, want)));
    let done = 0;
    while (done < want) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, want - done), done);
      if (bytesRead === 0) throw new RangeError(`${path} is shorter than ${want} bytes`);
      hash.update(buf.subarray(0, bytesRead));
      done += bytesRead;
    }
    return { hash, bytes: done };
  } finally {
    await fh.close();
  }
}
