// Every vector of the conformance kit (packages/protocol/test/vectors/conformance/, schema in
// that folder's README.md) through the same `check` code the stdio op uses: the expected output
// (the listed fields, deep-equal) or the expected error code.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCheck } from '../check.js';

const DIR = new URL('../../../packages/protocol/test/vectors/conformance/', import.meta.url);
const files = readdirSync(DIR).filter((name) => name.endsWith('.json'));
/** Optional parts this minimal peer leaves out ("Layers": MAY). */
const SKIPPED_KINDS = new Set<string>([]);

interface Vector {
  id: string;
  kind: string;
  input: unknown;
  expect: { output?: Record<string, unknown>; error?: string };
}

describe.each(files)('%s', (file) => {
  const { vectors } = JSON.parse(readFileSync(new URL(file, DIR), 'utf8')) as { vectors: Vector[] };
  for (const vector of vectors) {
    it.skipIf(SKIPPED_KINDS.has(vector.kind))(vector.id, async () => {
      let result: Record<string, unknown> | undefined;
      let code: string | undefined;
      try {
        result = (await runCheck(vector)).output as Record<string, unknown>;
      } catch (error) {
        code = (error as { code?: string }).code ?? String(error);
      }
      if (vector.expect.error !== undefined) {
        expect(code).toBe(vector.expect.error);
      } else {
        expect(code).toBeUndefined();
        for (const [field, value] of Object.entries(vector.expect.output ?? {})) {
          expect(result?.[field], field).toEqual(value);
        }
      }
    });
  }
});
