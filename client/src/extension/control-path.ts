import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { storePaths } from '../store/paths.js';

/**
 * Where a running `p2p-comm listen` takes commands for its NEXUS_HOME: a Unix domain socket
 * in the home's state directory (0700, the socket itself 0600), or on Windows a named pipe
 * whose name is derived from the home's absolute path.
 */
export function controlSocketPath(home: string, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') {
    const id = createHash('sha256').update(resolve(home)).digest('hex').slice(0, 32);
    return `\\\\.\\pipe\\p2p-comm-${id}`;
  }
  return join(storePaths(home).stateDir, 'control.sock');
}
