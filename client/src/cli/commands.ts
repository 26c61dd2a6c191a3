import { decodeKey, formatFingerprint, mintInviteToken, readInviteClaims } from '@p2p-comm/protocol';
import { ClientError } from '../errors.js';
import { serveExtension } from '../extension/extension.js';
import { MAX_LONG_MESSAGE_BYTES } from '../files/long-message.js';
import { createClient, type P2PClient } from '../sdk/client.js';
import { displayLabel } from '../store/display-name.js';
import { IdentityStore } from '../store/identity-store.js';
import { storePaths } from '../store/paths.js';
import { TrustStore } from '../store/trust-store.js';
import { normalizeServerUrl } from '../transports/rendezvous-connection.js';
import { parse, parseDuration } from './args.js';
import { cmdSendFile } from './files.js';
import { renderQr } from './qr.js';
import { isHomeLocked, viaListener } from './via-listener.js';

/** What a command may touch: its environment and stdio, injected so tests drive it. */
export interface CliContext {
  env: Readonly<Record<string, string | undefined>>;
  home: string;
  stdin: NodeJS.ReadableStream & import('node:stream').Readable;
  out: (text: string) => void;
  err: (text: string) => void;
  /** Resolves when the user interrupts (SIGINT/SIGTERM). */
  interrupted: Promise<void>;
  /** stdout is a terminal (colours allowed). */
  isTerminal?: boolean;
  /** stderr is a terminal: file progress is a bar redrawn in place, else plain lines. */
  stderrIsTerminal?: boolean;
  /** Width of that terminal, columns. */
  columns?: number;
}

type Parsed = ReturnType<typeof parse>;

/** Flags that choose the paths beyond the relay, for the long-running commands. */
export const PATH_OPTIONS = {
  listen: { type: 'string' },
  mdns: { type: 'boolean' },
  'no-webrtc': { type: 'boolean' },
} as const;

/**
 * Paths from flags or env: `--listen ip:port` / P2P_COMM_LISTEN (direct listener, off by
 * default), `--mdns` / P2P_COMM_MDNS=1 (LAN discovery, needs a listener), `--no-webrtc` /
 * P2P_COMM_WEBRTC=0, P2P_COMM_ALLOW_LOOPBACK=1 (dial loopback addresses peers hand us).
 */
export function pathsOf(ctx: CliContext, values: Parsed['values']): Record<string, unknown> {
  const listen = (values.listen as string | undefined) ?? ctx.env.P2P_COMM_LISTEN;
  const paths: Record<string, unknown> = {};
  if (listen) {
    const m = /^(.+):(\d{1,5})$/.exec(listen);
    if (!m) throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', `--listen ${JSON.stringify(listen)}: use ip:port`);
    paths.listen = { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
  }
  if (values.mdns === true || ctx.env.P2P_COMM_MDNS === '1') paths.mdns = true;
  if (values['no-webrtc'] === true || ctx.env.P2P_COMM_WEBRTC === '0') paths.webrtc = false;
  // Labs with several extensions on one host only: peers may then hand us loopback addresses.
  if (ctx.env.P2P_COMM_ALLOW_LOOPBACK === '1') paths.allowLoopbackAddresses = true;
  return paths;
}

/** P2P_COMM_INBOX: where received files land instead of $NEXUS_HOME/inbox (validated by the client config). */
export function inboxOf(ctx: CliContext): { filesInbox?: string } {
  const dir = ctx.env.P2P_COMM_INBOX;
  return dir ? { filesInbox: dir } : {};
}

/**
 * P2P_COMM_MAX_LONG_MESSAGE_BYTES: the client's maxLongMessageBytes (validated by the client
 * config: an integer from MAX_MESSAGE_BYTES to LONG_MESSAGE_CEILING_BYTES, else CLIENT_ERR_CONFIG).
 */
export function longMessageOf(ctx: CliContext): { maxLongMessageBytes?: number } {
  const v = ctx.env.P2P_COMM_MAX_LONG_MESSAGE_BYTES;
  return v ? { maxLongMessageBytes: /^\d+$/.test(v) ? Number(v) : Number.NaN } : {};
}

/** Shortest and longest P2P_COMM_MAILBOX_TTL (ms): the SDK's mailboxTtlMs range (sdk/config.ts). */
const MAILBOX_TTL_MIN_MS = 1_000;
const MAILBOX_TTL_MAX_MS = 365 * 86_400_000;

/**
 * P2P_COMM_MAILBOX_TTL: how long the server keeps the messages we send while their recipient is
 * offline (duration text: 3d, 12h, 3600s, …; the SDK's mailboxTtlMs, which the server clamps to
 * its own MAILBOX_TTL_S). Unset: the server's TTL. Anything else than a duration from 1s to 365d is
 * refused before the client starts (CLIENT_ERR_CONFIG naming the variable).
 */
export function mailboxTtlOf(ctx: Pick<CliContext, 'env'>): { mailboxTtlMs?: number } {
  const text = ctx.env.P2P_COMM_MAILBOX_TTL;
  if (text === undefined || text.trim() === '') return {};
  const bad = () =>
    new ClientError(
      'CLIENT_ERR_CONFIG',
      `P2P_COMM_MAILBOX_TTL=${JSON.stringify(text)}: use a duration from 1s to 365d, like 3d, 12h or 3600s`,
    );
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch {
    throw bad();
  }
  if (!Number.isSafeInteger(ms) || ms < MAILBOX_TTL_MIN_MS || ms > MAILBOX_TTL_MAX_MS) throw bad();
  return { mailboxTtlMs: ms };
}

export function serverOf(ctx: CliContext, values: Parsed['values']): string | undefined {
  return (values.server as string | undefined) ?? ctx.env.P2P_COMM_SERVER ?? undefined;
}

function print(ctx: CliContext, json: boolean, value: unknown, human: string): void {
  ctx.out(json ? `${JSON.stringify(value)}\n` : `${human}\n`);
}

export async function withClient<T>(
  ctx: CliContext,
  values: Parsed['values'],
  fn: (client: P2PClient) => Promise<T>,
  opts: { needServer?: boolean } = {},
): Promise<T> {
  const server = serverOf(ctx, values);
  if (opts.needServer !== false && !server)
    throw new ClientError('CLIENT_ERR_NO_SERVER', 'pass --server ws://host:port or set P2P_COMM_SERVER');
  const client = createClient({
    home: ctx.home,
    ...inboxOf(ctx),
    ...longMessageOf(ctx),
    ...mailboxTtlOf(ctx),
    ...(server ? { server } : {}),
    ...(((values.token as string | undefined) ?? ctx.env.P2P_COMM_TOKEN)
      ? { token: (values.token as string | undefined) ?? ctx.env.P2P_COMM_TOKEN }
      : {}),
  });
  // Only trouble is worth a line: the normal connect/stop sequence is silent. Before the first
  // connection, waitForServer reports the failure itself (CLIENT_ERR_SERVER_UNREACHABLE), once.
  let connectedOnce = false;
  client.on('server.status', ({ state, detail }) => {
    if (state === 'connected') connectedOnce = true;
    if ((state === 'reconnecting' && connectedOnce) || state === 'replaced')
      ctx.err(`rendezvous ${state}: ${detail}\n`);
  });
  await client.start();
  try {
    return await fn(client);
  } finally {
    await client.stop();
  }
}

export async function cmdInit(ctx: CliContext, args: string[]): Promise<void> {
  const { values } = parse(args, { name: { type: 'string' } });
  const store = new IdentityStore(storePaths(ctx.home));
  const existed = store.load() !== null;
  const local = store.loadOrCreate();
  const name = values.name !== undefined ? store.setName(values.name as string) : local.name;
  if (!name)
    throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', 'give a display name: p2p-comm init --name "Your Name"');
  const info = identityInfo(ctx, values, local.identity.publicKey, name);
  print(
    ctx,
    values.json === true,
    { ...info, created: !existed },
    `${existed ? 'Identity kept' : 'Identity created'} in ${storePaths(ctx.home).identityDir}\n${humanId(info)}`,
  );
}

function identityInfo(ctx: CliContext, values: Parsed['values'], publicKey: Uint8Array, name: string) {
  const server = serverOf(ctx, values);
  const address = server ? normalizeServerUrl(server).host : undefined;
  const key = Buffer.from(publicKey).toString('base64url');
  const share = `p2p-comm://${key}${address ? `@${address}` : ''}${name ? `?name=${encodeURIComponent(name)}` : ''}`;
  return { key, fingerprint: formatFingerprint(publicKey), name, share };
}

function humanId(info: { key: string; fingerprint: string; name: string; share: string }): string {
  return `Name:        ${info.name || '(not set)'}\nFingerprint: ${info.fingerprint}\nKey:         ${info.key}\nShare:       ${info.share}`;
}

export async function cmdId(ctx: CliContext, args: string[]): Promise<void> {
  const { values } = parse(args, { qr: { type: 'boolean' } });
  const store = new IdentityStore(storePaths(ctx.home));
  const local = store.loadOrCreate();
  const info = identityInfo(ctx, values, local.identity.publicKey, local.name);
  if (values.qr === true && values.json !== true) {
    // The code first, then the text to compare against what the other phone or camera read.
    ctx.out(`${renderQr(info.share, { ansi: ctx.isTerminal === true })}\n\n${humanId(info)}\n`);
    return;
  }
  print(ctx, values.json === true, values.qr === true ? { ...info, qr: renderQr(info.share) } : info, humanId(info));
}

export async function cmdConnect(ctx: CliContext, args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { wait: { type: 'string' }, 'accept-changed-key': { type: 'boolean' } });
  const share = positionals[0];
  if (!share) throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', 'usage: p2p-comm connect <share string or key>');
  const waitMs = parseDuration((values.wait as string | undefined) ?? '120s');
  await withClient(ctx, values, async (client) => {
    await client.waitForServer();
    const info = client.connect(share, { acceptChangedKey: values['accept-changed-key'] === true });
    if (info.state === 'trusted') {
      print(ctx, values.json === true, info, `Already connected to ${info.name || info.key} (${info.fingerprint})`);
      return;
    }
    if (values.json !== true)
      ctx.err(`Asked ${info.name || info.key} (${info.fingerprint}) to connect; waiting for them to accept…\n`);
    const outcome = await new Promise<string>((resolve) => {
      const t = setTimeout(() => resolve('timeout'), waitMs);
      client.on('peer.status', (s) => {
        if (s.key !== info.key) return;
        if (s.state === 'trusted' || s.state === 'denied' || s.state === 'revoked-by-peer') {
          clearTimeout(t);
          resolve(s.state);
        }
      });
      void ctx.interrupted.then(() => resolve('interrupted'));
    });
    const final = client.session.peerInfo(info.key);
    const result = { ...final, outcome };
    if (outcome === 'trusted')
      print(ctx, values.json === true, result, `Connected: ${final.name || final.key} accepted.`);
    else if (outcome === 'denied' || outcome === 'revoked-by-peer') {
      print(
        ctx,
        values.json === true,
        result,
        outcome === 'denied'
          ? `${info.name || info.key} declined your request.`
          : `${info.name || info.key} revoked the connection.`,
      );
      process.exitCode = 3;
    } else {
      print(
        ctx,
        values.json === true,
        result,
        'No answer yet; the request stays pending (run `p2p-comm listen` to see it arrive).',
      );
      process.exitCode = 4;
    }
  });
}

export async function cmdTrust(ctx: CliContext, args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const { values, positionals } = parse(rest, {});
  if (sub === 'list' || sub === undefined) {
    const trust = new TrustStore(storePaths(ctx.home));
    const all = trust.list();
    // Names that look alike are shown with a fingerprint suffix, as everywhere else.
    const peers = all.map((p) => ({ ...p, name: displayLabel(p, all) }));
    const human =
      peers.length === 0
        ? 'No peers yet.'
        : peers
            .map(
              (p) =>
                `${(p.name || '(no name)').padEnd(20)} ${p.state.padEnd(16)} ${p.fingerprint}\n${' '.repeat(21)}${p.key}`,
            )
            .join('\n');
    print(ctx, values.json === true, { peers }, human);
    return;
  }
  if (sub === 'revoke') {
    const peer = positionals[0];
    if (!peer) throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', 'usage: p2p-comm trust revoke <peer>');
    const hasServer = serverOf(ctx, values) !== undefined;
    const revoked = (info: { name: string; key: string }) =>
      print(
        ctx,
        values.json === true,
        info,
        `Revoked ${info.name || info.key}: nothing flows until you connect again.`,
      );
    try {
      await withClient(
        ctx,
        values,
        async (client) => {
          if (hasServer) await client.waitForServer(5_000).catch(() => undefined);
          const info = client.revoke(peer);
          // Give the revoke notice a moment to leave; the peer is refused either way.
          if (hasServer) await new Promise((r) => setTimeout(r, 200));
          revoked(info);
        },
        { needServer: false },
      );
    } catch (err) {
      if (!isHomeLocked(err)) throw err;
      await viaListener(
        ctx.home,
        err,
        `stop that process (Ctrl-C in its window) and run \`p2p-comm trust revoke ${peer}\` again`,
        async (control) => {
          const info = (await control.call('peers.revoke', { peer })) as { name: string; key: string };
          if (values.json !== true) ctx.err('(done by the running p2p-comm listen)\n');
          revoked(info);
        },
      );
    }
    return;
  }
  if (sub === 'rename') {
    const [peer, ...words] = positionals;
    if (!peer || words.length === 0)
      throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', 'usage: p2p-comm trust rename <peer> <new name>');
    await withClient(
      ctx,
      values,
      async (client) => {
        const info = client.renamePeer(peer, words.join(' '));
        print(ctx, values.json === true, info, `${info.key} is now shown as ${info.name}.`);
      },
      { needServer: false },
    );
    return;
  }
  throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', 'usage: p2p-comm trust list|revoke <peer>|rename <peer> <name>');
}

/** All of `stream` as UTF-8, refused once it passes MAX_LONG_MESSAGE_BYTES (never held beyond it). */
async function readTextFrom(stream: NodeJS.ReadableStream, max: number): Promise<string> {
  const parts: Buffer[] = [];
  let bytes = 0;
  for await (const piece of stream) {
    const b = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : (piece as Buffer);
    bytes += b.length;
    if (bytes > max)
      throw new ClientError('CLIENT_ERR_MESSAGE_TOO_LARGE', `over ${max} bytes on stdin`, { limit: max });
    parts.push(b);
  }
  return Buffer.concat(parts).toString('utf8');
}

export async function cmdSend(ctx: CliContext, args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    file: { type: 'string' },
    note: { type: 'string' },
    wait: { type: 'string' },
  });
  const [peer, ...words] = positionals;
  if (!peer || (words.length === 0) === (values.file === undefined))
    throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', 'usage: p2p-comm send <peer> <text…> | --file <path>');
  // A file of any size goes as a transfer (offer → their consent → stream), not as a message.
  if (values.file !== undefined) return cmdSendFile(ctx, values, peer, values.file as string);
  // "-" alone: the text comes from stdin (a long one does not fit in argv), read up to the maximum.
  const fromStdin = words.length === 1 && words[0] === '-';
  const max = longMessageOf(ctx).maxLongMessageBytes ?? MAX_LONG_MESSAGE_BYTES;
  const body: { text: string } = { text: fromStdin ? await readTextFrom(ctx.stdin, max) : words.join(' ') };
  const waitMs = parseDuration((values.wait as string | undefined) ?? '30s');
  const bytes = Buffer.byteLength(body.text, 'utf8');
  // Over one packet it goes as a long message (files/long-message.ts); refused only above that.
  if (bytes > max)
    throw new ClientError('CLIENT_ERR_MESSAGE_TOO_LARGE', `${bytes} > ${max} bytes`, {
      limit: max,
    });
  const report = (sent: { id: string }, ok: boolean, stillQueued: string) => {
    const result = { ...sent, delivered: ok };
    if (ok) print(ctx, values.json === true, result, `Delivered to ${peer}.`);
    else {
      print(ctx, values.json === true, result, `Not acknowledged yet; it stays in the outbox and ${stillQueued}.`);
      process.exitCode = 4;
    }
  };
  try {
    await withClient(ctx, values, async (client) => {
      const settled = new DeliveryWatch();
      client.on('message.delivered', (d) => settled.settle(d.id, true));
      client.on('message.failed', (f) => settled.settle(f.id, false));
      await client.waitForServer();
      const sent = client.send(peer, body);
      report(sent, await settled.wait(sent.id, waitMs, ctx.interrupted), 'is resent the next time p2p-comm runs');
    });
  } catch (err) {
    if (!isHomeLocked(err)) throw err;
    await viaListener(
      ctx.home,
      err,
      `type "${peer}: <message>" in its listen window, or stop it (Ctrl-C) and send again`,
      async (control) => {
        const settled = new DeliveryWatch();
        control.onNotification((method, params) => {
          const id = (params as { id?: unknown } | null)?.id;
          if (typeof id === 'string' && (method === 'message.delivered' || method === 'message.failed'))
            settled.settle(id, method === 'message.delivered');
        });
        const params = { peer, text: body.text };
        const sent = (await control.call('messages.send', params)) as { id: string; seq: number; to: string };
        if (values.json !== true) ctx.err('(sent through the running p2p-comm listen)\n');
        report(sent, await settled.wait(sent.id, waitMs, ctx.interrupted), 'the running listen keeps resending it');
      },
    );
  }
}

/**
 * Outcomes of sent messages, kept until someone waits for them: an ack may arrive before
 * `wait` is called. A send command waits for one message, so the map holds a handful at most.
 */
class DeliveryWatch {
  readonly #outcomes = new Map<string, boolean>();
  readonly #waiters = new Map<string, (ok: boolean) => void>();

  settle(id: string, ok: boolean): void {
    const w = this.#waiters.get(id);
    if (w) w(ok);
    else if (this.#outcomes.size < DELIVERY_WATCH_MAX) this.#outcomes.set(id, ok);
  }

  /** True when `id` was acknowledged within `ms`; false when it failed, timed out or was interrupted. */
  wait(id: string, ms: number, interrupted: Promise<void>): Promise<boolean> {
    const known = this.#outcomes.get(id);
    if (known !== undefined) return Promise.resolve(known);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(t);
        this.#waiters.delete(id);
        resolve(ok);
      };
      const t = setTimeout(() => done(false), ms);
      this.#waiters.set(id, done);
      void interrupted.then(() => done(false));
    });
  }
}

/** Outcomes DeliveryWatch keeps for ids nobody waits for yet, entries (acks of earlier sends replayed at start). */
const DELIVERY_WATCH_MAX = 1_024;

export async function cmdServe(ctx: CliContext, args: string[]): Promise<void> {
  const { values } = parse(args, {
    port: { type: 'string' },
    host: { type: 'string' },
    'stun-port': { type: 'string' },
  });
  let mod: {
    loadConfig: (env: Record<string, string | undefined>) => unknown;
    startServer: (config: unknown) => Promise<{ close(): Promise<void>; port: number; stunPort?: number }>;
  };
  const name = '@p2p-comm/rendezvous';
  try {
    // No static import: the client must not depend on apps/ (optional peer dependency).
    mod = (await import(name)) as typeof mod;
  } catch (err) {
    throw new ClientError(
      'CLIENT_ERR_SERVE_UNAVAILABLE',
      `install it next to the client (npm install @p2p-comm/rendezvous): ${(err as Error).message}`,
    );
  }
  const env = {
    ...ctx.env,
    ...(values.port !== undefined ? { PORT: values.port as string } : {}),
    ...(values.host !== undefined ? { HOST: values.host as string } : {}),
    ...(values['stun-port'] !== undefined ? { STUN_PORT: values['stun-port'] as string } : {}),
  };
  let server: Awaited<ReturnType<typeof mod.startServer>>;
  try {
    server = await mod.startServer(mod.loadConfig(env));
  } catch (err) {
    // Config and port problems carry a stable RDV_ERR_* code and say what to set: one line.
    const code = (err as { code?: unknown })?.code;
    if (typeof code === 'string' && code.startsWith('RDV_ERR_'))
      throw new ClientError('CLIENT_ERR_CONFIG', `${code}: ${(err as Error).message}`, { serverCode: code });
    throw err;
  }
  const host = (values.host as string | undefined) ?? ctx.env.HOST ?? '127.0.0.1';
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  print(
    ctx,
    values.json === true,
    { url: `ws://${shown}:${server.port}`, port: server.port, stunPort: server.stunPort ?? null },
    `Rendezvous server listening on ws://${shown}:${server.port} (STUN udp ${server.stunPort ?? '-'}).\nPeers use: export P2P_COMM_SERVER=ws://${shown}:${server.port}`,
  );
  await ctx.interrupted;
  await server.close();
}

export async function cmdAdmin(ctx: CliContext, args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'invite')
    throw new ClientError(
      'CLIENT_ERR_INVALID_ARGUMENT',
      'usage: p2p-comm admin invite --secret-env VAR --ttl 7d [--key K] [--once]',
    );
  const { values } = parse(rest, {
    'secret-env': { type: 'string' },
    ttl: { type: 'string' },
    key: { type: 'string' },
    once: { type: 'boolean' },
  });
  const varName = (values['secret-env'] as string | undefined) ?? 'INVITE_SECRET';
  const secret = ctx.env[varName];
  if (!secret) throw new ClientError('CLIENT_ERR_CONFIG', `environment variable ${varName} is not set`);
  const ttlMs = parseDuration((values.ttl as string | undefined) ?? '7d');
  let key: Uint8Array | undefined;
  if (values.key !== undefined) {
    try {
      key = decodeKey(values.key);
    } catch {
      throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', '--key must be a 43-character base64url key');
    }
  }
  let token: string;
  try {
    token = mintInviteToken(secret, { ttlMs, ...(key ? { key } : {}), once: values.once === true });
  } catch (err) {
    throw new ClientError('CLIENT_ERR_CONFIG', (err as Error).message);
  }
  const expires = new Date(Date.now() + ttlMs).toISOString();
  const { id } = readInviteClaims(token);
  const once = values.once === true;
  // The id is what an operator lists in INVITE_REVOKED; stdout stays just the token for scripts.
  if (values.json !== true)
    ctx.err(`invite id ${id}${once ? ' (single use)' : ''}; revoke with INVITE_REVOKED=${id}\n`);
  print(ctx, values.json === true, { token, id, once, expires }, token);
}

export async function cmdExtension(ctx: CliContext, args: string[]): Promise<void> {
  const { values } = parse(args, { approve: { type: 'boolean' }, ...PATH_OPTIONS });
  const server = serverOf(ctx, values);
  const token = (values.token as string | undefined) ?? ctx.env.P2P_COMM_TOKEN;
  const client = createClient({
    home: ctx.home,
    ...inboxOf(ctx),
    ...longMessageOf(ctx),
    ...mailboxTtlOf(ctx),
    paths: pathsOf(ctx, values),
    ...(server ? { server } : {}),
    ...(token ? { token } : {}),
    requireApproval: values.approve === true || ctx.env.P2P_COMM_APPROVAL === 'always',
  });
  await client.start();
  // The host went away (EPIPE on stdout): nobody is listening, so stop cleanly.
  const hostGone = new Promise<void>((resolve) => process.stdout.once('error', () => resolve()));
  const done = serveExtension(client, {
    input: ctx.stdin,
    output: process.stdout,
    log: (line) => ctx.err(`${line}\n`),
  });
  await Promise.race([done, ctx.interrupted, hostGone]);
  await client.stop();
}
