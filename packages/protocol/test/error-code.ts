import { ProtocolError } from '../src/errors.js';

/** The ProtocolError code `fn` throws, undefined when it returns, or a note naming any other throw. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof ProtocolError ? err.code : `not a ProtocolError: ${String(err)}`;
  }
}
