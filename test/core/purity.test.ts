// core/ must run unchanged in Node, Workers and browsers: it imports nothing
// platform-specific, and it bundles for esbuild's neutral platform.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { build } from 'esbuild';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const coreDir = fileURLToPath(new URL('../../core/', import.meta.url));

test('no platform imports or ambient clock/randomness in core/', () => {
  for (const f of readdirSync(coreDir).filter((n) => n.endsWith('.ts'))) {
    const src = readFileSync(coreDir + f, 'utf8');
    const imports = [...src.matchAll(/from\s+'([^']+)'/g)].map((m) => m[1]!);
    for (const spec of imports) {
      assert.ok(spec.startsWith('./') || spec.startsWith('@noble/') || spec.startsWith('@scure/'), `${f} imports ${spec}`);
    }
    assert.not.match(src, /\b(Date\.now|Math\.random|process\.|Buffer\.|require\()/, `${f} uses a platform global`);
  }
});

test('core bundles for a neutral platform with nothing external', async () => {
  const result = await build({
    entryPoints: [coreDir + 'index.ts'],
    bundle: true,
    platform: 'neutral',
    format: 'esm',
    mainFields: ['module', 'main'],
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  assert.is(result.errors.length, 0);
  const inputs = Object.keys(result.metafile!.inputs);
  assert.ok(inputs.some((i) => i.includes('core/index.ts')));
  assert.not.ok(inputs.some((i) => i.startsWith('node:')), 'no node: inputs');
  const code = result.outputFiles[0]!.text;
  assert.not.match(code, /from\s*["']node:/);
  assert.not.match(code, /from\s*["']cloudflare:/);
  // The bundle is self-contained and evaluates without Node globals.
  const mod = await import('data:text/javascript;base64,' + Buffer.from(code).toString('base64'));
  assert.type(mod.sha256d, 'function');
  assert.type(mod.selectSectors, 'function');
});

test.run();
