/** Errors of `doctor` (stable codes, documented in docs/errors.md). Findings are never errors. */
export const DOCTOR_ERROR_CODES = {
  CLIENT_ERR_DOCTOR_BAD_OPTIONS: 'doctor options are invalid (every problem is listed in the message)',
} as const;

export type DoctorErrorCode = keyof typeof DOCTOR_ERROR_CODES;

export class DoctorError extends Error {
  readonly code: DoctorErrorCode;
  readonly problems: readonly string[];
  constructor(code: DoctorErrorCode, problems: readonly string[]) {
    super(`${DOCTOR_ERROR_CODES[code]}: ${problems.join('; ')}`);
    this.name = 'DoctorError';
    this.code = code;
    this.problems = problems;
  }
}
