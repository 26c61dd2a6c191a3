import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { doctorExitCode, formatDoctorReport, runDoctor } from '../../src/doctor/index.js';
import { startResponder, type TestResponder, xorMappedSuccess } from './stun-responder.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function health(status: number): Promise<number> {
  const server: Server = createServer((req, res) => {
    res.statusCode = req.url === '/healthz' ? status : 404;
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

async function responder(answer: boolean): Promise<TestResponder> {
  const r = await startResponder((req, rinfo) => (answer ? [xorMappedSuccess(req, rinfo)] : 'drop'));
  cleanups.push(() => r.close());
  return r;
}

// On loopback there is no NAT: these tests check the plumbing (health check, two probes from one
// port, report). The NAT verdicts are checked across real NATs by the lab (test/natlab).
describe('runDoctor on loopback', () => {
  it('reports a reachable server, its reflexive address and no NAT', async () => {
    const http = await health(200);
    const [a, b] = [await responder(true), await responder(true)];
    const report = await runDoctor({ server: `ws://127.0.0.1:${http}/v1/ws`, stunPort: a.port, stunAltPort: b.port });
    expect(report.rendezvous).toMatchObject({ reachable: true, status: 200 });
    expect(report.serverReflexive).toEqual({ family: 'IPv4', address: '127.0.0.1', port: report.stun.localPort });
    expect(report.nat).toBe('no-nat');
    expect(doctorExitCode(report)).toBe(0);
    expect(formatDoctorReport(report)).toContain('no-nat');
  });

  it('reports UDP blocked when neither port answers, and an unhealthy server', async () => {
    const http = await health(503);
    const [a, b] = [await responder(false), await responder(false)];
    const report = await runDoctor({
      server: `http://127.0.0.1:${http}`,
      stunPort: a.port,
      stunAltPort: b.port,
      stunTimeoutMs: 300,
    });
    expect(report.rendezvous).toMatchObject({ reachable: false, status: 503 });
    expect(report.nat).toBe('udp-blocked');
    expect(report.serverReflexive).toBeUndefined();
    expect(doctorExitCode(report)).toBe(1);
    expect(formatDoctorReport(report)).toContain('NOT reachable');
  });

  it('reports unknown when only one port answers, and a refused connection', async () => {
    const http = await health(200);
    // Close the HTTP server now: its port then refuses connections.
    for (const close of cleanups.splice(0, 1)) await close();
    const [a, b] = [await responder(true), await responder(false)];
    const closedHttp = http;
    const report = await runDoctor({
      server: `http://127.0.0.1:${closedHttp}`,
      stunPort: a.port,
      stunAltPort: b.port,
      stunTimeoutMs: 300,
    });
    expect(report.rendezvous.reachable).toBe(false);
    expect(report.rendezvous.error).toContain('ECONNREFUSED');
    expect(report.nat).toBe('unknown');
    expect(report.serverReflexive?.address).toBe('127.0.0.1');
  });
});
