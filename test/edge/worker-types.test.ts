// edge/workers-types.d.ts declares by hand the part of the Workers runtime
// that edge/worker.ts uses (the generated types clash with Node's). This test
// generates the runtime's own types with `wrangler types` (offline, for the
// compatibility date in wrangler.toml) and type-checks that the runtime's
// objects satisfy every hand-written declaration.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(import.meta.url);

/** The hand-written declarations as a namespace `Local`, beside the runtime's globals. */
function localAsNamespace(): string {
  const src = readFileSync(join(ROOT, 'edge/workers-types.d.ts'), 'utf8');
  const cut = src.indexOf("declare module 'cloudflare:workers'");
  assert.ok(cut > 0, 'the declarations end with the cloudflare:workers module');
  const body = src.slice(0, cut).replace('declare const WebSocketPair', 'const WebSocketPair');
  return `declare namespace Local {\n${body}\n}\n`;
}

const CHECK = `
import { DurableObject } from 'cloudflare:workers';
declare const state: DurableObjectState;
declare const socket: WebSocket;
declare const context: ExecutionContext;
export const s1: Local.DurableObjectState = state;
export const s2: Local.DurableObjectStorage = state.storage;
export const s3: Local.SqlStorage = state.storage.sql;
export const s4: Local.SqlStorageCursor<{ n: number }> = state.storage.sql.exec<{ n: number }>('SELECT 1 AS n');
export const s5: Local.DurableObjectId = state.id;
export const w1: Local.WorkerWebSocket = socket;
export const w2: { 0: Local.WorkerWebSocket; 1: Local.WorkerWebSocket } = new WebSocketPair();
export const e1: Local.ExecutionContext = context;
export const r1: Response = new Response(null, { status: 101, webSocket: new WebSocketPair()[0] });
export class Probe extends DurableObject<{ X: string }> {
  state(): Local.DurableObjectState { return this.ctx; }
  env2(): { X: string } { return this.env; }
  webSocketMessage(ws: Local.WorkerWebSocket, message: string | ArrayBuffer): void { ws.send(message); }
}
`;

test('edge/workers-types.d.ts agrees with the runtime types wrangler generates', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pouw-worker-types-'));
  try {
    const wrangler = join(require.resolve('wrangler/package.json'), '..', 'bin', 'wrangler.js');
    execFileSync(process.execPath, [wrangler, 'types', join(dir, 'runtime.d.ts'), '--include-env=false', '-c', join(ROOT, 'wrangler.toml')], {
      cwd: ROOT,
      env: { ...process.env, WRANGLER_HIDE_BANNER: 'true', WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', NO_COLOR: '1' },
      stdio: 'pipe',
      timeout: 120_000,
    });
    writeFileSync(join(dir, 'local.d.ts'), localAsNamespace());
    writeFileSync(join(dir, 'check.ts'), CHECK);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, types: [], lib: ['es2022'], target: 'es2022', module: 'esnext', moduleResolution: 'bundler', skipLibCheck: false },
        files: ['runtime.d.ts', 'local.d.ts', 'check.ts'],
      }),
    );
    const tsc = join(require.resolve('typescript/package.json'), '..', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8', timeout: 120_000 });
    assert.is(r.status, 0, `tsc: ${r.stdout}${r.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
