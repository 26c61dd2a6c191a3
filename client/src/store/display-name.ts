import { MAX_DISPLAY_NAME_BYTES } from '../constants.js';
import { ClientError } from '../errors.js';

/** Trimmed, 1..MAX_DISPLAY_NAME_BYTES UTF-8 bytes, no control characters. */
export function validateDisplayName(name: unknown): string {
  if (typeof name !== 'string') throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', 'name must be a string');
  const trimmed = name.trim();
  if (trimmed.length === 0) throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', 'name is empty');
  if (Buffer.byteLength(trimmed, 'utf8') > MAX_DISPLAY_NAME_BYTES)
    throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', `name exceeds ${MAX_DISPLAY_NAME_BYTES} bytes`);
  if (/[\u0000-\u001f\u007f]/.test(trimmed))
    throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', 'name has control characters');
  return trimmed;
}

/** A peer-supplied name: never trusted, cleaned rather than refused. */
export function sanitizePeerName(name: unknown): string {
  try {
    return validateDisplayName(name);
  } catch {
    return '';
  }
}
