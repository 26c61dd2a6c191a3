import { describe, expect, it } from 'vitest';
import { MAX_DISPLAY_NAME_BYTES } from '../../src/constants.js';
import { displayLabel, namesCollide, sanitizePeerName, validateDisplayName } from '../../src/store/display-name.js';

describe('display names', () => {
  it('our own name: invisible and control characters are refused, not silently kept', () => {
    expect(validateDisplayName('  Alice   Smith ')).toBe('Alice Smith');
    for (const bad of ['Al\u202Eice', 'Al\u200Bice', 'A\u2066lice', 'Ali\u0085ce', 'Al\u00ADice', 'x\u2028y', '\uE000'])
      expect(() => validateDisplayName(bad), JSON.stringify(bad)).toThrow(/invisible|control/);
    expect(() => validateDisplayName('é'.repeat(MAX_DISPLAY_NAME_BYTES))).toThrow(/exceeds/);
  });

  it("a peer's name: cleaned (NFKC, invisibles dropped, whitespace collapsed) and cut on a character boundary", () => {
    expect(sanitizePeerName('\u202EAlice\u200D \u3000 Smith\u2069')).toBe('Alice Smith');
    expect(sanitizePeerName('Ａｌｉｃｅ')).toBe('Alice'); // fullwidth → NFKC
    const cut = sanitizePeerName('😀'.repeat(40));
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(MAX_DISPLAY_NAME_BYTES);
    expect(cut).toBe('😀'.repeat(16));
    expect(sanitizePeerName(7)).toBe('');
  });

  it('lookalikes collide: case, accents, separators, Cyrillic/Greek homoglyphs, I/l/1 and 0/o, rn/m', () => {
    const alike: Array<[string, string]> = [
      ['Alice', 'alice'],
      ['Alice', 'ALICE'],
      ['Alice', 'Аlice'], // Cyrillic А
      ['Alice', 'Αlice'], // Greek Α
      ['Alice', 'AIice'], // capital I for l
      ['Alice', 'A1ice'],
      ['Alice', 'Alíce'],
      ['Alice', 'A.l-i_c e'],
      ['Bob', 'Воb'], // Cyrillic В, о
      ['Bob', 'B0b'],
      ['mary', 'rnary'],
      ['Paypal', 'Раураl'],
    ];
    for (const [a, b] of alike) expect(namesCollide(a, b), `${a} ~ ${b}`).toBe(true);
    for (const [a, b] of [
      ['Alice', 'Alicia'],
      ['Bob 1', 'Bob 2'],
      ['Carol', 'Karol'],
      ['', ''],
    ] as const)
      expect(namesCollide(a, b), `${a} ≠ ${b}`).toBe(false);
  });

  it('alike names are labelled with a fingerprint prefix; unique names are shown as they are', () => {
    const a = { key: 'A', name: 'Alice', fingerprint: '3f:a1:00:11' };
    const b = { key: 'B', name: 'Аlice', fingerprint: '9b:22:33:44' };
    const c = { key: 'C', name: 'Carol', fingerprint: 'cc:cc:cc:cc' };
    expect(displayLabel(a, [a, b, c])).toBe('Alice (3f:a1)');
    expect(displayLabel(b, [a, b, c])).toBe('Аlice (9b:22)');
    expect(displayLabel(c, [a, b, c])).toBe('Carol');
    expect(displayLabel(a, [a, c])).toBe('Alice');
  });
});
