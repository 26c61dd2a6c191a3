import type { Readable } from 'node:stream';
import { PROMPT_MAX_LINE_BYTES, PROMPT_MAX_QUEUED_LINES } from '../constants.js';
import { readLines } from '../extension/line-reader.js';

/**
 * Questions asked one at a time on a terminal or a pipe: each `ask` waits for its own line.
 * When input ends, pending and later questions are answered with the empty string (= no).
 */
export class Prompter {
  readonly #lines: string[] = [];
  readonly #waiters: Array<(line: string) => void> = [];
  #ended = false;
  #chain: Promise<unknown> = Promise.resolve();
  #asking = 0;

  /** `onIdleLine` gets lines typed while no question is waiting (e.g. messages to send). */
  constructor(
    input: Readable,
    private readonly write: (text: string) => void,
    private readonly onIdleLine?: (line: string) => void,
  ) {
    readLines(input, PROMPT_MAX_LINE_BYTES, {
      onLine: (line) => {
        const w = this.#waiters.shift();
        if (w) w(line);
        else if (this.onIdleLine && this.#asking === 0) this.onIdleLine(line);
        else if (this.#lines.length < PROMPT_MAX_QUEUED_LINES) this.#lines.push(line);
      },
      onOversize: () => {},
      onEnd: () => {
        this.#ended = true;
        for (const w of this.#waiters.splice(0)) w('');
      },
    });
  }

  #nextLine(): Promise<string> {
    const line = this.#lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.#ended) return Promise.resolve('');
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Ask a yes/no question; resolves true only for y/yes. Questions queue in order. */
  confirm(question: string): Promise<boolean> {
    this.#asking++;
    const p = this.#chain.then(async () => {
      this.write(`${question} [y/N] `);
      try {
        const answer = (await this.#nextLine()).trim().toLowerCase();
        return answer === 'y' || answer === 'yes';
      } finally {
        this.#asking--;
      }
    });
    this.#chain = p.catch(() => undefined);
    return p;
  }
}
