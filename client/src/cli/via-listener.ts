/**
 * `send` and `trust revoke` while a `p2p-comm listen` holds NEXUS_HOME: the command is handed
 * to that process over its control socket (extension/control-server.ts). When nothing answers
 * there (another kind of process holds the home, or an older listen), the error says how to
 * do it by hand.
 */
import { ClientError } from '../errors.js';
import { ControlClient } from '../extension/control-client.js';
import { controlSocketPath } from '../extension/control-path.js';

/** True for the error a second process gets while a listener holds the home. */
export function isHomeLocked(err: unknown): err is ClientError {
  return err instanceof ClientError && err.code === 'CLIENT_ERR_HOME_LOCKED';
}

/**
 * Runs `fn` with a connection to the listener of `home`. `byHand` says what the user can do
 * instead when no listener takes commands (e.g. type `Bob: text` in its window).
 */
export async function viaListener<T>(
  home: string,
  locked: ClientError,
  byHand: string,
  fn: (control: ControlClient) => Promise<T>,
): Promise<T> {
  const control = await ControlClient.open(controlSocketPath(home));
  if (!control) {
    const pid = locked.data?.pid;
    throw new ClientError(
      'CLIENT_ERR_HOME_LOCKED',
      `${pid ? `pid ${pid}` : 'another p2p-comm process'} uses ${home} and takes no commands from here: ${byHand}`,
      locked.data ? { ...locked.data } : undefined,
    );
  }
  try {
    return await fn(control);
  } finally {
    control.close();
  }
}
