/**
 * A share string as a QR code on a terminal (`p2p-comm id --qr`), for handing a key across a
 * room. The encoder is the `uqr` package (a port of Nayuki's reference QR generator); this
 * module only draws its module matrix as text.
 */
import { encode } from 'uqr';

/** Light modules around the code, modules: the QR spec asks for 4 so scanners find the edge. */
export const QR_QUIET_ZONE_MODULES = 4;
/** Error correction 'M' (15 %): survives a smudged screen or a glare, and stays small. */
const QR_ECC = 'M';

// Two modules per character cell, top and bottom: the code stays square on a terminal.
const TOP = '▀';
const BOTTOM = '▄';
const BOTH = '█';
const NONE = ' ';
/** Bright white text on black: light modules are the ink, so dark-themed and light-themed terminals show the same code. */
const ANSI_START = '\x1b[97;40m';
const ANSI_END = '\x1b[0m';

/** The module matrix (true = dark module), quiet zone included. */
export function qrMatrix(text: string): boolean[][] {
  return encode(text, { ecc: QR_ECC, border: QR_QUIET_ZONE_MODULES }).data;
}

/**
 * The QR code of `text` as lines of half blocks, light modules drawn (a terminal's text is
 * the light colour on a dark background). With `ansi`, colours are set explicitly so a
 * light-themed terminal shows it the same way.
 */
export function renderQr(text: string, opts: { ansi?: boolean } = {}): string {
  const m = qrMatrix(text);
  const light = (row: number, col: number) => row < m.length && !m[row]![col];
  const lines: string[] = [];
  for (let row = 0; row < m.length; row += 2) {
    let line = '';
    for (let col = 0; col < m[row]!.length; col++) {
      const top = light(row, col);
      const bottom = light(row + 1, col);
      line += top && bottom ? BOTH : top ? TOP : bottom ? BOTTOM : NONE;
    }
    lines.push(opts.ansi ? `${ANSI_START}${line}${ANSI_END}` : line);
  }
  return lines.join('\n');
}
