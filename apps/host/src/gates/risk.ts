/**
 * Risk gate: a pluggable content review. The default reviewer flags file listings, file-system
 * paths, credential-like strings and payloads over a size as high risk. A reviewer that throws
 * counts as high risk (fail closed).
 */

export type RiskLevel = 'low' | 'high';

export interface RiskInput {
  direction: 'out' | 'in';
  body: string;
  /** Full size when `body` is only a preview (incoming data held by the extension). */
  bytes?: number;
  /** The content is binary (base64 in `body`, or no preview at all). */
  binary?: boolean;
  plugin?: string;
  peer: string;
}

export interface RiskVerdict {
  level: RiskLevel;
  /** Machine-readable reasons: file-listing, paths, credentials, size, binary. */
  reasons: string[];
  /** Human phrase for the approval dialog, e.g. "a file listing". */
  summary: string;
}

export interface RiskReviewer {
  review(input: RiskInput): Promise<RiskVerdict> | RiskVerdict;
}

const LS_LINE = /^[-dlcbps][rwxsStT-]{9}[@+.]?\s+\d+\s/;
const TREE_LINE = /^[\s│├└─|`]*[├└|`][─-]{2}\s/;
// Only test() is used on these, so each is cut to the shortest text that decides it (a path's
// start): a repetition over a whole message (up to 16 MiB, a/a/a/…) overflows the regular
// expression engine's stack or costs time growing with the square of the length.
const POSIX_PATH = /(?:^|[\s"'`(=:])(?:~|\.{1,2})?\/[\w.@-]+\//;
const WINDOWS_PATH = /\b[A-Za-z]:\\/;
const SENSITIVE_DIRS = /(?:^|\/)(?:\.ssh|\.aws|\.gnupg|\.kube|\.docker|\.nexus)(?:\/|$)|\/etc\/(?:passwd|shadow)/;

// Only test() is used, so a minimum count ({20}) finds the same texts as an open one ({20,});
// open repetitions over a 16 MiB message overflow the regular expression engine's stack. JSON
// web tokens are found by hasJwtLikeToken (a pattern for them costs time quadratic in a run).
const CREDENTIAL_PATTERNS: readonly RegExp[] = [
  /-----BEGIN [A-Z ]{0,64}PRIVATE KEY-----/,
  /\bAKIA[0-9A-Z]{16}\b/,
  /\bsk-(?:ant-)?[A-Za-z0-9_-]{20}/,
  /\bgh[pousr]_[A-Za-z0-9]{30}/,
  /\bxox[abprs]-[A-Za-z0-9-]{10}/,
  /\b(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token|client[_-]?secret)\b\s{0,64}[:=]\s{0,64}\S{4}/i,
];

/**
 * A JSON web token: `eyJ` at a word start, then ≥ 10 more token characters, ".", ≥ 10, ".",
 * ≥ 10 (what /\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/ finds), in time
 * linear in the text: each run of token characters and dots is split at its dots once.
 */
export function hasJwtLikeToken(text: string): boolean {
  for (const run of text.matchAll(/[A-Za-z0-9_.-]+/g)) {
    const parts = run[0].split('.');
    for (let i = 0; i + 2 < parts.length; i++) {
      if (parts[i + 1]!.length < 10 || parts[i + 2]!.length < 10) continue;
      const part = parts[i]!;
      // The first `eyJ` at a word start leaves the most characters after it.
      for (let j = part.indexOf('eyJ'); j !== -1; j = part.indexOf('eyJ', j + 1)) {
        if (j === 0 || part[j - 1] === '-') {
          if (part.length - j - 3 >= 10) return true;
          break;
        }
      }
    }
  }
  return false;
}

/** A long token mixing letters and digits with high entropy looks like a secret. */
function hasHighEntropyToken(text: string): boolean {
  // Runs over 4,096 characters are judged in 4,096-character pieces: an unbounded run (a
  // 16 MiB message of one token) overflows the regular expression engine's stack.
  for (const m of text.matchAll(/[A-Za-z0-9+/_=-]{32,4096}/g)) {
    const token = m[0];
    if (!/[0-9]/.test(token) || !/[A-Za-z]/.test(token)) continue;
    const counts = new Map<string, number>();
    for (const ch of token) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    let entropy = 0;
    for (const c of counts.values()) {
      const p = c / token.length;
      entropy -= p * Math.log2(p);
    }
    if (entropy >= 4) return true;
  }
  return false;
}

function looksLikeFileListing(text: string): boolean {
  const lines = text.split('\n');
  let listingLines = 0;
  for (const line of lines) {
    if (LS_LINE.test(line) || TREE_LINE.test(line) || /^total \d+$/.test(line.trim())) listingLines++;
  }
  if (listingLines >= 3) return true;
  // Several lines that are each just a path are a listing too.
  const pathLines = lines.filter((l) => /^\s*(?:~|\.{0,2})\/?(?:[\w.@-]+\/){1,256}[\w.@-]*\s*$/.test(l)).length;
  return pathLines >= 3;
}

export interface DefaultRiskOptions {
  /** Bodies larger than this many UTF-8 bytes are high risk. */
  highRiskBytes: number;
}

export function createDefaultRiskReviewer(opts: DefaultRiskOptions): RiskReviewer {
  return {
    review({ body, bytes: declared, binary }: RiskInput): RiskVerdict {
      const reasons: string[] = [];
      const phrases: string[] = [];
      if (binary) {
        // Binary content can't be read by this review, so a person must look at it.
        reasons.push('binary');
        phrases.push('binary data');
        body = '';
      }
      if (looksLikeFileListing(body)) {
        reasons.push('file-listing');
        phrases.push('a file listing');
      }
      if (POSIX_PATH.test(body) || WINDOWS_PATH.test(body) || SENSITIVE_DIRS.test(body)) {
        reasons.push('paths');
        phrases.push('file paths');
      }
      if (CREDENTIAL_PATTERNS.some((re) => re.test(body)) || hasJwtLikeToken(body) || hasHighEntropyToken(body)) {
        reasons.push('credentials');
        phrases.push('something that looks like a credential');
      }
      const bytes = Math.max(Buffer.byteLength(body), declared ?? 0);
      if (bytes > opts.highRiskBytes) {
        reasons.push('size');
        phrases.push(`a large message (${bytes} bytes)`);
      }
      if (reasons.length === 0) return { level: 'low', reasons, summary: 'a message' };
      return { level: 'high', reasons, summary: phrases.join(', ') };
    },
  };
}

/** Runs a reviewer; a throwing or malformed reviewer means high risk (fail closed). */
export async function reviewSafely(reviewer: RiskReviewer, input: RiskInput): Promise<RiskVerdict> {
  try {
    const v = await reviewer.review(input);
    if (v && (v.level === 'low' || v.level === 'high') && Array.isArray(v.reasons) && typeof v.summary === 'string') {
      return v;
    }
  } catch {
    // fall through
  }
  return { level: 'high', reasons: ['review-failed'], summary: 'a message the content review could not check' };
}
