/**
 * Error registry of the agent plugin. Codes are stable, documented in docs/errors.md (AI agent
 * plugin) and, where they travel to the peer agent, carried in an `error` message's `code`.
 */
export const AGENT_ERRORS = {
  AGENT_ERR_CONFIG_INVALID: 'agent configuration is invalid',
  AGENT_ERR_BAD_MESSAGE: 'agent message is malformed, oversized or of an unknown version',
  AGENT_ERR_BUSY: 'too many requests waiting for this agent',
  AGENT_ERR_LLM_FAILED: 'the LLM call failed',
  AGENT_ERR_LLM_BAD_RESPONSE: 'the LLM answered in an unexpected shape',
  AGENT_ERR_GATEWAY: 'the host gateway refused or failed the call',
  AGENT_ERR_ASK_TIMEOUT: 'the peer agent did not answer in time',
  AGENT_ERR_TOO_MANY_ASKS: 'too many questions awaiting answers',
  AGENT_ERR_PEER_ERROR: 'the peer agent answered with an error',
  AGENT_ERR_STOPPED: 'the agent stopped',
} as const;

export type AgentErrorCode = keyof typeof AGENT_ERRORS;

export class AgentError extends Error {
  constructor(
    readonly code: AgentErrorCode,
    detail?: string,
  ) {
    super(detail ? `${AGENT_ERRORS[code]}: ${detail}` : AGENT_ERRORS[code]);
    this.name = 'AgentError';
  }
}
