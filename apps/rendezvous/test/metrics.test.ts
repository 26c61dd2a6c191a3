import { afterEach, describe, expect, it } from 'vitest';
import type { RendezvousApp } from '../src/app.js';
import { startApp, TestClient } from './helpers.js';

let app: RendezvousApp | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

describe('operations endpoints', () => {
  it('serves /healthz, /readyz and Prometheus /metrics that count what happened', async () => {
    const s = await startApp();
    app = s.app;
    const base = `http://127.0.0.1:${s.port}`;
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ ok: true });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    const a = await TestClient.connect(s.url);
    const b = await TestClient.connect(s.url);
    a.signal(1, b.key);
    await a.answer(1);
    const bad = await TestClient.open(s.url);
    bad.sendHello({ origin: 'elsewhere:1' });
    await bad.closed;
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/^rdv_connections 2$/m);
    expect(text).toMatch(/^rdv_frames_forwarded_total\{path="local_signal"\} 1$/m);
    expect(text).toMatch(/^rdv_auth_failures_total\{reason="bad_hello"\} 1$/m);
    expect(text).toMatch(/^rdv_broker_ready 1$/m);
    expect(text).toMatch(/^rdv_bytes_forwarded_total \d+$/m);
    expect(text).toContain('rdv_process_');
    // Never payloads: the metrics are counters and gauges only.
    await a.close();
    await b.close();
  });

  it('returns 404 for other upgrade paths', async () => {
    const s = await startApp();
    app = s.app;
    const { default: WebSocket } = await import('ws');
    const err = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${s.port}/other`);
      ws.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
      ws.on('error', (e) => resolve(e.message));
    });
    expect(err).toContain('404');
  });
});
