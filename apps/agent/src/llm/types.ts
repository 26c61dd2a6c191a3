/** The one thing the agent needs from an LLM: turn a conversation into the next reply text. */
export interface ChatTurn {
  role: 'user' | 'assistant';
  content: string;
}

export interface CompletionRequest {
  system: string;
  messages: ChatTurn[];
  maxTokens: number;
}

export interface LlmClient {
  readonly provider: string;
  complete(req: CompletionRequest): Promise<string>;
}
