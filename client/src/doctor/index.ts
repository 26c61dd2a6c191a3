export { type Classification, classifyNat, type NatMapping, type ProbeAnswer } from './classify.js';
export { cmdDoctor, DOCTOR_USAGE, type DoctorCliContext } from './cli.js';
export { DOCTOR_HEALTH_PATH, DOCTOR_HTTP_TIMEOUT_MS } from './constants.js';
export { type DoctorReport, type RendezvousCheck, runDoctor, type StunProbe } from './doctor.js';
export { DOCTOR_ERROR_CODES, DoctorError, type DoctorErrorCode } from './errors.js';
export { doctorExitCode, formatDoctorReport } from './format.js';
export { type DoctorConfig, type DoctorOptions, parseDoctorOptions } from './options.js';
