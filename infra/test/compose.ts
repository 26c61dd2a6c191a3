/**
 * Reading docker-compose.yml the way `docker compose` does, for tests that check it against
 * the app and run its services without a container engine: env-file parsing, variable
 * interpolation (`${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`,
 * `${VAR:+alt}`, `$VAR`, `$$`) and YAML merge keys (`<<: *anchor`).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ComposeService {
  readonly image?: string;
  readonly command?: readonly string[];
  readonly environment?: Readonly<Record<string, string | number | boolean | null>>;
  readonly volumes?: readonly string[];
  readonly ports?: readonly string[];
  readonly profiles?: readonly string[];
  readonly depends_on?: Readonly<Record<string, { condition?: string }>>;
  readonly healthcheck?: { test?: readonly string[] };
  readonly stop_grace_period?: string;
}

export interface ComposeFile {
  readonly services: Readonly<Record<string, ComposeService>>;
}

/** Parse a `.env` file: KEY=VALUE lines, `#` comments, optional single/double quotes. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(trimmed);
    if (!m) throw new Error(`bad env-file line: ${line}`);
    let value = m[2]!;
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    out[m[1]!] = value;
  }
  return out;
}

/** One `${…}` or `$NAME` reference, or an escaped `$$`. Nested references are not used in our file. */
const REFERENCE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** Interpolate one string as compose does; throws on `${VAR:?msg}` with VAR unset or empty. */
export function interpolate(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(REFERENCE, (whole, braced?: string, op?: string, arg?: string, bare?: string) => {
    if (whole === '$$') return '$';
    const name = (braced ?? bare)!;
    const value = vars[name];
    const unset = value === undefined;
    const empty = unset || value === '';
    switch (op) {
      case undefined:
        return value ?? '';
      case ':-':
        return empty ? arg! : value!;
      case '-':
        return unset ? arg! : value!;
      case ':?':
      case '?':
        if (op === ':?' ? empty : unset) throw new Error(`required variable ${name}: ${arg}`);
        return value!;
      case ':+':
        return empty ? '' : arg!;
      case '+':
        return unset ? '' : arg!;
      default:
        throw new Error(`unsupported interpolation ${whole}`);
    }
  });
}

function interpolateDeep(value: unknown, vars: Readonly<Record<string, string>>): unknown {
  if (typeof value === 'string') return interpolate(value, vars);
  if (Array.isArray(value)) return value.map((v) => interpolateDeep(v, vars));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateDeep(v, vars)]));
  return value;
}

/** The raw compose text, parsed with merge keys resolved but variables left in place. */
export function readComposeRaw(path = `${REPO_ROOT}docker-compose.yml`): Record<string, unknown> {
  return parseYaml(readFileSync(path, 'utf8'), { merge: true }) as Record<string, unknown>;
}

/** docker-compose.yml interpolated with `vars` (what `docker compose config` would print). */
export function loadCompose(vars: Readonly<Record<string, string>>, path?: string): ComposeFile {
  const doc = interpolateDeep(readComposeRaw(path), vars) as Record<string, unknown>;
  if (doc.services === null || typeof doc.services !== 'object') throw new Error('compose file has no services');
  return doc as unknown as ComposeFile;
}

/** Every variable the compose file references, with whether it is required (`:?`/`?`). */
export function composeVariables(path = `${REPO_ROOT}docker-compose.yml`): Map<string, { required: boolean }> {
  const out = new Map<string, { required: boolean }>();
  for (const m of readFileSync(path, 'utf8').matchAll(REFERENCE)) {
    const name = m[1] ?? m[4];
    if (name === undefined) continue;
    const required = m[2] === ':?' || m[2] === '?';
    out.set(name, { required: required || (out.get(name)?.required ?? false) });
  }
  return out;
}

/** A service's environment as strings (compose passes numbers and booleans as their text). */
export function serviceEnv(service: ComposeService): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(service.environment ?? {})) out[k] = v === null ? '' : String(v);
  return out;
}

/** Host path of the bind mount whose container path is `target` (relative to the repo root). */
export function hostPathOf(service: ComposeService, target: string): string {
  for (const volume of service.volumes ?? []) {
    const [source, dest] = volume.split(':');
    if (dest === target && source !== undefined) return source.startsWith('/') ? source : `${REPO_ROOT}${source}`;
  }
  throw new Error(`no bind mount for ${target}`);
}

/** The exec-form CMD of a Dockerfile (the last one wins, as in Docker). */
export function dockerfileCmd(path = `${REPO_ROOT}infra/Dockerfile`): string[] {
  const cmds = [...readFileSync(path, 'utf8').matchAll(/^CMD\s+(\[.*\])\s*$/gm)];
  const last = cmds.at(-1);
  if (!last) throw new Error('Dockerfile has no exec-form CMD');
  return JSON.parse(last[1]!) as string[];
}
