import { parseArgs } from 'node:util';
import { ClientError } from '../errors.js';
import { nearest } from './usage.js';

export interface GlobalOptions {
  json: boolean;
  server: string | undefined;
  token: string | undefined;
}

export const GLOBAL_OPTIONS = {
  json: { type: 'boolean' },
  server: { type: 'string' },
  token: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

/** parseArgs with the global options mixed in; unknown flags are an error that names them. */
export function parse(
  args: string[],
  options: OptionSpec,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({ args, options: { ...GLOBAL_OPTIONS, ...options }, allowPositionals: true, strict: true });
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
  } catch (err) {
    const message = (err as Error).message;
    // "Unknown option '--fiel'" → also name the nearest known flag.
    const unknown = /^Unknown option '(-{1,2}[^']+)'/.exec(message)?.[1];
    const guess = unknown ? nearest(unknown, Object.keys({ ...GLOBAL_OPTIONS, ...options })) : undefined;
    throw new ClientError(
      'CLIENT_ERR_INVALID_ARGUMENT',
      guess ? `${message.split('.')[0]}; did you mean --${guess}?` : message,
    );
  }
}

/** "7d", "12h", "30m", "45s", "500ms" or plain ms → ms. */
export function parseDuration(text: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m)
    throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', `duration ${JSON.stringify(text)} (use 30s, 10m, 12h, 7d)`);
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 'ms']!;
  return n * unit;
}
