/**
 * Display names: what a person reads to decide who a message is from, so a name must never be
 * able to pose as another. Three layers:
 *
 * 1. Sanitising: NFKC; control characters (Cc), format characters (Cf: bidi overrides and
 *    isolates, zero-width space/joiners, BOM, soft hyphen…), line/paragraph separators and
 *    private-use characters are refused in our own name and stripped from a peer's; runs of
 *    whitespace become one space; at most MAX_DISPLAY_NAME_BYTES of UTF-8.
 * 2. Skeleton: two lookalike-insensitive keys (`nameSkeleton`). Both apply NFKC, the homoglyph
 *    table below, case folding, drop accents, spaces and punctuation; the shape key also maps
 *    the ASCII that passes for another letter (I/1/| → l, 0 → o) before folding, which the
 *    folded key cannot (in "ALICE" the capital I is an i). Two names that share either key
 *    ("Alice", "alice", "Аlice" with a Cyrillic А, "AIice" with a capital I, "A l i c e")
 *    are the same name for every decision: the second one is a key change (TOFU stop), never
 *    a second peer a person could pick by mistake.
 * 3. Labels (`displayLabel`): if two known peers still share a skeleton (both were accepted by
 *    the user, e.g. after a revoke), each is shown with a fingerprint suffix, "Alice (3f:a1)".
 *
 * The homoglyph table is deliberately small and documented (docs/extension-rpc.md, "Names"):
 * the common Latin/Cyrillic/Greek lookalikes from Unicode's confusables.txt for letters
 * used in names, plus the digit and ASCII pairs that pass for letters (0/o, 1/l, I/l, rn/m, vv/w).
 * It is not the full UTS #39 skeleton; a name that slips past it still cannot take over a
 * trusted peer's messages, because the key decides who a message is from and names are set
 * only by the local user's approval.
 */
import { MAX_DISPLAY_NAME_BYTES, NAME_LABEL_FINGERPRINT_BYTES, NAME_SKELETON_CACHE_MAX } from '../constants.js';
import { ClientError } from '../errors.js';

/** Characters that must not be in a name: controls, format (bidi, zero-width), separators, private use. */
const FORBIDDEN = /[\p{Cc}\p{Cf}\p{Co}\p{Zl}\p{Zp}]/gu;
/** Every whitespace character, including the exotic spaces NFKC leaves alone. */
const SPACES = /[\s\p{Zs}]+/gu;

/**
 * Homoglyphs → the Latin letter they pass for. Keys are matched before case folding, so an
 * uppercase lookalike maps to the letter it looks like in uppercase (Cyrillic В → b, not v).
 */
const HOMOGLYPHS: Readonly<Record<string, string>> = Object.freeze({
  // Cyrillic uppercase
  А: 'a',
  В: 'b',
  Е: 'e',
  К: 'k',
  М: 'm',
  Н: 'h',
  О: 'o',
  Р: 'p',
  С: 'c',
  Т: 't',
  Х: 'x',
  У: 'y',
  Ѕ: 's',
  І: 'l',
  Ј: 'j',
  Ӏ: 'l',
  Ԛ: 'q',
  Ԝ: 'w',
  Ү: 'y',
  // Cyrillic lowercase
  а: 'a',
  в: 'b',
  е: 'e',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  х: 'x',
  у: 'y',
  ѕ: 's',
  і: 'i',
  ј: 'j',
  ӏ: 'l',
  ԁ: 'd',
  һ: 'h',
  ԛ: 'q',
  ԝ: 'w',
  ү: 'y',
  ɡ: 'g',
  ь: 'b',
  // Greek uppercase
  Α: 'a',
  Β: 'b',
  Ε: 'e',
  Ζ: 'z',
  Η: 'h',
  Ι: 'l',
  Κ: 'k',
  Μ: 'm',
  Ν: 'n',
  Ο: 'o',
  Ρ: 'p',
  Τ: 't',
  Υ: 'y',
  Χ: 'x',
  // Greek lowercase
  α: 'a',
  β: 'b',
  ε: 'e',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ϲ: 'c',
  ϳ: 'j',
  // Latin letters that pass for other letters
  ı: 'i',
  ſ: 's',
});
/**
 * ASCII that passes for another letter by its shape only ("AIice" with a capital I): applied
 * in a second, case-sensitive key, because in "ALICE" the same capital I is just an i.
 */
const ASCII_SHAPES: Readonly<Record<string, string>> = Object.freeze({ I: 'l', '1': 'l', '|': 'l', '0': 'o' });
const MULTI: ReadonlyArray<readonly [RegExp, string]> = [
  [/rn/g, 'm'],
  [/vv/g, 'w'],
];
/** Separators that do not make a different name ("A.lice", "Al-ice", "Al_ice"). */
const SEPARATORS = /[\s\p{P}\p{S}]/gu;

/** Our own name: refused (with the reason) unless it is already clean. */
export function validateDisplayName(name: unknown): string {
  if (typeof name !== 'string') throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', 'name must be a string');
  const trimmed = name.normalize('NFKC').trim();
  if (trimmed.length === 0) throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', 'name is empty');
  if (Buffer.byteLength(trimmed, 'utf8') > MAX_DISPLAY_NAME_BYTES)
    throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', `name exceeds ${MAX_DISPLAY_NAME_BYTES} bytes`);
  FORBIDDEN.lastIndex = 0;
  if (FORBIDDEN.test(trimmed))
    throw new ClientError(
      'CLIENT_ERR_INVALID_ARGUMENT',
      'name has control, bidi-override, zero-width or other invisible characters',
    );
  return trimmed.replace(SPACES, ' ');
}

/**
 * A peer-supplied name: never trusted, cleaned rather than refused. Invisible and control
 * characters are dropped, whitespace collapsed, and the result cut to MAX_DISPLAY_NAME_BYTES
 * on a character boundary. '' when nothing printable is left.
 */
export function sanitizePeerName(name: unknown): string {
  if (typeof name !== 'string') return '';
  // Bound the work before normalising: a peer name arrives inside a 2 KiB header anyway.
  const cleaned = name
    .slice(0, MAX_DISPLAY_NAME_BYTES * 4)
    .normalize('NFKC')
    .replace(FORBIDDEN, '')
    .replace(SPACES, ' ')
    .trim();
  let out = '';
  let bytes = 0;
  for (const ch of cleaned) {
    bytes += Buffer.byteLength(ch, 'utf8');
    if (bytes > MAX_DISPLAY_NAME_BYTES) break;
    out += ch;
  }
  return out.trim();
}

const skeletons = new Map<string, readonly [string, string]>();

function keyOf(base: string, shapes: boolean): string {
  let s = '';
  for (const ch of base) s += HOMOGLYPHS[ch] ?? (shapes ? ASCII_SHAPES[ch] : undefined) ?? ch;
  s = s.toLowerCase().normalize('NFD').replace(/\p{M}/gu, '').replace(SEPARATORS, '');
  let mapped = '';
  for (const ch of s) mapped += HOMOGLYPHS[ch] ?? ch;
  for (const [re, to] of MULTI) mapped = mapped.replace(re, to);
  return mapped;
}

/**
 * The lookalike-insensitive keys of a name (see the module comment): the case-folded key
 * ("ALICE" = "alice") and the shape key ("AIice" = "Alice"); ['', ''] for no name.
 */
export function nameSkeleton(name: string): readonly [string, string] {
  const cached = skeletons.get(name);
  if (cached !== undefined) return cached;
  const base = name.normalize('NFKC').replace(FORBIDDEN, '');
  const keys = [keyOf(base, false), keyOf(base, true)] as const;
  // Names are compared on every event that shows one; bounded, emptied rather than tracked.
  if (skeletons.size >= NAME_SKELETON_CACHE_MAX) skeletons.clear();
  skeletons.set(name, keys);
  return keys;
}

/** True when two names would pass for each other (same folded or shape key); empty names never collide. */
export function namesCollide(a: string, b: string): boolean {
  if (!a || !b) return false;
  const [fa, sa] = nameSkeleton(a);
  const [fb, sb] = nameSkeleton(b);
  return (fa.length > 0 && fa === fb) || (sa.length > 0 && sa === sb);
}

/**
 * The name to show for `peer` among `all` known peers: the name itself, or — when another
 * peer's name looks the same — the name with the start of its fingerprint, "Alice (3f:a1)".
 * A peer without a name is shown by its fingerprint prefix.
 */
export function displayLabel(
  peer: { key: string; name: string; fingerprint: string },
  all: ReadonlyArray<{ key: string; name: string }>,
): string {
  if (!peer.name) return '';
  const clash = all.some((p) => p.key !== peer.key && namesCollide(p.name, peer.name));
  if (!clash) return peer.name;
  return `${peer.name} (${peer.fingerprint.split(':').slice(0, NAME_LABEL_FINGERPRINT_BYTES).join(':')})`;
}
