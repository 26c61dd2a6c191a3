/**
 * The agent: reads messages from the host gateway (long-poll), answers the peer's `ask` and
 * `task` requests with its LLM, and asks the peer's agent in turn (`ask`), matching replies to
 * requests by id. start()/stop() are explicit; construction has no side effects.
 */
import type { AgentConfig } from './config.js';
import {
  ASK_PEER_PREFIX,
  MAX_AGENT_DEPTH,
  MAX_AGENT_TEXT_CHARS,
  MAX_CONCURRENT_ANSWERS,
  MAX_PEER_QUESTIONS_PER_ANSWER,
  MAX_PENDING_ASKS,
  MAX_QUEUED_REQUESTS,
  POLL_RETRY_MS,
} from './constants.js';
import { AgentError, type AgentErrorCode } from './errors.js';
import type { GatewayClient, GatewayItem } from './gateway-client.js';
import type { ChatTurn, LlmClient } from './llm/types.js';
import { type AgentMessage, decodeAgentMessage, encodeAgentMessage, isReply, newMessageId } from './messages.js';

export interface AgentDeps {
  config: AgentConfig;
  gateway: GatewayClient;
  llm: LlmClient;
  /** Log lines (no message content); default: none. */
  log?: (event: string, fields: Record<string, unknown>) => void;
}

interface PendingAsk {
  peer: string;
  resolve: (m: AgentMessage) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export interface AgentStats {
  answered: number;
  rejected: number;
  llmFailures: number;
  /** Questions this agent asked the peer while answering one of the peer's. */
  peerQuestions: number;
}

export class Agent {
  private readonly pending = new Map<string, PendingAsk>();
  private running = false;
  private loop: Promise<void> | undefined;
  private abort: AbortController | undefined;
  /** Requests waiting for an answer slot, in arrival order. */
  private readonly waiting: (() => void)[] = [];
  private active = 0;
  private readonly inFlight = new Set<Promise<void>>();
  readonly stats: AgentStats = { answered: 0, rejected: 0, llmFailures: 0, peerQuestions: 0 };

  constructor(private readonly deps: AgentDeps) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort?.abort();
    await this.loop;
    // Answers in flight may be waiting on our own questions: fail those first so they finish.
    this.rejectPending();
    this.waiting.splice(0);
    await Promise.allSettled([...this.inFlight]);
    this.rejectPending();
  }

  private rejectPending(): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new AgentError('AGENT_ERR_STOPPED'));
      this.pending.delete(id);
    }
  }

  /** Asks the peer's agent; resolves with its `answer` (or rejects with its `error`). */
  async ask(peer: string, text: string, opts: { kind?: 'ask' | 'task'; depth?: number } = {}): Promise<AgentMessage> {
    if (this.pending.size >= MAX_PENDING_ASKS) throw new AgentError('AGENT_ERR_TOO_MANY_ASKS');
    const id = newMessageId();
    const body = encodeAgentMessage({
      id,
      kind: opts.kind ?? 'ask',
      text,
      depth: opts.depth ?? 0,
      from: this.deps.config.name,
    });
    const answer = new Promise<AgentMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new AgentError('AGENT_ERR_ASK_TIMEOUT'));
      }, this.deps.config.askTimeoutMs);
      this.pending.set(id, { peer, resolve, reject, timer });
    });
    try {
      await this.deps.gateway.send(peer, body);
    } catch (err) {
      const p = this.pending.get(id);
      if (p) {
        clearTimeout(p.timer);
        this.pending.delete(id);
      }
      throw err;
    }
    this.log('asked', { peer, id });
    return answer;
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (this.running) {
      let items: GatewayItem[];
      try {
        items = await this.deps.gateway.read(this.deps.config.pollWaitMs, signal);
      } catch (err) {
        if (!this.running) return;
        this.log('read-failed', { error: err instanceof Error ? err.message : String(err) });
        await new Promise((r) => setTimeout(r, POLL_RETRY_MS));
        continue;
      }
      for (const item of items) if (item.type === 'message') this.onMessage(item);
    }
  }

  private onMessage(item: Extract<GatewayItem, { type: 'message' }>): void {
    let msg: AgentMessage;
    try {
      msg = decodeAgentMessage(item.body);
    } catch {
      // Not an agent message (or malformed): there is no id to reply to, so it is only counted.
      this.stats.rejected++;
      this.log('rejected', { from: item.from, reason: 'AGENT_ERR_BAD_MESSAGE' });
      return;
    }
    if (isReply(msg)) {
      this.onReply(item.from, msg);
      return;
    }
    if (msg.kind === 'note') return;
    if (this.active + this.waiting.length >= MAX_QUEUED_REQUESTS) {
      void this.replyError(item.from, msg.id, 'AGENT_ERR_BUSY');
      return;
    }
    // Several requests are answered at once (an answer may wait on the peer's agent, which may
    // be asking us in turn), bounded because the LLM is the scarce resource.
    const run = () => {
      this.active++;
      const task = this.answer(item.from, msg).finally(() => {
        this.active--;
        this.inFlight.delete(task);
        this.waiting.shift()?.();
      });
      this.inFlight.add(task);
    };
    if (this.active < MAX_CONCURRENT_ANSWERS) run();
    else this.waiting.push(run);
  }

  private onReply(from: string, msg: AgentMessage): void {
    const p = this.pending.get(msg.re!);
    // Only the peer we asked may answer our question.
    if (!p || p.peer !== from) {
      this.log('unmatched-reply', { from, re: msg.re });
      return;
    }
    clearTimeout(p.timer);
    this.pending.delete(msg.re!);
    if (msg.kind === 'error') p.reject(new AgentError('AGENT_ERR_PEER_ERROR', `${msg.code}: ${msg.text}`));
    else p.resolve(msg);
  }

  private async answer(peer: string, msg: AgentMessage): Promise<void> {
    const { config } = this.deps;
    let text: string;
    try {
      text = await this.think(peer, msg);
    } catch (err) {
      this.stats.llmFailures++;
      const code = err instanceof AgentError ? err.code : 'AGENT_ERR_LLM_FAILED';
      await this.replyError(peer, msg.id, code);
      return;
    }
    const reply = encodeAgentMessage({
      kind: msg.kind === 'task' ? 'result' : 'answer',
      re: msg.id,
      text: text.slice(0, MAX_AGENT_TEXT_CHARS),
      from: config.name,
    });
    try {
      await this.deps.gateway.send(peer, reply);
      this.stats.answered++;
      this.log('answered', { peer, re: msg.id });
    } catch (err) {
      this.log('reply-failed', { peer, re: msg.id, error: err instanceof Error ? err.message : String(err) });
    }
  }

  /**
   * Runs the LLM on a request. When the LLM answers with an ASK_PEER: line, the question goes
   * to the peer's agent (one level deeper) and its answer back to the LLM, a bounded number of
   * times; then the LLM's reply is the answer.
   */
  private async think(peer: string, msg: AgentMessage): Promise<string> {
    const { config, llm } = this.deps;
    const turns: ChatTurn[] = [{ role: 'user', content: msg.text }];
    for (let round = 0; ; round++) {
      const text = await llm.complete({ system: config.systemPrompt, maxTokens: config.maxTokens, messages: turns });
      const line = text.trim();
      const depth = (msg.depth ?? 0) + 1;
      if (!line.startsWith(ASK_PEER_PREFIX) || round >= MAX_PEER_QUESTIONS_PER_ANSWER || depth > MAX_AGENT_DEPTH) {
        return text;
      }
      const question = line.slice(ASK_PEER_PREFIX.length).trim().slice(0, MAX_AGENT_TEXT_CHARS);
      this.stats.peerQuestions++;
      let reply: string;
      try {
        reply = (await this.ask(peer, question, { depth })).text;
      } catch (err) {
        reply = `(the peer's agent could not answer: ${err instanceof AgentError ? err.code : 'error'})`;
      }
      turns.push(
        { role: 'assistant', content: line },
        { role: 'user', content: `The peer's agent answered: ${reply}` },
      );
    }
  }

  private async replyError(peer: string, re: string, code: AgentErrorCode): Promise<void> {
    try {
      await this.deps.gateway.send(
        peer,
        encodeAgentMessage({ kind: 'error', re, code, text: code, from: this.deps.config.name }),
      );
    } catch {
      // The gateway refused even the error reply (e.g. scope revoked): nothing more to do.
    }
  }

  private log(event: string, fields: Record<string, unknown>): void {
    this.deps.log?.(event, fields);
  }
}
