/**
 * The NAT lab tier: real namespaces, real NAT, real processes. One file, run sequentially, so
 * at most one lab exists at a time (`npm run test:natlab` runs it alone).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doctorIn, EXPECTED_MAPPING } from './doctor-in-lab.js';
import { run } from './exec.js';
import { registerFileScenarios } from './files.js';
import { describeLab } from './harness.js';
import { createLab, LAB_NS_PREFIX, type Lab, sweepStaleNamespaces } from './lab.js';
import { registerPathAgilityScenarios } from './path-agility.js';
import { printTimings } from './scenario.js';
import { registerScenarios } from './scenarios.js';
import { startRendezvous } from './services.js';

async function labNamespaces(id: string): Promise<string[]> {
  const list = await run('ip', ['netns', 'list']);
  return list
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(`${id}-`));
}

describeLab('NAT lab', () => {
  describe('the lab itself', () => {
    it('builds only documentation-range networks with no way out, and tears everything down', async () => {
      const lab = await createLab({ sites: [{ nat: 'eim', hosts: 2 }, { nat: 'symmetric' }], publicHosts: 1 });
      let sleeper: ReturnType<Lab['spawn']> | undefined;
      try {
        expect(await labNamespaces(lab.id)).toHaveLength(1 + 1 + 1 + 2 * 1 + 3);
        for (const n of [...lab.servers, ...lab.publicHosts, ...lab.sites.flatMap((s) => s.hosts)]) {
          expect(n.ip).toMatch(/^(192\.0\.2|198\.51\.100|203\.0\.113)\./);
        }
        // No namespace of the lab is connected to the machine's own: no default route on the
        // internet segment or the routers, and every address is in a documentation range.
        for (const ns of [lab.internetNs, lab.site(0).router.ns, lab.servers[0]!.ns]) {
          expect(await run('ip', ['-n', ns, 'route', 'show', 'default'])).toBe('');
        }
        const addrs = await run('ip', ['-n', lab.site(0).router.ns, '-4', '-o', 'addr']);
        for (const m of addrs.matchAll(/inet (\S+)\//g)) {
          expect(m[1]).toMatch(/^(127\.0\.0\.1|192\.0\.2\.\d+|198\.51\.100\.\d+|203\.0\.113\.\d+)$/);
        }
        expect(await run('ip', ['-n', lab.site(0).hosts[0]!.ns, '-6', 'addr'])).toBe('');
        sleeper = lab.spawn(lab.site(0).hosts[1]!, 'sleep', ['60']);
        expect(sleeper.running).toBe(true);
      } finally {
        await lab.teardown();
      }
      expect(await sleeper?.exited).toBeNull(); // killed by a signal
      expect(await labNamespaces(lab.id)).toEqual([]);
    });

    it('sweeps namespaces left by a dead test process, and only those', async () => {
      const stale = `${LAB_NS_PREFIX}-99999999-abcdef-site0-host0`;
      const live = `${LAB_NS_PREFIX}-${process.pid}-abcdef-probe`;
      await run('ip', ['netns', 'add', stale]);
      await run('ip', ['netns', 'add', live]);
      try {
        const swept = await sweepStaleNamespaces();
        expect(swept).toContain(stale);
        expect(swept).not.toContain(live);
        expect(await labNamespaces(`${LAB_NS_PREFIX}-99999999-abcdef`)).toEqual([]);
      } finally {
        await run('ip', ['netns', 'del', live]).catch(() => {});
        await run('ip', ['netns', 'del', stale]).catch(() => {});
      }
    });
  });

  describe('p2p-comm doctor against the rendezvous server’s own STUN responder', () => {
    let lab: Lab | undefined;
    let url = '';
    beforeAll(async () => {
      lab = await createLab({ sites: [{ nat: 'eim' }, { nat: 'symmetric' }, { nat: 'udp-blocked' }, { nat: 'none' }] });
      url = (await startRendezvous(lab, lab.servers[0]!)).url;
    });
    afterAll(async () => {
      await lab?.teardown();
    });

    it('reports reachability, the reflexive address and each site’s NAT type (EIM, symmetric, UDP blocked, none)', async () => {
      const reports = await Promise.all(lab!.sites.map((s) => doctorIn(lab!, s.hosts[0]!, url)));
      for (const [i, site] of lab!.sites.entries()) {
        const r = reports[i]!;
        expect(r.rendezvous.reachable, JSON.stringify(r.rendezvous)).toBe(true);
        expect(r.nat, `${site.nat}: ${r.natReason}\n${lab!.describeProcesses()}`).toBe(EXPECTED_MAPPING[site.nat]);
        if (site.nat === 'udp-blocked') expect(r.serverReflexive).toBeUndefined();
        else expect(r.serverReflexive?.address).toBe(site.nat === 'none' ? site.hosts[0]!.ip : site.router.ip);
      }
    }, 60_000);

    it('follows NAT changes made at run time', async () => {
      const host = lab!.site(0).hosts[0]!;
      await lab!.setNat(0, 'symmetric');
      expect((await doctorIn(lab!, host, url)).nat).toBe('address-port-dependent');
      await lab!.blockUdp(0);
      expect((await doctorIn(lab!, host, url)).nat).toBe('udp-blocked');
      await lab!.setNat(0, 'eim'); // also lifts the UDP block
      expect((await doctorIn(lab!, host, url)).nat).toBe('endpoint-independent');
    }, 60_000);
  });

  describe('scenarios', () => {
    afterAll(() => printTimings());
    registerScenarios();
  });

  describe('path agility', () => {
    afterAll(() => printTimings());
    registerPathAgilityScenarios();
  });

  describe('file transfers', () => {
    afterAll(() => printTimings());
    registerFileScenarios();
  });
});
