// Every vector of the conformance kit (packages/protocol/test/vectors/conformance/, schema in
// that folder's README.md) through the same `check` code the stdio op uses: the expected output
// (the listed fields, deep-equal) or the expected error code.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCheck } from '../check.js';

const DIR = new URL('../../../packages/protocol/test/vectors/conformance/', import.meta.url);
const files = [
  ...readdirSync(DIR).filter((name) => name.endsWith('.json')),
  ...readdirSync(new URL('transcripts/', DIR))
    .filter((name) => name.endsWith('.json'))
    .map((name) => `transcripts/${name}`),
];

interface Vector {
  id: string;
  kind: string;
  input: unknown;
  expect: { output?: Record<string, unknown>; error?: string };
}

describe.each(files)('%s', (file) => {
  // A vector file has `vectors`; a transcript has `steps`, each one a vector.
  const parsed = JSON.parse(readFileSync(new URL(file, DIR), 'utf8')) as { vectors?: Vector[]; steps?: Vector[] };
  const vectors = parsed.vectors ?? parsed.steps ?? [];
  for (const vector of vectors) {
    it(vector.id, async () => {
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
