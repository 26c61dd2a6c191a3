import type { TransportAddress } from '@p2p-comm/protocol/stun';
import type { DoctorReport } from './doctor.js';

const NAT_ADVICE: Record<DoctorReport['nat'], string> = {
  'no-nat': 'no NAT: peers can reach a listener here directly',
  'endpoint-independent': 'endpoint-independent mapping: WebRTC hole punching should work',
  'address-port-dependent': 'address/port-dependent mapping (symmetric): WebRTC needs TURN, else the relay is used',
  'udp-blocked': 'UDP is blocked: WebRTC can only use TURN over TCP, else the relay is used',
  unknown: 'NAT behaviour unknown',
};

/** Human-readable report for the CLI, one finding per line. */
export function formatDoctorReport(report: DoctorReport): string {
  const r = report.rendezvous;
  const lines = [
    `rendezvous  ${r.reachable ? 'reachable' : 'NOT reachable'}  ${r.url}${r.status !== undefined ? ` (HTTP ${r.status}` : ''}${
      r.rttMs !== undefined ? `, ${r.rttMs.toFixed(0)} ms)` : r.status !== undefined ? ')' : ''
    }${r.error ? `  ${r.error}` : ''}`,
  ];
  if (r.hint) lines.push(`            ${r.hint}`);
  for (const [name, p] of [
    ['stun', report.stun.primary],
    ['stun-alt', report.stun.alternate],
  ] as const) {
    lines.push(
      `${name.padEnd(10)}  ${report.stun.host}:${p.port}  ${
        p.mapped ? `mapped ${addr(p.mapped)} in ${p.rttMs?.toFixed(0)} ms` : `no answer (${p.error})`
      }`,
    );
  }
  lines.push(`reflexive   ${report.serverReflexive ? addr(report.serverReflexive) : 'unknown'}`);
  lines.push(`nat         ${report.nat}: ${NAT_ADVICE[report.nat]}`);
  lines.push(`            ${report.natReason}`);
  return lines.join('\n');
}

/** 0 when the rendezvous answers (messages can flow, via the relay at worst), else 1. */
export function doctorExitCode(report: DoctorReport): number {
  return report.rendezvous.reachable ? 0 : 1;
}

function addr(t: TransportAddress): string {
  return t.family === 'IPv6' ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`;
}
