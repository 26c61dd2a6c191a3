/** Longest wait for the rendezvous health check (ms). */
export const DOCTOR_HTTP_TIMEOUT_MS = 5_000;
/** Health endpoint of the rendezvous service (DESIGN.md, Operations). */
export const DOCTOR_HEALTH_PATH = '/healthz';
