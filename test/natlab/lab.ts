/**
 * The NAT lab: real Linux network namespaces, veth pairs and iptables NAT, built by a test and
 * torn down by it (on success, failure, SIGINT/SIGTERM and process exit).
 *
 *   internet namespace (bridge br0, 203.0.113.0/24)
 *     ├── servers       203.0.113.10, .11, …   (rendezvous, STUN, TURN, Redis)
 *     ├── public hosts  203.0.113.40, .41, …   (no NAT; e.g. a peer with a listener)
 *     └── routers (WAN) 203.0.113.21, .22, …   one per site, NAT as the site asks
 *           └── LAN bridge: router .1/.129, hosts .10+/.138+ of the site's /25
 *
 * Site LANs: 192.0.2.0/25, 198.51.100.0/25, 192.0.2.128/25, 198.51.100.128/25. Only
 * documentation ranges are used and nothing is connected to the machine's own namespace, so no
 * packet can leave the lab. Routers have no default route and, as home routers do, drop
 * unsolicited packets to themselves (see the INPUT rules): without that, a far peer's early
 * check confirms a conntrack entry on the router and turns "cone" NAT symmetric.
 *
 * Example:
 *   const lab = await createLab({ sites: 2, nat: 'eim' });
 *   const p = lab.spawn(lab.sites[0].hosts[0], 'node', ['-e', 'console.log(1)']);
 *   await lab.teardown();
 */
import { randomBytes } from 'node:crypto';
import { nsRun, run, runSyncQuiet } from './exec.js';
import { LabProcess, type SpawnInNamespaceOptions } from './process.js';

export type NatKind = 'eim' | 'symmetric' | 'udp-blocked' | 'none';

export interface SiteSpec {
  nat?: NatKind;
  /** Hosts behind this site's router. Default 1. */
  hosts?: number;
}

export interface LabOptions {
  /** Number of sites, or one spec per site. Default 2. */
  sites?: number | readonly SiteSpec[];
  /** NAT of every site that does not set its own. Default 'eim'. */
  nat?: NatKind;
  /** Server hosts on the internet segment. Default 1. */
  servers?: number;
  /** Hosts on the internet segment without NAT. Default 0. */
  publicHosts?: number;
}

export interface LabNode {
  /** Role name, e.g. "server0", "site1-host0", "public0". */
  readonly name: string;
  /** Network namespace name. */
  readonly ns: string;
  readonly ip: string;
}

export interface LabSite {
  readonly index: number;
  readonly router: LabNode & { readonly lanIp: string };
  readonly hosts: readonly LabNode[];
  readonly lanCidr: string;
  readonly nat: NatKind;
}

/** Most sites one lab holds: the documentation ranges split into four /25s. */
export const LAB_MAX_SITES = 4;
/** Most hosts per site, servers and public hosts (address plan limits). */
export const LAB_MAX_HOSTS_PER_SITE = 20;
export const LAB_MAX_SERVERS = 10;
export const LAB_MAX_PUBLIC_HOSTS = 10;
/** Namespaces this lab creates start with this, then the creating pid, so a sweep knows whose they are. */
export const LAB_NS_PREFIX = 'p2pnl';

const SITE_LANS = [
  { net: '192.0.2.', base: 0 },
  { net: '198.51.100.', base: 0 },
  { net: '192.0.2.', base: 128 },
  { net: '198.51.100.', base: 128 },
] as const;

const liveLabs = new Set<Lab>();
let handlersInstalled = false;

export class Lab {
  readonly id: string;
  readonly internetNs: string;
  readonly servers: LabNode[] = [];
  readonly publicHosts: LabNode[] = [];
  readonly sites: LabSite[] = [];
  private readonly namespaces: string[] = [];
  private readonly processes = new Set<LabProcess>();
  /** Every process started, also exited ones, for failure reports (a lab starts a few dozen). */
  private readonly started: LabProcess[] = [];
  private torn = false;
  private counters = 0;

  constructor(id: string) {
    this.id = id;
    this.internetNs = `${id}-inet`;
  }

  /** Start a command inside a node's namespace; stopped at teardown if still running. */
  spawn(node: LabNode | string, cmd: string, args: readonly string[], opts: SpawnInNamespaceOptions = {}): LabProcess {
    const ns = typeof node === 'string' ? node : node.ns;
    const label = opts.label ?? (typeof node === 'string' ? node : node.name);
    const p = new LabProcess(ns, cmd, args, { ...opts, label });
    this.processes.add(p);
    this.started.push(p);
    void p.exited.then(() => this.processes.delete(p));
    return p;
  }

  /** Run a command to completion inside a node's namespace and return its stdout. */
  exec(node: LabNode | string, cmd: string, args: readonly string[]): Promise<string> {
    return nsRun(typeof node === 'string' ? node : node.ns, cmd, args);
  }

  site(index: number): LabSite {
    const s = this.sites[index];
    if (!s) throw new Error(`lab has no site ${index}`);
    return s;
  }

  /** Replace a site's NAT at run time; existing flows are forgotten so new ones take the new rule. */
  async setNat(siteIndex: number, nat: NatKind): Promise<void> {
    const site = this.site(siteIndex);
    const r = site.router.ns;
    await nsRun(r, 'iptables', ['-t', 'nat', '-F', 'LAB_NAT']);
    await nsRun(r, 'iptables', ['-F', 'LAB_UDP']);
    await applyNat(r, nat);
    await this.flushConntrack(siteIndex);
    (site as { nat: NatKind }).nat = nat;
  }

  /** Drop every UDP packet the site's router forwards (both directions), from now on. */
  async blockUdp(siteIndex: number): Promise<void> {
    await nsRun(this.site(siteIndex).router.ns, 'iptables', ['-A', 'LAB_UDP', '-p', 'udp', '-j', 'DROP']);
  }

  /**
   * Drop the TCP packets to and from `port` that the site's router forwards (both directions),
   * from now on: a cut that closes nothing, like a pulled cable on that path. Shares the run-time
   * drop chain with blockUdp, so unblockUdp and setNat lift it too.
   */
  async blockTcpPort(siteIndex: number, port: number): Promise<void> {
    const r = this.site(siteIndex).router.ns;
    await nsRun(r, 'iptables', ['-A', 'LAB_UDP', '-p', 'tcp', '--dport', String(port), '-j', 'DROP']);
    await nsRun(r, 'iptables', ['-A', 'LAB_UDP', '-p', 'tcp', '--sport', String(port), '-j', 'DROP']);
  }

  async unblockUdp(siteIndex: number): Promise<void> {
    await nsRun(this.site(siteIndex).router.ns, 'iptables', ['-F', 'LAB_UDP']);
  }

  /** Forget the router's conntrack entries (NAT rule changes apply to new flows only). */
  async flushConntrack(siteIndex: number): Promise<void> {
    try {
      await nsRun(this.site(siteIndex).router.ns, 'conntrack', ['-F']);
    } catch (err) {
      // conntrack exits non-zero when the table was already empty on some versions.
      if (!String(err).includes('0 flow entries')) throw err;
    }
  }

  /**
   * Count the packets a node receives that match iptables arguments (e.g. `['-p', 'udp',
   * '--dport', '3478']`), with a rule that only counts. Returns a reader of the count so far.
   */
  async countInbound(node: LabNode, match: readonly string[]): Promise<() => Promise<number>> {
    const tag = `lab-count-${++this.counters}`;
    await nsRun(node.ns, 'iptables', ['-A', 'INPUT', ...match, '-m', 'comment', '--comment', tag, '-j', 'ACCEPT']);
    return async () => {
      const listing = await nsRun(node.ns, 'iptables', ['-L', 'INPUT', '-v', '-n', '-x']);
      const line = listing.split('\n').find((l) => l.includes(`/* ${tag} */`));
      if (!line) throw new Error(`counter ${tag} vanished from ${node.name}`);
      return Number(line.trim().split(/\s+/)[0]);
    };
  }

  /** Counters of the router's rules, to show a scenario what its packets did. */
  routerRules(siteIndex: number): Promise<string> {
    return nsRun(this.site(siteIndex).router.ns, 'iptables-save', ['-c']);
  }

  /** The tail of every process's output, for a failing test's message. */
  describeProcesses(maxCharsEach = 2_000): string {
    return this.started.map((p) => p.describe(maxCharsEach)).join('\n');
  }

  /** @internal */
  addNamespace(ns: string): void {
    this.namespaces.push(ns);
  }

  async teardown(): Promise<void> {
    if (this.torn) return;
    this.torn = true;
    liveLabs.delete(this);
    await Promise.all([...this.processes].map((p) => p.stop()));
    for (const ns of [...this.namespaces].reverse()) {
      await killNamespacePids(ns);
      await run('ip', ['netns', 'del', ns]).catch(() => {});
    }
  }

  /** For exit and signal handlers, where nothing asynchronous completes. */
  teardownSync(): void {
    if (this.torn) return;
    this.torn = true;
    liveLabs.delete(this);
    for (const p of this.processes) p.killNow();
    for (const ns of [...this.namespaces].reverse()) {
      for (const pid of runSyncQuiet('ip', ['netns', 'pids', ns]).split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      runSyncQuiet('ip', ['netns', 'del', ns]);
    }
  }
}

/** Build a lab. Always pair with `await lab.teardown()` in a finally/afterAll. */
export async function createLab(options: LabOptions = {}): Promise<Lab> {
  const specs = normaliseSites(options);
  const servers = options.servers ?? 1;
  const publicHosts = options.publicHosts ?? 0;
  if (specs.length > LAB_MAX_SITES) throw new Error(`at most ${LAB_MAX_SITES} sites`);
  if (servers < 0 || servers > LAB_MAX_SERVERS) throw new Error(`servers must be 0..${LAB_MAX_SERVERS}`);
  if (publicHosts < 0 || publicHosts > LAB_MAX_PUBLIC_HOSTS) {
    throw new Error(`publicHosts must be 0..${LAB_MAX_PUBLIC_HOSTS}`);
  }
  for (const s of specs) {
    if (s.hosts < 1 || s.hosts > LAB_MAX_HOSTS_PER_SITE)
      throw new Error(`hosts per site must be 1..${LAB_MAX_HOSTS_PER_SITE}`);
  }

  installExitHandlers();
  await sweepStaleNamespaces();
  const lab = new Lab(`${LAB_NS_PREFIX}-${process.pid}-${randomBytes(3).toString('hex')}`);
  liveLabs.add(lab);
  try {
    await build(lab, specs, servers, publicHosts);
  } catch (err) {
    await lab.teardown();
    throw err;
  }
  return lab;
}

function normaliseSites(options: LabOptions): Array<{ nat: NatKind; hosts: number }> {
  const nat = options.nat ?? 'eim';
  const sites = options.sites ?? 2;
  if (typeof sites === 'number') return Array.from({ length: sites }, () => ({ nat, hosts: 1 }));
  return sites.map((s) => ({ nat: s.nat ?? nat, hosts: s.hosts ?? 1 }));
}

async function addNamespace(lab: Lab, ns: string, forwarding: boolean): Promise<void> {
  await run('ip', ['netns', 'add', ns]);
  lab.addNamespace(ns);
  await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  const sysctls = ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'];
  if (forwarding) sysctls.push('net.ipv4.ip_forward=1');
  await nsRun(ns, 'sysctl', ['-qw', ...sysctls]);
  // Bridged frames must not pass through this namespace's iptables (br_netfilter is per
  // namespace on recent kernels and absent on others: either way, not an error).
  await nsRun(ns, 'sysctl', ['-qw', 'net.bridge.bridge-nf-call-iptables=0']).catch(() => {});
}

async function addBridge(ns: string, name: string): Promise<void> {
  await run('ip', ['-n', ns, 'link', 'add', name, 'type', 'bridge', 'mcast_snooping', '0']);
  await run('ip', ['-n', ns, 'link', 'set', name, 'up']);
}

/** A veth whose two ends are created directly inside their namespaces, the second on a bridge. */
async function addVeth(nsA: string, nameA: string, nsB: string, nameB: string, bridgeB: string): Promise<void> {
  await run('ip', ['link', 'add', 'name', nameA, 'netns', nsA, 'type', 'veth', 'peer', 'name', nameB, 'netns', nsB]);
  await run('ip', ['-n', nsB, 'link', 'set', nameB, 'master', bridgeB, 'up']);
  await run('ip', ['-n', nsA, 'link', 'set', nameA, 'up']);
}

async function build(
  lab: Lab,
  specs: Array<{ nat: NatKind; hosts: number }>,
  servers: number,
  publicHosts: number,
): Promise<void> {
  const inet = lab.internetNs;
  await addNamespace(lab, inet, false);
  await addBridge(inet, 'br0');

  const attach = async (name: string, ip: string, port: string): Promise<LabNode> => {
    const ns = `${lab.id}-${name}`;
    await addNamespace(lab, ns, false);
    await addVeth(ns, 'eth0', inet, port, 'br0');
    await run('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    return { name, ns, ip };
  };
  for (let i = 0; i < servers; i++) lab.servers.push(await attach(`server${i}`, `203.0.113.${10 + i}`, `s${i}`));
  for (let i = 0; i < publicHosts; i++)
    lab.publicHosts.push(await attach(`public${i}`, `203.0.113.${40 + i}`, `p${i}`));

  for (const [i, spec] of specs.entries()) {
    const lan = SITE_LANS[i]!;
    const r = `${lab.id}-site${i}-router`;
    const wanIp = `203.0.113.${21 + i}`;
    const lanIp = `${lan.net}${lan.base + 1}`;
    await addNamespace(lab, r, true);
    await addVeth(r, 'wan', inet, `r${i}`, 'br0');
    await run('ip', ['-n', r, 'addr', 'add', `${wanIp}/24`, 'dev', 'wan']);
    await addBridge(r, 'lan');
    await run('ip', ['-n', r, 'addr', 'add', `${lanIp}/25`, 'dev', 'lan']);
    const hosts: LabNode[] = [];
    for (let j = 0; j < spec.hosts; j++) {
      const name = `site${i}-host${j}`;
      const ns = `${lab.id}-${name}`;
      const ip = `${lan.net}${lan.base + 10 + j}`;
      await addNamespace(lab, ns, false);
      await addVeth(ns, 'eth0', r, `h${j}`, 'lan');
      await run('ip', ['-n', ns, 'addr', 'add', `${ip}/25`, 'dev', 'eth0']);
      await run('ip', ['-n', ns, 'route', 'add', 'default', 'via', lanIp]);
      hosts.push({ name, ns, ip });
    }
    await installRouterRules(r);
    await applyNat(r, spec.nat);
    lab.sites.push({
      index: i,
      router: { name: `site${i}-router`, ns: r, ip: wanIp, lanIp },
      hosts,
      lanCidr: `${lan.net}${lan.base}/25`,
      nat: spec.nat,
    });
  }

  // Sites without NAT are routed: everything on the internet segment learns their LAN.
  for (const site of lab.sites.filter((s) => s.nat === 'none')) {
    const others = [...lab.servers, ...lab.publicHosts, ...lab.sites.filter((s) => s !== site).map((s) => s.router)];
    for (const n of others) await run('ip', ['-n', n.ns, 'route', 'add', site.lanCidr, 'via', site.router.ip]);
  }
}

/** Fixed chains: INPUT firewall on the WAN, LAB_UDP (run-time UDP drop), LAB_NAT (masquerade). */
async function installRouterRules(r: string): Promise<void> {
  const ipt = (...args: string[]) => nsRun(r, 'iptables', args);
  await ipt('-A', 'INPUT', '-i', 'wan', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT');
  await ipt('-A', 'INPUT', '-i', 'wan', '-j', 'DROP');
  await ipt('-N', 'LAB_UDP');
  await ipt('-A', 'FORWARD', '-j', 'LAB_UDP');
  await ipt('-t', 'nat', '-N', 'LAB_NAT');
  await ipt('-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'LAB_NAT');
}

async function applyNat(r: string, nat: NatKind): Promise<void> {
  const ipt = (...args: string[]) => nsRun(r, 'iptables', args);
  switch (nat) {
    case 'none':
      return;
    case 'eim':
      await ipt('-t', 'nat', '-A', 'LAB_NAT', '-j', 'MASQUERADE');
      return;
    case 'symmetric':
      // A fresh random source port for every new flow: address-and-port-dependent mapping.
      await ipt('-t', 'nat', '-A', 'LAB_NAT', '-j', 'MASQUERADE', '--random-fully');
      return;
    case 'udp-blocked':
      await ipt('-t', 'nat', '-A', 'LAB_NAT', '-j', 'MASQUERADE');
      await ipt('-A', 'LAB_UDP', '-p', 'udp', '-j', 'DROP');
      return;
  }
}

async function killNamespacePids(ns: string): Promise<void> {
  const pids = await run('ip', ['netns', 'pids', ns]).catch(() => '');
  for (const pid of pids.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** Delete namespaces left by lab runs whose process is gone (a crash or SIGKILL skips teardown). */
export async function sweepStaleNamespaces(): Promise<string[]> {
  const listing = await run('ip', ['netns', 'list']).catch(() => '');
  const swept: string[] = [];
  const re = new RegExp(`^(${LAB_NS_PREFIX}-(\\d+)-[0-9a-f]+-\\S+)`);
  for (const line of listing.split('\n')) {
    const m = re.exec(line.trim());
    if (!m) continue;
    const [, ns, pid] = m;
    if (isAlive(Number(pid))) continue;
    await killNamespacePids(ns!);
    await run('ip', ['netns', 'del', ns!]).catch(() => {});
    swept.push(ns!);
  }
  return swept;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const cleanAll = (): void => {
    for (const lab of [...liveLabs]) lab.teardownSync();
  };
  process.once('exit', cleanAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      cleanAll();
      // Re-raise with the default action so the exit status still says which signal.
      process.kill(process.pid, sig);
    });
  }
}
