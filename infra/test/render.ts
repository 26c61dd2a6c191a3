/**
 * Adapt the checked-in Redis and nginx configs for a run on one machine without containers:
 * container host names and ports become 127.0.0.1 and free ports, container paths become a
 * temp dir. Every substitution must match exactly where expected, so a change to the real
 * config that this adaptation no longer understands fails loudly instead of being skipped.
 */

function replaceExactly(text: string, pattern: RegExp, replacement: string, times: number, what: string): string {
  const global = new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`);
  const count = text.match(global)?.length ?? 0;
  if (count !== times) throw new Error(`expected ${times} × ${what} (${pattern}), found ${count}`);
  return text.replace(global, replacement);
}

export function renderRedisConf(text: string, opts: { port: number; dataDir: string }): string {
  let out = replaceExactly(text, /^bind .*$/m, 'bind 127.0.0.1', 1, 'bind');
  out = replaceExactly(out, /^port \d+$/m, `port ${opts.port}`, 1, 'port');
  out = replaceExactly(out, /^dir .*$/m, `dir ${opts.dataDir}`, 1, 'dir');
  return out;
}

export interface NginxRenderOptions {
  /** Compose `service:port` → local `127.0.0.1:port`, for every upstream server line. */
  upstreams: ReadonlyMap<string, string>;
  httpsPort: number;
  httpPort: number;
  /** Directory that plays /etc/nginx/certs. */
  certDir: string;
  /** Writable directory for the pid file, logs and temp files. */
  runDir: string;
}

export function renderNginxConf(text: string, opts: NginxRenderOptions): string {
  let out = text;
  const servers = [...text.matchAll(/^\s*server ([A-Za-z0-9_.-]+:\d+)\b/gm)].map((m) => m[1]!);
  if (servers.length === 0) throw new Error('no upstream servers in nginx config');
  for (const server of servers) {
    const local = opts.upstreams.get(server);
    if (local === undefined) throw new Error(`no local address for upstream ${server}`);
    out = replaceExactly(
      out,
      new RegExp(`(^\\s*server )${server.replaceAll('.', '\\.')}\\b`, 'm'),
      `$1${local}`,
      1,
      server,
    );
  }
  out = replaceExactly(out, /^(\s*)listen 443 ssl;$/m, `$1listen 127.0.0.1:${opts.httpsPort} ssl;`, 1, 'TLS listener');
  out = replaceExactly(out, /^(\s*)listen 80;$/m, `$1listen 127.0.0.1:${opts.httpPort};`, 1, 'HTTP listener');
  out = replaceExactly(out, /\/etc\/nginx\/certs\//m, `${opts.certDir}/`, 2, 'certificate path');
  out = replaceExactly(out, /^pid .*;$/m, `pid ${opts.runDir}/nginx.pid;`, 1, 'pid');
  // A child process's stdio may be a socket, which /dev/stdout cannot be opened on: use files.
  out = replaceExactly(out, /^(\s*)error_log \S+/m, `$1error_log ${opts.runDir}/error.log`, 1, 'error_log');
  out = replaceExactly(out, /^(\s*)access_log \S+;/m, `$1access_log ${opts.runDir}/access.log;`, 1, 'access_log');
  // One worker is plenty for a test on a shared machine; temp paths default to /var/lib/nginx.
  out = replaceExactly(out, /^worker_processes .*;$/m, 'worker_processes 1;', 1, 'worker_processes');
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `  ${t}_temp_path ${opts.runDir}/${t};`)
    .join('\n');
  out = replaceExactly(out, /^http \{$/m, `http {\n${temps}`, 1, 'http block');
  return out;
}
