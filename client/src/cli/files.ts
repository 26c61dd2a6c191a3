/**
 * Files from the command line: `p2p-comm send <peer> --file PATH` (any size; a progress bar on
 * a terminal, plain lines otherwise) and `p2p-comm files` (list / accept / decline / cancel).
 * Like `send`, both hand their work to a running `p2p-comm listen` when it holds the home.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ClientError } from '../errors.js';
import { FILE_MAX_BYTES } from '../files/constants.js';
import { formatBytes, ProgressReporter } from '../files/progress.js';
import type { P2PClient } from '../sdk/client.js';
import { parse, parseDuration } from './args.js';
import { type CliContext, withClient } from './commands.js';
import { isHomeLocked, viaListener } from './via-listener.js';

/** How long the listen process may take to hash a file before it answers `files.send`, ms. */
const CONTROL_FILE_SEND_TIMEOUT_MS = 600_000;

type Values = ReturnType<typeof parse>['values'];

/** The file to send: absolute, a regular file, not over FILE_MAX_BYTES; checked before any network. */
export async function checkSendable(path: string): Promise<{ path: string; size: number }> {
  const abs = resolve(path);
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(abs);
  } catch (err) {
    throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', `--file ${path}: ${(err as Error).message}`);
  }
  if (!st.isFile()) throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', `--file ${path}: not a regular file`);
  if (st.size > FILE_MAX_BYTES)
    throw new ClientError('CLIENT_ERR_FILE_TOO_LARGE', `${path}: ${st.size} bytes`, { limit: FILE_MAX_BYTES });
  return { path: abs, size: st.size };
}

interface Outcome {
  ok: boolean;
  code?: string;
  message?: string;
  interrupted?: boolean;
}

/**
 * Follows one transfer's events (from the client or the control socket) to its end, drawing
 * progress. Events may arrive before `follow` is called (a small file ends quickly): they are
 * kept until then.
 */
class TransferWatch {
  #id: string | null = null;
  #early: Array<[string, Record<string, unknown>]> = [];
  #reporter: ProgressReporter | null = null;
  #resolve: ((o: Outcome) => void) | null = null;
  #total = 0;

  constructor(
    private readonly ctx: CliContext,
    private readonly json: boolean,
  ) {}

  event(method: string, p: Record<string, unknown>): void {
    if (this.#id === null) {
      // Only the events of the transfer we start are kept: at most a handful before its id is known.
      if (this.#early.length < 64) this.#early.push([method, p]);
      return;
    }
    if (p.id !== this.#id) return;
    if (this.json) {
      if (method !== 'file.progress') this.ctx.out(`${JSON.stringify({ event: method, ...p })}\n`);
    }
    if (method === 'file.accepted' && !this.json) this.ctx.err('Accepted; sending…\n');
    if (method === 'file.progress' && typeof p.bytes === 'number') this.#reporter?.update(p.bytes);
    if (method === 'file.done') this.#end({ ok: true });
    if (method === 'file.failed')
      this.#end({ ok: false, code: String(p.code ?? ''), message: String(p.message ?? '') });
  }

  follow(id: string, name: string, size: number, interrupted: Promise<void>): Promise<Outcome> {
    this.#id = id;
    this.#total = size;
    if (!this.json)
      this.#reporter = new ProgressReporter({
        name,
        total: size,
        write: (s) => this.ctx.err(s),
        tty: this.ctx.stderrIsTerminal === true,
        columns: this.ctx.columns ?? 80,
      });
    return new Promise((resolve) => {
      this.#resolve = resolve;
      void interrupted.then(() => this.#end({ ok: false, interrupted: true }));
      for (const [m, p] of this.#early.splice(0)) this.event(m, p);
    });
  }

  #end(o: Outcome): void {
    if (!this.#resolve) return;
    if (o.ok) {
      // DONE may overtake the last credit: the file is whole, so the bar ends at 100 %.
      this.#reporter?.update(this.#total);
      this.#reporter?.finish();
    } else if (this.ctx.stderrIsTerminal) this.ctx.err('\n');
    const r = this.#resolve;
    this.#resolve = null;
    r(o);
  }
}

const FILE_EVENTS = ['file.accepted', 'file.progress', 'file.done', 'file.failed'] as const;

function subscribe(client: P2PClient, watch: TransferWatch): void {
  for (const ev of FILE_EVENTS)
    (client.on as (e: string, h: (p: Record<string, unknown>) => void) => P2PClient)(ev, (p) => watch.event(ev, p));
}

/** `p2p-comm send <peer> --file PATH [--note TEXT]`. Exit 0 landed, 3 declined, 4 interrupted, 1 failed. */
export async function cmdSendFile(ctx: CliContext, values: Values, peer: string, file: string): Promise<void> {
  const { path, size } = await checkSendable(file);
  const json = values.json === true;
  const note = values.note as string | undefined;
  const watch = new TransferWatch(ctx, json);
  const report = (sent: { id: string; name: string }, o: Outcome) => {
    const result = { id: sent.id, to: peer, name: sent.name, size, done: o.ok, ...(o.code ? { code: o.code } : {}) };
    if (o.ok) {
      if (json) ctx.out(`${JSON.stringify(result)}\n`);
      else ctx.out(`Sent ${sent.name} (${formatBytes(size)}) to ${peer}; their hash check passed.\n`);
      return;
    }
    if (json) ctx.out(`${JSON.stringify({ ...result, interrupted: o.interrupted === true })}\n`);
    else if (o.interrupted)
      ctx.out(
        `Interrupted: the transfer resumes the next time p2p-comm runs here (p2p-comm files cancel ${sent.id} to drop it).\n`,
      );
    else ctx.out(`Not sent: ${o.message || o.code}.\n`);
    process.exitCode = o.interrupted ? 4 : o.code === 'CLIENT_ERR_FILE_DECLINED' ? 3 : 1;
  };
  const offered = (name: string) => {
    if (!json) ctx.err(`Offered ${name} (${formatBytes(size)}) to ${peer}; waiting for them to accept…\n`);
  };
  try {
    await withClient(ctx, values, async (client) => {
      subscribe(client, watch);
      await client.waitForServer();
      const sent = await client.sendFile(peer, path, note !== undefined ? { note } : {});
      offered(sent.name);
      report(sent, await watch.follow(sent.id, sent.name, size, ctx.interrupted));
    });
  } catch (err) {
    if (!isHomeLocked(err)) throw err;
    await viaListener(ctx.home, err, 'stop it (Ctrl-C) and send the file again', async (control) => {
      control.onNotification((method, params) => watch.event(method, (params ?? {}) as Record<string, unknown>));
      const sent = (await control.call(
        'files.send',
        { peer, path, ...(note !== undefined ? { note } : {}) },
        CONTROL_FILE_SEND_TIMEOUT_MS,
      )) as { id: string; name: string };
      if (!json) ctx.err('(sent through the running p2p-comm listen)\n');
      offered(sent.name);
      report(sent, await watch.follow(sent.id, sent.name, size, ctx.interrupted));
    });
  }
}

interface Listed {
  incoming: Array<{ id: string; peer: string; name: string; size: number; bytes: number; state: string }>;
  outgoing: Array<{ id: string; peer: string; name: string; total: number; bytes: number; state: string }>;
}

function humanList(l: Listed): string {
  const rows = [
    ...l.incoming.map(
      (t) => `in   ${t.state.padEnd(9)} ${t.id}  ${t.name}  ${formatBytes(t.bytes)}/${formatBytes(t.size)}`,
    ),
    ...l.outgoing.map(
      (t) => `out  ${t.state.padEnd(9)} ${t.id}  ${t.name}  ${formatBytes(t.bytes)}/${formatBytes(t.total)}`,
    ),
  ];
  return rows.length === 0 ? 'No file transfers.' : rows.join('\n');
}

const FILES_USAGE = 'usage: p2p-comm files [list] | accept <id> | decline <id> | cancel <id>';

/**
 * `p2p-comm files`: list, accept, decline, cancel. An offer waits in the process that holds the
 * home (listen, through its control socket). Without one, `accept`/`decline` start a client
 * and answer the offer when the sender re-sends it (within --wait, default 60 s), and `accept`
 * then follows the transfer to its end.
 */
export async function cmdFiles(ctx: CliContext, args: string[]): Promise<void> {
  // `files` and `files --json` are `files list`.
  const [sub, ...rest] = args[0] === undefined || args[0].startsWith('-') ? ['list', ...args] : args;
  const { values, positionals } = parse(rest, { wait: { type: 'string' } });
  const json = values.json === true;
  const id = positionals[0];
  if (!sub || !['list', 'accept', 'decline', 'cancel'].includes(sub) || (sub !== 'list' && !id))
    throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', FILES_USAGE);
  const say = (value: unknown, human: string) => ctx.out(json ? `${JSON.stringify(value)}\n` : `${human}\n`);
  const run = async (call: (method: string, params: Record<string, unknown>) => Promise<unknown>) => {
    if (sub === 'list') {
      const l = (await call('files.list', {})) as Listed;
      say(l, humanList(l));
    } else if (sub === 'cancel') say(await call('files.cancel', { id }), `Cancelled ${id}.`);
    else {
      const accept = sub === 'accept';
      say(await call('files.respond', { id, accept }), accept ? `Accepted ${id}.` : `Declined ${id}.`);
    }
  };
  try {
    await withClient(
      ctx,
      values,
      async (client) => {
        if (sub === 'accept' || sub === 'decline') return answerHere(ctx, client, id!, sub === 'accept', values);
        const { METHODS } = await import('../extension/methods.js');
        await run(async (method, params) => METHODS[method]!(client, params));
      },
      { needServer: sub === 'accept' || sub === 'decline' },
    );
  } catch (err) {
    if (!isHomeLocked(err)) throw err;
    await viaListener(ctx.home, err, `answer in its window, or stop it and run p2p-comm files ${sub} again`, (c) =>
      run((method, params) => c.call(method, params)),
    );
  }
}

/** No listen holds the home: wait for the sender's next offer of `id`, answer it, follow it. */
async function answerHere(ctx: CliContext, client: P2PClient, id: string, accept: boolean, values: Values) {
  const json = values.json === true;
  const waitMs = parseDuration((values.wait as string | undefined) ?? '60s');
  await client.waitForServer();
  const offer = await new Promise<{ name: string; size: number } | null>((resolve) => {
    const t = setTimeout(() => resolve(null), waitMs);
    client.on('file.offer', (o) => {
      if (o.id !== id) return;
      clearTimeout(t);
      resolve(o);
    });
    void ctx.interrupted.then(() => resolve(null));
  });
  if (!offer) throw new ClientError('CLIENT_ERR_FILE_UNKNOWN_TRANSFER', `${id}: no such offer arrived in ${waitMs} ms`);
  client.files.respond(id, accept);
  if (!accept) {
    ctx.out(json ? `${JSON.stringify({ id, accepted: false })}\n` : `Declined ${offer.name}.\n`);
    return;
  }
  const watch = new TransferWatch(ctx, json);
  subscribe(client, watch);
  const o = await watch.follow(id, offer.name, offer.size, ctx.interrupted);
  if (!o.ok) process.exitCode = o.interrupted ? 4 : 1;
  if (!json) ctx.out(o.ok ? `Received ${offer.name}.\n` : `Not received: ${o.message || o.code}.\n`);
}
