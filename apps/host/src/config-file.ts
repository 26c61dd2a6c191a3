/**
 * Finding and reading the host config file named by HOST_CONFIG. A relative path means
 * relative to where the user typed the command: `npm start -w @p2p-comm/host` runs the
 * server inside apps/host, so the directory npm was started from (INIT_CWD, set by npm) is
 * used when present. Every failure names the absolute path that was tried.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { HostError } from './errors.js';

/** Largest host config file read (bytes): a config is a few KiB; anything bigger is a wrong file. */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

/** The absolute path HOST_CONFIG names, resolved against the caller's directory. */
export function configPath(env: Readonly<Record<string, string | undefined>>, cwd: string): string {
  const path = env.HOST_CONFIG;
  if (!path) throw new HostError('HOST_ERR_CONFIG_INVALID', 'HOST_CONFIG must name the host config file (JSON)');
  if (isAbsolute(path)) return path;
  return resolve(env.INIT_CWD && isAbsolute(env.INIT_CWD) ? env.INIT_CWD : cwd, path);
}

/** The parsed JSON of the config file at `path` (absolute); failures name it. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    const bytes = readFileSync(path);
    if (bytes.length > MAX_CONFIG_FILE_BYTES)
      throw new HostError('HOST_ERR_CONFIG_INVALID', `${path} is over ${MAX_CONFIG_FILE_BYTES} bytes`);
    text = bytes.toString('utf8');
  } catch (err) {
    if (err instanceof HostError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (err as Error).message;
    throw new HostError('HOST_ERR_CONFIG_INVALID', `cannot read HOST_CONFIG ${path}: ${why}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HostError('HOST_ERR_CONFIG_INVALID', `HOST_CONFIG ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new HostError('HOST_ERR_CONFIG_INVALID', `HOST_CONFIG ${path} must hold a JSON object`);
  return value as Record<string, unknown>;
}
