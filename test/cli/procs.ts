/**
 * Real `pouw` processes for multi-node tests: each node is `node bin/pouw.js
 * node start --json` with its NDJSON events collected, its API reachable
 * once it is ready, and a private XDG home so keys and config stay in the
 * test's temporary directory.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from '../wait.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(ROOT, 'bin', 'pouw.js');

/** process.env without POUW_* (so the developer's settings do not leak in), with a private home under `home`. */
export function cleanEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('POUW_')) env[k] = v;
  return { ...env, XDG_DATA_HOME: join(home, 'xdg-data'), XDG_CONFIG_HOME: join(home, 'xdg-config'), NO_COLOR: '1', ...extra };
}

export interface NodeProc {
  child: ChildProcess;
  events: Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
  api: string;
  p2p: string;
  /** The node's api.cookie, for `--api-cookie`. */
  cookie: string;
}

/** Starts `pouw node start --json ...args` and resolves once it reported `ready`. */
export async function startNode(home: string, args: string[]): Promise<NodeProc> {
  const child = spawn(process.execPath, [BIN, 'node', 'start', '--json', ...args], { cwd: ROOT, env: cleanEnv(home), stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Record<string, unknown>[] = [];
  let buf = '';
  let err = '';
  child.stdout!.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      events.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  });
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  let gone = false;
  void exited.then(() => (gone = true));
  await until(() => {
    if (gone) throw new Error(`node exited before it was ready:\n${err}`);
    return events.some((e) => e.type === 'ready');
  });
  const ready = events.find((e) => e.type === 'ready')!;
  tokens.set(String(ready.api), readFileSync(String(ready.cookie), 'utf8').trim());
  return { child, events, exited, stderr: () => err, api: String(ready.api), p2p: String(ready.p2p), cookie: String(ready.cookie) };
}

/** Stops with SIGINT and returns the exit code (a clean stop is 0). */
export async function stopNode(n: NodeProc): Promise<number | null> {
  if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGINT');
  return (await n.exited).code;
}

/** Runs `pouw ...args --json` to completion and returns its JSON result. */
export function pouwJson(home: string, args: string[]): any {
  const r = spawnSync(process.execPath, [BIN, ...args, '--json'], { cwd: ROOT, env: cleanEnv(home), encoding: 'utf8', timeout: 150_000 });
  if (r.status !== 0) throw new Error(`pouw ${args.join(' ')} exited ${r.status}: ${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** The cookie token of each node started here, by API URL. */
const tokens = new Map<string, string>();

/** GET (or POST with a body, with the node's cookie token) on a node's API; resolves to the JSON answer, or undefined for a 404. */
export async function api(base: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${base}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.get(base) ?? ''}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 404) return undefined;
  const json = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/**
 * Brings mining nodes to rest on one tip: pauses every miner but the first,
 * lets the first mine one more block (so no tie between equal-work branches
 * survives), pauses it, and waits until all report the same tip.
 */
export async function settle(nodes: NodeProc[], timeoutMs = 60_000): Promise<{ height: number; id: string; cumulativeWork: string }> {
  for (const n of nodes.slice(1)) await api(n.api, '/v1/mining', { active: false });
  const from = (await api(nodes[0]!.api, '/v1/status')).tip.height as number;
  await until(async () => (await api(nodes[0]!.api, '/v1/status')).tip.height > from, timeoutMs, 50);
  await api(nodes[0]!.api, '/v1/mining', { active: false });
  let tip: { height: number; id: string; cumulativeWork: string } | undefined;
  await until(async () => {
    const tips = await Promise.all(nodes.map(async (n) => (await api(n.api, '/v1/status')).tip));
    tip = tips[0];
    return tips.every((t) => t.id === tips[0].id);
  }, timeoutMs, 50);
  return tip!;
}
