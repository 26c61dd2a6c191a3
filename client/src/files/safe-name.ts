/**
 * Turning a peer's file name into one that is safe to create in the inbox: a single path
 * component, nothing hidden, nothing a shell or Windows treats specially, short enough to take
 * a " (n)" suffix. The sender's name is only a suggestion; what lands is this.
 */
import { ClientError } from '../errors.js';
import { FILE_MAX_NAME_BYTES, FILE_MAX_NAME_SUFFIX } from './constants.js';

/** Bytes kept free for the " (9999)" suffix that avoids overwriting. */
const SUFFIX_ROOM = ` (${FILE_MAX_NAME_SUFFIX})`.length;
/** Longest sanitised name, UTF-8 bytes. */
export const SAFE_NAME_MAX_BYTES = FILE_MAX_NAME_BYTES - SUFFIX_ROOM;
/** Longest extension kept apart when a name is shortened, characters. */
const MAX_EXTENSION_CHARS = 16;

// C0, DEL, C1 controls; bidi embeddings/overrides/isolates (they make "gpj.exe" read as
// "exe.jpg"); zero-width and BOM characters; and what Windows refuses in a name.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff<>:"|?*]/g;
/** Windows device names, which address a device whatever the extension (CON.txt, com1.tar.gz). */
const DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$/i;

/**
 * The safe form of `name`, or CLIENT_ERR_FILE_BAD_NAME when nothing usable is left.
 *
 * @example sanitizeFileName('../../etc/passwd') === 'passwd'
 * @example sanitizeFileName('CON.txt') === '_CON.txt'
 */
export function sanitizeFileName(name: string): string {
  // Only the last path component, whichever separator the sender's system used.
  const parts = name.normalize('NFC').split(/[/\\]/);
  let s = parts[parts.length - 1] ?? '';
  s = s.replace(UNSAFE, (c) => (c < ' ' || (c >= '\u007f' && c <= '\u009f') || c > '\u2000' ? '' : '_'));
  // Leading dots hide a file (and "." / ".." are not names); trailing dots and spaces are
  // silently dropped by Windows, so two names could collide there.
  s = s
    .trim()
    .replace(/^\.+/, '')
    .replace(/[. ]+$/, '')
    .trim();
  if (s.length === 0) throw new ClientError('CLIENT_ERR_FILE_BAD_NAME', `"${printable(name)}"`);
  if (DEVICE.test(s)) s = `_${s}`;
  return truncateName(s, SAFE_NAME_MAX_BYTES);
}

/** Cut `name` to `maxBytes` of UTF-8 keeping a short extension, never splitting a character. */
export function truncateName(name: string, maxBytes: number): string {
  if (Buffer.byteLength(name, 'utf8') <= maxBytes) return name;
  const { stem, ext } = splitExtension(name);
  const keepExt = ext.length <= MAX_EXTENSION_CHARS ? ext : '';
  const room = maxBytes - Buffer.byteLength(keepExt, 'utf8');
  let out = '';
  let bytes = 0;
  for (const ch of stem) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > room) break;
    out += ch;
    bytes += n;
  }
  return out + keepExt;
}

/** "report.tar.gz" → stem "report.tar", ext ".gz"; a name without a dot has ext "". */
export function splitExtension(name: string): { stem: string; ext: string } {
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return { stem: name, ext: '' };
  return { stem: name.slice(0, dot), ext: name.slice(dot) };
}

/** The n-th alternative to `name` when it is taken: "a.txt" → "a (1).txt". */
export function suffixedName(name: string, n: number): string {
  if (n === 0) return name;
  const { stem, ext } = splitExtension(name);
  return `${stem} (${n})${ext}`;
}

/** Peer keys are base64url; anything else is refused before it names a directory. */
export function safePeerDirName(peer: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(peer)) throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', 'bad peer key');
  return peer;
}

function printable(s: string): string {
  return s.replace(UNSAFE, '?').slice(0, 80);
}
