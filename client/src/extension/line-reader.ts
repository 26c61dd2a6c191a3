import type { Readable } from 'node:stream';

/**
 * Splits a byte stream into newline-terminated lines without ever holding more than
 * `maxBytes` of one line: a longer line is reported once through `onOversize` and its bytes
 * are discarded up to the next newline.
 */
export function readLines(
  input: Readable,
  maxBytes: number,
  handlers: { onLine: (line: string) => void; onOversize: () => void; onEnd: () => void },
): void {
  let parts: Buffer[] = [];
  let size = 0;
  let discarding = false;
  input.on('data', (chunk: Buffer | string) => {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    while (buf.length > 0) {
      const nl = buf.indexOf(0x0a);
      const piece = nl >= 0 ? buf.subarray(0, nl) : buf;
      if (!discarding) {
        if (size + piece.length > maxBytes) {
          discarding = true;
          parts = [];
          size = 0;
          handlers.onOversize();
        } else {
          parts.push(piece);
          size += piece.length;
        }
      }
      if (nl < 0) break;
      if (!discarding) {
        const line = Buffer.concat(parts, size).toString('utf8');
        handlers.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
      }
      parts = [];
      size = 0;
      discarding = false;
      buf = buf.subarray(nl + 1);
    }
  });
  input.on('end', () => {
    if (!discarding && size > 0) handlers.onLine(Buffer.concat(parts, size).toString('utf8'));
    handlers.onEnd();
  });
}
