/**
 * `p2p-comm doctor [--server URL] [--stun-port N] [--stun-alt-port N] [--json]`: the command
 * line face of runDoctor. Exit status 0 when the rendezvous answers, 1 when it does not.
 */
import { parseArgs } from 'node:util';
import { runDoctor } from './doctor.js';
import { DoctorError } from './errors.js';
import { doctorExitCode, formatDoctorReport } from './format.js';

/** What the CLI passes every command (a structural subset of its context). */
export interface DoctorCliContext {
  env: Readonly<Record<string, string | undefined>>;
  out: (text: string) => void;
  err: (text: string) => void;
}

export const DOCTOR_USAGE =
  'doctor [--server URL] [--stun-port 3478] [--stun-alt-port 3479] [--json]   check the server, UDP and NAT type';

export async function cmdDoctor(ctx: DoctorCliContext, args: string[]): Promise<void> {
  try {
    await doctor(ctx, args);
  } catch (err) {
    // Bad flags or options: say what is wrong, no stack trace.
    if (
      !(err instanceof DoctorError) &&
      (err as { code?: unknown })?.code?.toString().startsWith('ERR_PARSE_ARGS') !== true
    )
      throw err;
    ctx.err(`p2p-comm doctor: ${(err as Error).message}\nusage: p2p-comm ${DOCTOR_USAGE}\n`);
    process.exitCode = 2;
  }
}

async function doctor(ctx: DoctorCliContext, args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      server: { type: 'string' },
      token: { type: 'string' },
      'stun-port': { type: 'string' },
      'stun-alt-port': { type: 'string' },
      json: { type: 'boolean' },
    },
    strict: true,
  });
  const server = values.server ?? ctx.env['P2P_COMM_SERVER'];
  if (!server) throw new DoctorError('CLIENT_ERR_DOCTOR_BAD_OPTIONS', ['server: pass --server or set P2P_COMM_SERVER']);
  const report = await runDoctor({
    server,
    ...(values['stun-port'] !== undefined ? { stunPort: Number(values['stun-port']) } : {}),
    ...(values['stun-alt-port'] !== undefined ? { stunAltPort: Number(values['stun-alt-port']) } : {}),
  });
  ctx.out(values.json ? `${JSON.stringify(report)}\n` : `${formatDoctorReport(report)}\n`);
  process.exitCode = doctorExitCode(report);
}
