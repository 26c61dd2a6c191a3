/**
 * `p2p-comm id --qr` (issue 16): the printed terminal text is turned back into pixels, as a
 * camera would see the screen, and decoded with an independent QR reader (jsQR); the decoded
 * text must be the share string `id --json` reports.
 */
import { Readable } from 'node:stream';
import jsqr from 'jsqr';
import { afterAll, describe, expect, it } from 'vitest';
import { renderQr } from '../src/cli/qr.js';
import { runCli } from '../src/cli/run.js';
import { tempHome } from './helpers/server.js';

// jsqr is CommonJS whose module.exports is the reader and also carries it as .default; the
// types describe only the latter.
const jsQR = (jsqr as unknown as { default: typeof jsqr.default }).default;

const cleanups: Array<() => void> = [];
afterAll(() => {
  for (const c of cleanups.splice(0)) c();
});

async function cli(args: string[], env: Record<string, string>, isTerminal = false) {
  let out = '';
  const code = await runCli(args, {
    env,
    stdin: Readable.from([]),
    out: (t) => {
      out += t;
    },
    err: () => {},
    interrupted: new Promise(() => {}),
    isTerminal,
  });
  return { code, out };
}

/** Terminal text of half blocks → RGBA pixels: drawn (light) halves white, blanks black. */
function screenToPixels(text: string, scale = 4): { data: Uint8ClampedArray; width: number; height: number } {
  const lines = text.replace(/\x1b\[[0-9;]*m/g, '').split('\n');
  const cols = Math.max(...lines.map((l) => [...l].length));
  const rows = lines.length * 2;
  const light: boolean[][] = Array.from({ length: rows }, () => new Array<boolean>(cols).fill(false));
  lines.forEach((line, i) => {
    [...line].forEach((ch, col) => {
      light[2 * i]![col] = ch === '█' || ch === '▀';
      light[2 * i + 1]![col] = ch === '█' || ch === '▄';
    });
  });
  const width = cols * scale;
  const height = rows * scale;
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const v = light[Math.floor(y / scale)]![Math.floor(x / scale)] ? 255 : 0;
      data.set([v, v, v, 255], (y * width + x) * 4);
    }
  return { data, width, height };
}

function decode(text: string): string | null {
  const { data, width, height } = screenToPixels(text);
  // A terminal shows light modules on dark: the reader must accept the inverted code too.
  return jsQR(data, width, height, { inversionAttempts: 'attemptBoth' })?.data ?? null;
}

describe('p2p-comm id --qr', () => {
  it('prints a QR code that decodes to the share string, followed by the text form', async () => {
    const h = tempHome();
    cleanups.push(h.cleanup);
    const env = { NEXUS_HOME: h.home, P2P_COMM_SERVER: 'ws://rendezvous.example.org:8080' };
    expect((await cli(['init', '--name', 'Alice Müller'], env)).code).toBeUndefined();
    const { share } = JSON.parse((await cli(['id', '--json'], env)).out) as { share: string };
    expect(share).toMatch(/^p2p-comm:\/\/[A-Za-z0-9_-]{43}@rendezvous\.example\.org:8080\?name=Alice%20M%C3%BCller$/);

    for (const isTerminal of [false, true]) {
      const r = await cli(['id', '--qr'], env, isTerminal);
      expect(r.code).toBeUndefined();
      const [qr, textForm] = r.out.split('\n\n');
      expect(decode(qr!)).toBe(share);
      expect(textForm).toContain(`Share:       ${share}`);
      // On a terminal the colours are explicit (bright white on black), each line reset.
      if (isTerminal)
        expect(qr!.split('\n').every((l) => l.startsWith('\x1b[97;40m') && l.endsWith('\x1b[0m'))).toBe(true);
      else expect(qr).not.toContain('\x1b');
    }

    const json = JSON.parse((await cli(['share', '--qr', '--json'], env)).out) as { share: string; qr: string };
    expect(json.share).toBe(share);
    expect(decode(json.qr)).toBe(share);
  });

  it('a different string gives a code that decodes to that string, not the other', () => {
    const a = 'p2p-comm://AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA@127.0.0.1:8080?name=A';
    const b = a.replace('name=A', 'name=B');
    expect(decode(renderQr(a))).toBe(a);
    expect(decode(renderQr(b))).toBe(b);
    expect(renderQr(a)).not.toBe(renderQr(b));
  });
});
