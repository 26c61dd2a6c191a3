/**
 * The protocol package ships only audited crypto libraries, pinned to exact versions (issue 12,
 * item 10: `tweetnacl` was a runtime dependency although only the bench used it). Every bare
 * import in src/ must be a runtime dependency, and every runtime dependency must be imported.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
};

/** Package names imported by the .ts files under src/ (node: built-ins and relative paths excluded). */
function importedPackages(): Set<string> {
  const names = new Set<string>();
  const files = readdirSync(new URL('src/', root), { recursive: true, encoding: 'utf8' }).filter((f) =>
    f.endsWith('.ts'),
  );
  for (const file of files) {
    const text = readFileSync(new URL(`src/${file}`, root), 'utf8');
    // Statement lines only (`import … from`, `export … from`, `} from`), not JSDoc examples.
    for (const m of text.matchAll(/^(?:import|export|\})[^'\n]*\bfrom\s+'([^'.][^']*)'/gm)) {
      const spec = m[1]!;
      if (spec.startsWith('node:')) continue;
      const parts = spec.split('/');
      names.add(spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!);
    }
  }
  return names;
}

describe('protocol package dependencies', () => {
  it('runtime dependencies are exactly the audited @noble libraries, pinned', () => {
    const deps = pkg.dependencies ?? {};
    expect(Object.keys(deps).sort()).toEqual([
      '@noble/ciphers',
      '@noble/curves',
      '@noble/hashes',
      '@noble/post-quantum',
    ]);
    for (const [name, range] of Object.entries(deps)) expect(range, name).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('tweetnacl (bench comparison only) is a devDependency', () => {
    expect(pkg.dependencies?.tweetnacl).toBeUndefined();
    expect(pkg.devDependencies?.tweetnacl).toBeDefined();
  });

  it('src/ imports exactly the runtime dependencies', () => {
    expect([...importedPackages()].sort()).toEqual(Object.keys(pkg.dependencies ?? {}).sort());
  });
});
