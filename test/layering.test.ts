// The layering, as a test: which folder may import which (docs/architecture.md
// draws the same table). core/ is pure (test/core/purity.test.ts checks it in
// depth); api/, the edge-API contract, sits on core alone; platform/ holds the
// Node-runtime helpers below both the edge and the node; node/ and edge/ never
// import each other; bench/ measures one side per file; cli/ is the only
// composition root that sees everything. Also: no import cycles between files,
// and the edge's runtime-neutral files (all but its Node entry) import nothing
// of Node, so the Worker bundle stays clean.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const LAYERS = ['core', 'api', 'platform', 'native', 'wasm', 'edge', 'node', 'bench', 'cli'] as const;
type Layer = (typeof LAYERS)[number];

/** What each layer may import, besides itself. */
const MAY_IMPORT: Record<Layer, readonly Layer[]> = {
  core: [],
  api: ['core'],
  native: ['core'],
  wasm: ['core'],
  platform: ['core', 'native', 'wasm'],
  edge: ['core', 'api', 'platform'],
  node: ['core', 'api', 'platform'],
  bench: ['core', 'api', 'platform', 'native', 'wasm', 'edge', 'node'],
  cli: ['core', 'api', 'platform', 'native', 'wasm', 'edge', 'node', 'bench'],
};

/** Packages a layer may import (relative imports aside); `node:` builtins are listed as 'node:'. */
const MAY_USE: Partial<Record<Layer, (spec: string) => boolean>> = {
  core: (s) => s.startsWith('@noble/') || s.startsWith('@scure/'),
  api: () => false,
};

/** Edge files that run on Node only; every other edge file also runs in workerd. */
const EDGE_NODE_ONLY = new Set(['edge/node-server.ts', 'edge/blob-dir.ts']);

interface Import {
  spec: string;
  typeOnly: boolean;
}

interface SourceFile {
  path: string; // relative to the root, with '/'
  layer: Layer;
  imports: Import[];
}

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(join(ROOT, dir))) {
    const rel = `${dir}/${name}`;
    if (statSync(join(ROOT, rel)).isDirectory()) {
      if (name !== 'node_modules' && name !== 'src' && name !== 'test') walk(rel, out);
    } else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

function importsOf(src: string): Import[] {
  const out: Import[] = [];
  for (const m of src.matchAll(/^\s*(import|export)\s+(type\s+)?[^'";]*?\bfrom\s+'([^']+)'/gm)) out.push({ spec: m[3]!, typeOnly: m[2] !== undefined });
  for (const m of src.matchAll(/^\s*import\s+'([^']+)'/gm)) out.push({ spec: m[1]!, typeOnly: false });
  for (const m of src.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) out.push({ spec: m[1]!, typeOnly: false });
  return out;
}

const files: SourceFile[] = LAYERS.flatMap((layer) =>
  walk(layer).map((path) => ({ path, layer, imports: importsOf(readFileSync(join(ROOT, path), 'utf8')) })),
);

/** The root-relative .ts file a relative import names. */
function target(from: string, spec: string): string {
  return relative(ROOT, resolve(ROOT, dirname(from), spec)).replace(/\\/g, '/').replace(/\.js$/, '.ts');
}

const layerOf = (path: string): Layer | undefined => LAYERS.find((l) => path.startsWith(`${l}/`));

test('the scan sees every layer and the imports in them', () => {
  for (const l of LAYERS) assert.ok(files.some((f) => f.layer === l), `no files found in ${l}/`);
  assert.ok(files.find((f) => f.path === 'edge/coordinator.ts')!.imports.some((i) => i.spec === '../api/routes.js'));
});

test('each layer imports only the layers below it', () => {
  const bad: string[] = [];
  for (const f of files) {
    for (const i of f.imports) {
      if (!i.spec.startsWith('.')) continue;
      const to = layerOf(target(f.path, i.spec));
      if (to === undefined) bad.push(`${f.path} imports ${i.spec}, outside the layers`);
      else if (to !== f.layer && !MAY_IMPORT[f.layer].includes(to)) bad.push(`${f.path} (${f.layer}/) imports ${to}/ (${i.spec})`);
    }
  }
  assert.equal(bad, []);
});

test('core and api import no platform and no package beyond their own', () => {
  const bad: string[] = [];
  for (const f of files) {
    const allowed = MAY_USE[f.layer];
    if (allowed === undefined) continue;
    for (const i of f.imports) if (!i.spec.startsWith('.') && !allowed(i.spec)) bad.push(`${f.path} imports ${i.spec}`);
  }
  assert.equal(bad, []);
});

test('a benchmark measures the edge or the node, never both in one file', () => {
  for (const f of files.filter((x) => x.layer === 'bench')) {
    const sides = new Set(f.imports.filter((i) => i.spec.startsWith('.')).map((i) => layerOf(target(f.path, i.spec))).filter((l) => l === 'edge' || l === 'node'));
    assert.ok(sides.size <= 1, `${f.path} imports both edge/ and node/`);
  }
});

test('the edge’s runtime-neutral files import nothing of Node (the Worker bundles them)', () => {
  const bad: string[] = [];
  for (const f of files.filter((x) => x.layer === 'edge' && !EDGE_NODE_ONLY.has(x.path))) {
    for (const i of f.imports) {
      if (i.typeOnly) continue;
      const nodeOnly = i.spec.startsWith('node:') || ['better-sqlite3', 'ws', '@hono/node-server'].some((p) => i.spec === p || i.spec.startsWith(`${p}/`));
      const platform = i.spec.startsWith('.') && layerOf(target(f.path, i.spec)) === 'platform';
      if (nodeOnly || platform || (i.spec.startsWith('.') && EDGE_NODE_ONLY.has(target(f.path, i.spec)))) bad.push(`${f.path} imports ${i.spec}`);
    }
  }
  assert.equal(bad, []);
});

test('no import cycles between files (type-only imports aside)', () => {
  const graph = new Map(files.map((f) => [f.path, f.imports.filter((i) => !i.typeOnly && i.spec.startsWith('.')).map((i) => target(f.path, i.spec))]));
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (node: string, stack: string[]) => {
    state.set(node, 'open');
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next].join(' → '));
      else if (!state.has(next)) visit(next, [...stack, next]);
    }
    state.set(node, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f, [f]);
  assert.equal(cycles, []);
});

test.run();
