import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where everything lives. Only entry points call `resolveHome` with their environment. */
export interface StorePaths {
  readonly home: string;
  readonly identityDir: string;
  readonly secretKeyFile: string;
  readonly publicKeyFile: string;
  readonly profileFile: string;
  readonly trustFile: string;
  /** Extension state: replay guard, receive and send journals. */
  readonly stateDir: string;
}

/** `NEXUS_HOME` replaces the whole `~/.nexus`. */
export function resolveHome(env: Readonly<Record<string, string | undefined>>): string {
  const fromEnv = env.NEXUS_HOME;
  return fromEnv && fromEnv.length > 0 ? fromEnv : join(homedir(), '.nexus');
}

export function storePaths(home: string): StorePaths {
  const identityDir = join(home, 'identity');
  return Object.freeze({
    home,
    identityDir,
    secretKeyFile: join(identityDir, 'ed25519.secret'),
    publicKeyFile: join(identityDir, 'ed25519.pub'),
    profileFile: join(identityDir, 'profile.json'),
    trustFile: join(home, 'trusted_peers.json'),
    stateDir: join(home, 'p2p-comm'),
  });
}
