/**
 * Static checks of terraform/ that `terraform validate` would make, for machines where the
 * providers cannot be downloaded: every var./local./resource/data/module reference resolves,
 * the example sets every required module input and only known ones, and the module keeps the
 * settings the deployment depends on (WebSocket idle timeout, Redis TLS + AUTH, UDP STUN).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './compose.js';

const MODULE_DIR = join(REPO_ROOT, 'terraform');
const EXAMPLE_DIR = join(MODULE_DIR, 'examples', 'basic');

function readTf(dir: string): string {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.tf'))
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n');
}

/** Strip comments and string contents that are not interpolations, so prose cannot fake a reference. */
function code(text: string): string {
  return text.replace(/^\s*#.*$/gm, '').replace(/\s#[^"\n]*$/gm, '');
}

interface Declared {
  variables: Map<string, { required: boolean }>;
  locals: Set<string>;
  resources: Set<string>;
  data: Set<string>;
  modules: Set<string>;
  outputs: Set<string>;
}

function declared(text: string): Declared {
  const variables = new Map<string, { required: boolean }>();
  for (const m of text.matchAll(/^variable "([\w-]+)" \{([\s\S]*?)^\}/gm))
    variables.set(m[1]!, { required: !/^\s+default\s+=/m.test(m[2]!) });
  const locals = new Set<string>();
  for (const block of text.matchAll(/^locals \{([\s\S]*?)^\}/gm))
    for (const m of block[1]!.matchAll(/^ {2}([\w]+)\s+=/gm)) locals.add(m[1]!);
  return {
    variables,
    locals,
    resources: new Set([...text.matchAll(/^resource "(\w+)" "([\w-]+)"/gm)].map((m) => `${m[1]}.${m[2]}`)),
    data: new Set([...text.matchAll(/^data "(\w+)" "([\w-]+)"/gm)].map((m) => `${m[1]}.${m[2]}`)),
    modules: new Set([...text.matchAll(/^module "([\w-]+)"/gm)].map((m) => m[1]!)),
    outputs: new Set([...text.matchAll(/^output "([\w-]+)"/gm)].map((m) => m[1]!)),
  };
}

function unresolved(text: string, d: Declared): string[] {
  const src = code(text);
  const missing = new Set<string>();
  for (const m of src.matchAll(/\bvar\.(\w+)/g)) if (!d.variables.has(m[1]!)) missing.add(m[0]);
  for (const m of src.matchAll(/\blocal\.(\w+)/g)) if (!d.locals.has(m[1]!)) missing.add(m[0]);
  for (const m of src.matchAll(/\bdata\.(\w+)\.([\w-]+)/g)) if (!d.data.has(`${m[1]}.${m[2]}`)) missing.add(m[0]);
  for (const m of src.matchAll(/(?<![\w.])((?:aws|random)_\w+)\.([\w-]+)\b/g)) {
    // Skip type names in block headers (`resource "aws_x" "y"`) and attribute-looking tails.
    if (!d.resources.has(`${m[1]}.${m[2]}`) && !src.includes(`"${m[1]}" "${m[2]}"`)) missing.add(m[0]);
  }
  return [...missing];
}

const moduleText = readTf(MODULE_DIR);
const moduleDecl = declared(moduleText);
const exampleText = readTf(EXAMPLE_DIR);
const exampleDecl = declared(exampleText);

describe('terraform module', () => {
  it('resolves every reference', () => {
    expect(unresolved(moduleText, moduleDecl)).toEqual([]);
    expect(moduleDecl.resources.size).toBeGreaterThan(30);
    const broken = 'a = var.nope\nb = local.nothing\nc = aws_lb.missing.arn\nd = data.aws_region.gone.name';
    expect(unresolved(broken, moduleDecl).sort()).toEqual(
      ['aws_lb.missing', 'data.aws_region.gone', 'local.nothing', 'var.nope'].sort(),
    );
  });

  it('describes every variable and output', () => {
    for (const block of moduleText.matchAll(/^(variable|output) "([\w-]+)" \{([\s\S]*?)^\}/gm))
      expect(block[3], `${block[1]} ${block[2]}`).toMatch(/^\s+description\s+=\s+"/m);
  });

  it('keeps WebSockets open, Redis encrypted and authenticated, STUN on UDP', () => {
    expect(moduleText).toMatch(/idle_timeout\s+=\s+var\.alb_idle_timeout_s/);
    expect(moduleText).toMatch(/transit_encryption_enabled\s+=\s+true/);
    expect(moduleText).toMatch(/at_rest_encryption_enabled\s+=\s+true/);
    expect(moduleText).toMatch(/auth_token\s+=\s+random_password\.redis_auth\.result/);
    expect(moduleText).toMatch(/rediss:\/\//);
    expect(moduleText).toMatch(/protocol\s+=\s+"UDP"/);
    expect(moduleText).toMatch(/assign_public_ip\s+=\s+false/);
    expect(moduleText).toMatch(/maxmemory-policy[\s\S]{0,40}noeviction/);
  });

  it('passes exactly the env variables the server accepts', async () => {
    const { CONFIG_SPEC } = await import('../../apps/rendezvous/src/config.js');
    const known = new Set(CONFIG_SPEC.map((e) => e.env));
    const envBlock = /environment = merge\(\s*\{([\s\S]*?)\}/.exec(moduleText)?.[1] ?? '';
    const plain = [...envBlock.matchAll(/^\s+([A-Z][A-Z0-9_]+)\s+=/gm)].map((m) => m[1]!);
    const secretBlock = /secret_values = merge\(([\s\S]*?)\n {2}\)/.exec(moduleText)?.[1] ?? '';
    const secrets = [...secretBlock.matchAll(/\b([A-Z][A-Z0-9_]+)\s+=/g)].map((m) => m[1]!);
    expect(plain.length).toBeGreaterThan(5);
    expect(secrets).toEqual(expect.arrayContaining(['REDIS_URL', 'INVITE_SECRET', 'TURN_SECRET']));
    expect([...plain, ...secrets].filter((v) => !known.has(v))).toEqual([]);
  });
});

describe('terraform/examples/basic', () => {
  const moduleBlock = /^module "rendezvous" \{([\s\S]*?)^\}/m.exec(exampleText)?.[1] ?? '';
  const inputs = new Set([...moduleBlock.matchAll(/^ {2}(\w+)\s+=/gm)].map((m) => m[1]!));

  it('resolves every reference and module output', () => {
    expect(unresolved(exampleText, exampleDecl)).toEqual([]);
    const used = [...code(exampleText).matchAll(/\bmodule\.rendezvous\.(\w+)/g)].map((m) => m[1]!);
    expect(used.filter((o) => !moduleDecl.outputs.has(o))).toEqual([]);
  });

  it('sets every required input and only inputs the module has', () => {
    inputs.delete('source');
    const required = [...moduleDecl.variables].filter(([, v]) => v.required).map(([k]) => k);
    expect(required.filter((k) => !inputs.has(k))).toEqual([]);
    expect([...inputs].filter((k) => !moduleDecl.variables.has(k))).toEqual([]);
  });
});
