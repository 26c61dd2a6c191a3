import { PassThrough } from 'node:stream';
import { generateIdentity } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRequestLine } from '../../src/extension/jsonrpc.js';
import { readLines } from '../../src/extension/line-reader.js';
import { ConsentRateLimiter } from '../../src/session/rate-limiter.js';
import { formatShare, parseShare } from '../../src/share.js';
import type { Link } from '../../src/transports/link.js';
import { PathManager } from '../../src/transports/path-manager.js';
import { normalizeServerUrl } from '../../src/transports/rendezvous-connection.js';

describe('share strings', () => {
  it('round-trip key, address and name', () => {
    const key = generateIdentity(nodeSuite).publicKey;
    const s = formatShare(key, { address: '127.0.0.1:8080', name: 'Ana María' });
    const t = parseShare(s);
    expect(Buffer.from(t.key).equals(Buffer.from(key))).toBe(true);
    expect(t.address).toBe('127.0.0.1:8080');
    expect(t.name).toBe('Ana María');
    expect(parseShare(t.keyText).address).toBeUndefined();
  });

  it('reject everything else with CLIENT_ERR_BAD_SHARE_STRING', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        try {
          parseShare(`p2p-comm://${s}`);
        } catch (err) {
          expect((err as { code: string }).code).toBe('CLIENT_ERR_BAD_SHARE_STRING');
        }
      }),
    );
    const key = 'Q'.repeat(43); // not 'A'…: all-zero bytes are a small-order point (PROTO_ERR_WEAK_KEY)
    for (const bad of [
      '',
      'http://x',
      'p2p-comm://',
      `p2p-comm://${key}@nohost`,
      `p2p-comm://${key}@host:0`,
      `p2p-comm://${key}@host:65536`,
      `p2p-comm://${key}@host:99999`,
      `p2p-comm://${key}?name=${'x'.repeat(1024)}`,
      42,
    ])
      expect(() => parseShare(bad), String(bad)).toThrowError(
        expect.objectContaining({ code: 'CLIENT_ERR_BAD_SHARE_STRING' }),
      );
    expect(parseShare(`p2p-comm://${key}@host:65535`).address).toBe('host:65535');
  });
});

describe('JSON-RPC request parsing', () => {
  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (line) => {
        const r = parseRequestLine(line);
        if (!r.ok) expect([-32700, -32600]).toContain(r.error.code);
      }),
      { numRuns: 2000 },
    );
  });
  it('distinguishes notifications from requests', () => {
    const n = parseRequestLine('{"jsonrpc":"2.0","method":"status"}');
    expect(n.ok && n.request.id).toBeUndefined();
    const r = parseRequestLine('{"jsonrpc":"2.0","id":null,"method":"status"}');
    expect(r.ok && r.request.id).toBeNull();
  });
});

describe('line reader', () => {
  it('splits across chunks, strips CR, and skips oversize lines once', async () => {
    const input = new PassThrough();
    const lines: string[] = [];
    let oversize = 0;
    const done = new Promise<void>((resolve) =>
      readLines(input, 10, { onLine: (l) => lines.push(l), onOversize: () => oversize++, onEnd: resolve }),
    );
    input.write('ab');
    input.write('c\r\nxxxxxxxx');
    input.write('xxxxxxxxxx\nok\n');
    input.end('tail');
    await done;
    expect(lines).toEqual(['abc', 'ok', 'tail']);
    expect(oversize).toBe(1);
  });
});

describe('consent rate limiter', () => {
  it('limits per key and globally within a window', () => {
    const l = new ConsentRateLimiter(1, 3, 1000);
    expect(l.allow('a', 0)).toBe(true);
    expect(l.allow('a', 10)).toBe(false);
    expect(l.allow('b', 20)).toBe(true);
    expect(l.allow('c', 30)).toBe(true);
    expect(l.allow('d', 40)).toBe(false);
    expect(l.allow('a', 1500)).toBe(true);
    expect(l.dropped).toBe(2);
  });
});

function fakeLink(kind: Link['kind'], remoteKey: Uint8Array, sent: string[]): Link & { fire(reason: string): void } {
  const closeHandlers: Array<(r: string) => void> = [];
  let open = true;
  return {
    kind,
    remoteKey,
    get isOpen() {
      return open;
    },
    send: () => {
      sent.push(kind);
    },
    close(reason = '') {
      if (!open) return;
      open = false;
      for (const h of closeHandlers) h(reason);
    },
    onEnvelope: () => {},
    onClose: (h) => closeHandlers.push(h),
    fire(reason: string) {
      this.close(reason);
    },
  };
}

describe('PathManager', () => {
  it('sends on the best open link by PATH_PREFERENCE and falls back when it closes', () => {
    const key = generateIdentity(nodeSuite).publicKey;
    const pm = new PathManager(() => {});
    const changes: Array<string | null> = [];
    pm.onPathChange((_, best) => changes.push(best));
    const sent: string[] = [];
    const relay = fakeLink('relay', key, sent);
    const direct = fakeLink('direct', key, sent);
    pm.addLink(relay);
    pm.addLink(direct);
    pm.send(key, new Uint8Array(1));
    direct.fire('gone');
    pm.send(key, new Uint8Array(1));
    expect(sent).toEqual(['direct', 'relay']);
    expect(changes).toEqual(['relay', 'direct', 'relay']);
    expect(pm.status(Buffer.from(key).toString('base64url'))).toContain('relay: connected');
    pm.setStatus(key, 'webrtc', 'webrtc: ice failed');
    expect(pm.status(Buffer.from(key).toString('base64url'))).toContain('webrtc: ice failed');
    relay.fire('down');
    expect(() => pm.send(key, new Uint8Array(1))).toThrowError(expect.objectContaining({ code: 'CLIENT_ERR_NO_PATH' }));
  });
});

describe('server URL', () => {
  it('normalises scheme and path', () => {
    expect(normalizeServerUrl('127.0.0.1:8080').href).toBe('ws://127.0.0.1:8080/v1/ws');
    expect(normalizeServerUrl('https://rdv.example.org').href).toBe('wss://rdv.example.org/v1/ws');
    expect(() => normalizeServerUrl('ftp://x')).toThrow(/ws/);
  });
});
