import type { DoctorReport } from '../../client/src/doctor/index.js';
import type { Lab, LabNode, NatKind } from './lab.js';
import { spawnTs } from './services.js';

/** Longest a doctor run in the lab may take (process start + STUN timeouts), ms. */
export const DOCTOR_RUN_TIMEOUT_MS = 20_000;

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
  const args = [server, ...(ports ? [String(ports.stun), String(ports.alt)] : [])];
  const p = spawnTs(lab, host, 'test/natlab/fixtures/doctor-json.ts', args, { label: `doctor on ${host.name}` });
  const timer = setTimeout(() => void p.stop(), DOCTOR_RUN_TIMEOUT_MS);
  const code = await p.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`doctor on ${host.name} exited ${code}:\n${p.describe()}`);
  return JSON.parse(p.stdout.trim()) as DoctorReport;
}
