/**
 * `p2p-comm listen`: print what arrives, ask the person about consent (and, with --approve,
 * about each message), send what they type as "<peer>: <text>", and take `send` / `trust
 * revoke` from other terminals over the home's control socket (extension/control-server.ts).
 * It keeps running when stdin is closed (nohup, systemd, `</dev/null &`) and through server
 * restarts, saying so on stderr.
 */
import { TRUST_MAX_PEERS } from '../constants.js';
import { ClientError, isClientError } from '../errors.js';
import { controlSocketPath } from '../extension/control-path.js';
import { type ControlServer, serveControl } from '../extension/control-server.js';
import { formatBytes } from '../files/progress.js';
import { createClient } from '../sdk/client.js';
import { storePaths } from '../store/paths.js';
import { TrustStore } from '../store/trust-store.js';
import { parse } from './args.js';
import { type CliContext, inboxOf, longMessageOf, mailboxTtlOf, PATH_OPTIONS, pathsOf, serverOf } from './commands.js';
import { IncomingProgress } from './listen-progress.js';
import { describeError } from './next-step.js';
import { Prompter } from './prompt.js';

/**
 * Peers whose last trust state listen remembers, entries: a state is printed when it changes,
 * not each time the session re-announces it (path changes repeat the current state). One per
 * known peer; the oldest is forgotten past the trust store's own bound.
 */
const LISTEN_KNOWN_STATES_MAX = TRUST_MAX_PEERS;
/** Messages typed in this window and not yet acknowledged, remembered to print "(delivered to …)", entries. */
const LISTEN_PENDING_SENDS_MAX = 4_096;

export async function cmdListen(ctx: CliContext, args: string[]): Promise<void> {
  const { values } = parse(args, { approve: { type: 'boolean' }, yes: { type: 'boolean' }, ...PATH_OPTIONS });
  const json = values.json === true;
  const server = serverOf(ctx, values);
  if (!server) throw new ClientError('CLIENT_ERR_NO_SERVER', 'pass --server ws://host:port or set P2P_COMM_SERVER');
  const token = (values.token as string | undefined) ?? ctx.env.P2P_COMM_TOKEN;
  const client = createClient({
    home: ctx.home,
    ...inboxOf(ctx),
    ...longMessageOf(ctx),
    ...mailboxTtlOf(ctx),
    server,
    ...(token ? { token } : {}),
    paths: pathsOf(ctx, values),
    requireApproval: values.approve === true,
  });
  const say = (line: string) => {
    if (!json) ctx.err(`${line}\n`);
  };
  const emit = (event: string, data: unknown, human: string) =>
    ctx.out(json ? `${JSON.stringify({ event, ...(data as object) })}\n` : `${human}\n`);

  const pendingSends = new Map<string, string>();
  // While no question is open, a typed line "<peer>: <text>" sends a message.
  const prompter = new Prompter(
    ctx.stdin,
    (q) => ctx.out(q),
    (line) => {
      const m = /^\s*([^:]{1,256}):\s?(.*)$/.exec(line);
      if (!m) {
        if (line.trim()) ctx.err('To send, type: <peer name or key>: <message>\n');
        return;
      }
      try {
        const sent = client.send(m[1]!.trim(), { text: m[2]! });
        if (pendingSends.size < LISTEN_PENDING_SENDS_MAX) pendingSends.set(sent.id, m[1]!.trim());
      } catch (err) {
        ctx.err(`${isClientError(err) ? describeError(err) : (err as Error).message}\n`);
      }
    },
  );
  ctx.stdin.once('end', () =>
    say(
      `stdin is closed: listening goes on in the background (stop it with kill ${process.pid}); ${
        values.yes === true ? 'new peers are accepted (--yes)' : 'connect requests are declined'
      }${values.approve === true ? ', messages waiting for approval are refused' : ''}. Other terminals can still run p2p-comm send and trust revoke.`,
    ),
  );

  client.on('server.status', ({ state, detail }) => {
    if (json) emit('server.status', { state, detail }, '');
    else if (state === 'connected') say('rendezvous connected');
    else if (state === 'reconnecting' || state === 'replaced')
      say(`rendezvous ${state}: ${detail}${state === 'reconnecting' ? ' (listen keeps retrying)' : ''}`);
  });

  // Our own refusals in flight (key → the name the request carried), at most one at a time:
  // the session reports the decline ('declined') for a peer it does not know by name.
  const localDeclines = new Map<string, string>();
  client.on('consent.request', async (r) => {
    emit(
      'consent.request',
      r,
      r.keyChanged
        ? `WARNING: "${r.name}" now has a DIFFERENT KEY.\n  before: ${r.keyChanged.previousFingerprint}\n  now:    ${r.fingerprint}`
        : `${r.name || 'Someone'} wants to connect. Fingerprint: ${r.fingerprint}`,
    );
    const accept =
      values.yes === true && !r.keyChanged
        ? true
        : await prompter.confirm(r.keyChanged ? 'Trust the new key?' : 'Accept?');
    if (!accept) localDeclines.set(r.key, r.name);
    try {
      const info = client.respondConsent(r.requestId, accept);
      // A decline is printed by the peer.status it causes ("You declined …").
      if (json || accept) emit('consent.answered', { key: r.key, accept }, `Connected to ${info.name || info.key}.`);
    } catch (err) {
      ctx.err(`${(err as Error).message}\n`);
    } finally {
      localDeclines.delete(r.key);
    }
  });
  client.on('name.change', async (c) => {
    emit('name.change', c, `${c.name || 'A peer'} (${c.fingerprint}) asks to be shown as "${c.proposedName}".`);
    const accept = await prompter.confirm('Rename?');
    try {
      const info = client.respondNameChange(c.requestId, accept);
      emit('name.answered', { key: c.key, accept }, accept ? `Now shown as ${info.name}.` : 'Name kept.');
    } catch (err) {
      ctx.err(`${(err as Error).message}\n`);
    }
  });
  client.on('approval.request', async (a) => {
    emit(
      'approval.request',
      a,
      // The whole text, not the preview: the person deciding must see what they let through.
      `${a.name} (${a.fingerprint}) wants to send you ${a.enc === 'text' ? `"${a.text ?? a.preview}"` : `${a.bytes} bytes of binary data`}.`,
    );
    const allow = await prompter.confirm('Allow?');
    try {
      client.respondApproval(a.approvalId, allow);
    } catch (err) {
      ctx.err(`${(err as Error).message}\n`);
    }
  });
  client.on('file.offer', async (o) => {
    emit(
      'file.offer',
      o,
      `${o.from || o.peer} (${o.fingerprint}) offers a file: ${o.name} (${formatBytes(o.size)}, ${o.mediaType}, sha256 ${o.sha256})${o.note ? ` — "${o.note}"` : ''}${o.offeredName !== o.name ? ` [offered as ${JSON.stringify(o.offeredName)}]` : ''}`,
    );
    const accept = values.yes === true ? true : await prompter.confirm('Accept the file?');
    try {
      client.files.respond(o.id, accept);
      if (json) emit('file.answered', { id: o.id, accept }, '');
      else if (!accept) ctx.out(`Declined ${o.name}.\n`);
    } catch (err) {
      // Timed out or cancelled by the sender meanwhile: file.failed says so.
      ctx.err(`${isClientError(err) ? describeError(err) : (err as Error).message}\n`);
    }
  });
  // Incoming files show their progress as `send --file` does (a bar on a terminal, else lines).
  const progress = json
    ? null
    : new IncomingProgress({
        write: (t) => ctx.err(t),
        tty: ctx.stderrIsTerminal === true,
        columns: ctx.columns ?? 80,
      });
  client.on('file.progress', (p) => progress?.progress(p));
  client.on('file.done', (d) => {
    progress?.done(d);
    if (d.direction === 'in')
      emit('file.done', d, `Received ${d.name} (${formatBytes(d.size)}), SHA-256 checked: ${d.path}`);
    else emit('file.done', d, `(${d.name} delivered)`);
  });
  client.on('file.failed', (f) => {
    progress?.failed(f);
    if (f.code === 'CLIENT_ERR_FILE_DECLINED' && f.direction === 'in' && !json) return; // said above
    emit(
      'file.failed',
      f,
      `File ${f.name || f.id} ${f.direction === 'in' ? 'from' : 'to'} ${f.peer}: ${f.message} (${f.code})`,
    );
  });
  client.on('message.received', (m) =>
    emit(
      'message.received',
      m,
      `[${new Date(m.receivedAt).toISOString().slice(11, 19)}] ${m.name || m.from}: ${m.text ?? `(${Buffer.from(m.data ?? '', 'base64').length} bytes)`}`,
    ),
  );

  // The session announces a peer's state again whenever its path changes (a revoked peer's
  // link closing, its relay going offline): a line is printed when the state changes.
  // Names are remembered too: a peer that declined is gone from the trust store when its
  // status arrives.
  const known = new Map<string, { state: string; name: string }>();
  for (const p of new TrustStore(storePaths(ctx.home)).list().slice(-LISTEN_KNOWN_STATES_MAX))
    known.set(p.key, { state: p.state, name: p.name });
  client.on('peer.status', (s) => {
    const previous = known.get(s.key);
    const who = s.name || localDeclines.get(s.key) || previous?.name || s.key;
    known.delete(s.key);
    known.set(s.key, { state: s.state, name: s.name || previous?.name || '' });
    if (known.size > LISTEN_KNOWN_STATES_MAX) known.delete(known.keys().next().value!);
    if (json) return emit('peer.status', s, '');
    // 'declined': the local user said no to their request; 'denied': they said no to ours.
    if (s.state === 'declined') ctx.out(`You declined ${who}'s request.\n`);
    else if (s.state === 'denied') ctx.out(`${who} declined your request.\n`);
    else if (s.state === 'revoked-by-peer' && previous?.state !== 'revoked-by-peer')
      ctx.out(`${who} revoked the connection.\n`);
  });
  // Entries leave on either outcome, so the map holds only messages still in the outbox.
  client.on('message.failed', (f) => pendingSends.delete(f.id));
  client.on('message.delivered', (d) => {
    const to = pendingSends.get(d.id);
    pendingSends.delete(d.id);
    if (json) emit('message.delivered', d, '');
    else if (to) ctx.out(`(delivered to ${to})\n`);
  });

  await client.start();
  // The rendezvous connection's retry timer does not hold the process open: with stdin
  // closed and the server down, nothing else would, and Node would exit (status 13, an
  // unfinished top-level await). Listening is this process's whole job, so it holds itself
  // open until it is told to stop.
  const keepAlive = setInterval(() => {}, 1 << 30);
  let control: ControlServer | null = null;
  try {
    control = await serveControl(client, controlSocketPath(ctx.home));
  } catch (err) {
    say(`(other terminals cannot hand send/revoke to this listen: ${(err as Error).message})`);
  }
  const me = client.id();
  if (!json)
    say(`Listening as ${me.name || me.key} (${me.fingerprint}). Type "<peer>: <message>" to send; Ctrl-C to stop.`);
  else emit('listening', me, '');
  try {
    await ctx.interrupted;
  } finally {
    clearInterval(keepAlive);
    await control?.close();
    await client.stop();
  }
}
