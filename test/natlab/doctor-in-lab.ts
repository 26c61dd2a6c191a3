import type { DoctorReport } from '../../client/src/doctor/index.js';
import type { Lab, LabNode, NatKind } from './lab.js';
import { spawnTs } from './services.js';

/** Longest a doctor run in the lab may take (process start + STUN timeouts), ms. */
export const DOCTOR_RUN_TIMEOUT_MS = 40_000;

/** What doctor must conclude behind each kind of lab router. */
export const EXPECTED_MAPPING: Readonly<Record<NatKind, DoctorReport['nat']>> = {
  eim: 'endpoint-independent',
  symmetric: 'address-port-dependent',
  'udp-blocked': 'udp-blocked',
  none: 'no-nat',
};

/** Run doctor as its own process on a lab host and return its report. */
export async function doctorIn(
  lab: Lab,
  host: LabNode,
  server: string,
  ports?: { stun: number; alt: number },
): Promise<DoctorReport> {
  const args = ['doctor', '--json', '--server', server];
  if (ports) args.push('--stun-port', String(ports.stun), '--stun-alt-port', String(ports.alt));
  // The real command line, as a person would run it on that host (its TypeScript entry, which is
  // what client/bin/p2p-comm.js runs on a clone without a build, minus one process start).
  const p = spawnTs(lab, host, 'client/src/cli/main.ts', args, { label: `doctor on ${host.name}` });
  const timer = setTimeout(() => void p.stop(), DOCTOR_RUN_TIMEOUT_MS);
  const code = await p.exited;
  clearTimeout(timer);
  // Exit status 1 only says the rendezvous did not answer; the report tells the rest.
  if (code !== 0 && code !== 1) throw new Error(`doctor on ${host.name} exited ${code}:\n${p.describe()}`);
  return JSON.parse(p.stdout.trim()) as DoctorReport;
}
