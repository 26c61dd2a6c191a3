/**
 * The load runner's error registry: every failure it reports carries a stable LOAD_ERR_* code,
 * documented in docs/errors.md (a test keeps the two in sync).
 */

export const LOADTEST_ERRORS = Object.freeze({
  LOAD_ERR_CONFIG: 'invalid runner options',
  LOAD_ERR_SERVER_START: 'a server under test did not start or exited early',
  LOAD_ERR_REDIS_START: 'redis-server did not start',
  LOAD_ERR_HANDSHAKE: 'WebSocket upgrade or authentication failed',
  LOAD_ERR_TIMEOUT: 'a bounded phase ran out of time',
  LOAD_ERR_PROTOCOL: 'a server sent a frame the generator did not expect',
  LOAD_ERR_GENERATOR: 'a load-generator process failed',
} as const);

export type LoadtestErrorCode = keyof typeof LOADTEST_ERRORS;

export class LoadtestError extends Error {
  readonly code: LoadtestErrorCode;
  constructor(code: LoadtestErrorCode, detail?: string) {
    super(detail ? `${LOADTEST_ERRORS[code]}: ${detail}` : LOADTEST_ERRORS[code]);
    this.name = 'LoadtestError';
    this.code = code;
  }
}
