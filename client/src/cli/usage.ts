/**
 * What `p2p-comm --help`, `p2p-comm <command> --help` and a mistyped command print. Pure text
 * and pure functions, so the CLI tests can compare against them.
 */
import { DOCTOR_USAGE } from '../doctor/cli.js';

const GLOBAL_HELP = `Global: --server ws://host:port (or P2P_COMM_SERVER), --token T (or P2P_COMM_TOKEN), --json, -h/--help.
P2P_COMM_MAILBOX_TTL=3d (12h, 3600s, …): how long the server keeps what you send to an offline peer (default: the server's).
Files live in ~/.nexus (or NEXUS_HOME).`;

const PATHS_HELP =
  '[--listen ip:port] [--mdns] [--no-webrtc]   paths beyond the relay (env P2P_COMM_LISTEN, P2P_COMM_MDNS=1, P2P_COMM_WEBRTC=0)';

/** One entry per command: the synopsis line shown in the overview, then the details. */
export const COMMAND_USAGE: Readonly<Record<string, { synopsis: string; details: string }>> = Object.freeze({
  init: {
    synopsis: 'init --name <display name>     create your identity (once) and set your name',
    details: 'Creates the Ed25519 identity in $NEXUS_HOME/identity (kept if it exists) and sets your display name.',
  },
  id: {
    synopsis: 'id [--qr] [--json]             show fingerprint, key and share string (--qr: as a QR code too)',
    details:
      'The share string includes the server of --server / P2P_COMM_SERVER when set. --qr draws it as a QR code to scan across a room. Alias: share.',
  },
  connect: {
    synopsis: 'connect <share> [--wait 120s] [--accept-changed-key]   ask a peer to connect (waits for their answer)',
    details: 'Exit status 0 accepted, 3 denied, 4 no answer within --wait (the request stays pending).',
  },
  trust: {
    synopsis: 'trust list | revoke <peer> | rename <peer> <name>   list peers, revoke one, or name one yourself',
    details: '<peer> is a name, a key or a name with its fingerprint.',
  },
  send: {
    synopsis:
      'send <peer> <text…> | - [--wait 30s] | --file <path> [--note text]   send a message (or stdin) or a file of any size',
    details:
      'A message waits for the end-to-end ack: exit status 0 delivered, 4 not acknowledged within --wait (it stays in the outbox and is resent). "-" reads the text from stdin. Over 56 KiB it travels as a long message (streamed under the session keys, resumed after a restart) up to 16 MiB; it still arrives as one message.\n  A file is offered (name, size, type, SHA-256, note); once the peer accepts it streams, with a progress bar on a terminal (bytes, rate, ETA) and plain lines otherwise. Exit status 0 landed (their hash check passed), 3 declined, 4 interrupted (it resumes the next time p2p-comm runs), 1 failed.',
  },
  files: {
    synopsis: 'files [list] | accept <id> | decline <id> | cancel <id>   file transfers: offers waiting, in progress',
    details:
      'Received files land in $NEXUS_HOME/inbox/<peer key>/ (or P2P_COMM_INBOX) only after their SHA-256 matched. accept/decline answer the offer in the running listen; without one they wait --wait (60s) for the sender to offer it again.',
  },
  listen: {
    synopsis:
      'listen [--approve] [--yes]     print incoming messages; asks about consent (and with --approve, each message)',
    details: `Type "<peer>: <message>" to send; Ctrl-C to stop. Offered files are shown (name, size, type, SHA-256, note) and asked about. --yes accepts new peers and files without asking.\n  ${PATHS_HELP}`,
  },
  serve: {
    synopsis: 'serve [--port 8080] [--host 127.0.0.1] [--stun-port 3478]   run a rendezvous server',
    details:
      'Needs @p2p-comm/rendezvous installed next to the client. Other settings come from its environment (STUN_ALT_PORT, ADMISSION, …); --stun-port 0 turns STUN off.',
  },
  admin: {
    synopsis: 'admin invite --secret-env VAR --ttl 7d [--key K] [--once]   mint an invite token (--once: single use)',
    details: 'The token goes to stdout; its id goes to stderr (list it in INVITE_REVOKED to revoke).',
  },
  extension: {
    synopsis: 'extension [--approve]          JSON-RPC 2.0 on stdin/stdout (for the Nexus host)',
    details: `Env P2P_COMM_APPROVAL=always is --approve.\n  ${PATHS_HELP}`,
  },
  mcp: {
    synopsis: 'mcp                            MCP server on stdin/stdout via the host gateway',
    details: 'Reads P2P_COMM_HOST_URL and P2P_COMM_PLUGIN_TOKEN.',
  },
  doctor: {
    synopsis: DOCTOR_USAGE,
    details: 'Exit status 0 when the rendezvous server answers, 1 when it does not.',
  },
  version: {
    synopsis: 'version                        print the version (also --version, -V)',
    details: '',
  },
  help: {
    synopsis: 'help [command]                 this overview, or one command’s usage',
    details: '',
  },
});

/** The overview `p2p-comm --help` prints. */
export function overviewUsage(): string {
  const lines = Object.values(COMMAND_USAGE).map((u) => `  ${u.synopsis}`);
  return `usage: p2p-comm <command> [options]\n\n${lines.join('\n')}\n\n${GLOBAL_HELP}`;
}

/** `p2p-comm <command> --help`. */
export function commandUsage(command: string): string {
  const u = COMMAND_USAGE[command];
  if (!u) return overviewUsage();
  return `usage: p2p-comm ${u.synopsis}${u.details ? `\n\n  ${u.details}` : ''}\n\n${GLOBAL_HELP}`;
}

/** True when the arguments ask for help: `-h` or `--help` before any `--`. */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The known name nearest to `input`, when it is close enough to be a typo: at most 2 edits,
 * and fewer than half the input's length (so "x" does not become "id"). A prefix of exactly
 * one command ("lis" → "listen") also counts.
 */
export function nearest(input: string, known: readonly string[]): string | undefined {
  const word = input.toLowerCase().replace(/^-+/, '');
  if (word.length === 0) return undefined;
  const prefixed = known.filter((k) => word.length >= 2 && k.startsWith(word));
  if (prefixed.length === 1) return prefixed[0];
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const dist = editDistance(word, k);
    if (dist < bestDistance) {
      best = k;
      bestDistance = dist;
    }
  }
  return bestDistance <= 2 && bestDistance * 2 < word.length ? best : undefined;
}
