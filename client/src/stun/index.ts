export { type BindingOptions, type BindingResult, type StunTarget, stunBinding } from './client.js';
export * from './constants.js';
export { STUN_ERROR_CODES, StunError, type StunErrorCode } from './errors.js';
