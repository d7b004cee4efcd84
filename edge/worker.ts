/// <reference path="./workers-types.d.ts" />
/**
 * Cloudflare Worker entry of the edge coordinator.
 *
 * - The Worker itself is stateless: it runs the Hono app (edge/app.ts) and
 *   sends each request to the coordinator Durable Object over RPC.
 * - `CoordinatorObject` (one per network) holds everything in its SQLite
 *   storage: the sectors' header trees, beacons, MAIN txs and assignments,
 *   conversions, records and challenges (rate buckets in its memory). It runs
 *   `Coordinator.handle` (one storage transaction per request) and an alarm
 *   at the end of the earliest window a pending assignment waits on.
 * - `SectorHub` (one per sector) holds that sector's nodes' WebSockets with
 *   the hibernation API (`ctx.acceptWebSocket`), so idle sockets cost
 *   nothing; frames a node sends (headers) go to the coordinator, and pushes
 *   reach the hubs by RPC (`deliver`).
 * Objects are named after the network id, so a new spec starts from empty
 * state instead of reading an old network's.
 *
 * Configuration: POUW_SPEC / POUW_GENESIS_TIME / POUW_LIMITS (edge/config.ts)
 * as [vars] or secrets. Client addresses come from `cf-connecting-ip`.
 * @module
 */
import { DurableObject } from 'cloudflare:workers';
import type { Hono } from 'hono';
import { toHex } from '../core/bytes.js';
import { networkId } from '../core/genesis.js';
import { createApp } from './app.js';
import { limitsFromEnv, specFromEnv, type EdgeEnv } from './config.js';
import { Coordinator, type EdgeRequest, type EdgeResponse } from './coordinator.js';
import type { EdgeFrame } from '../api/frames.js';
import { errorBody } from '../api/errors.js';
import { handleNodeMessage, messagesBySector, type Push } from './messages.js';
import { durableObjectSql } from './sql.js';
import { r2BlobStore } from './blobs.js';

export interface Env extends EdgeEnv {
  COORDINATOR: DurableObjectNamespace<CoordinatorObject>;
  HUB: DurableObjectNamespace<SectorHub>;
  /** Task blobs (wrangler.toml `[[r2_buckets]]`); without the binding the blob routes answer `blobs-unavailable`. */
  BLOBS?: R2Bucket;
}

const networkKeys = new Map<string, string>();

/** "<network name>:<network id>" of the configured spec (computed once per configuration). */
function networkKey(env: Env): string {
  const config = `${env.POUW_SPEC ?? ''}|${env.POUW_GENESIS_TIME ?? ''}`;
  let key = networkKeys.get(config);
  if (key === undefined) {
    const spec = specFromEnv(env);
    key = `${spec.name}:${toHex(networkId(spec))}`;
    networkKeys.set(config, key);
  }
  return key;
}

function coordinatorOf(env: Env) {
  return env.COORDINATOR.get(env.COORDINATOR.idFromName(`coordinator:${networkKey(env)}`));
}

function hubOf(env: Env, sectorId: number) {
  return env.HUB.get(env.HUB.idFromName(`hub:${networkKey(env)}:${sectorId}`));
}

/** Delivers pushes to the hubs of their sectors. */
async function publish(env: Env, pushes: readonly Push[]): Promise<void> {
  const bySector = messagesBySector(pushes);
  await Promise.all([...bySector].map(([sectorId, messages]) => hubOf(env, sectorId).deliver(messages)));
}

export class CoordinatorObject extends DurableObject<Env> {
  private readonly coordinator: Coordinator;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.coordinator = new Coordinator(durableObjectSql(ctx.storage), { spec: specFromEnv(env), limits: limitsFromEnv(env) });
  }

  /** One API request (RPC from the Worker or a hub). */
  async handle(req: EdgeRequest): Promise<EdgeResponse> {
    const res = this.coordinator.handle(req);
    if (res.wakeAtMs) await this.wakeAt(res.wakeAtMs);
    return res;
  }

  /** A window a pending assignment waits on has ended: assign what can be, push it. */
  async alarm(): Promise<void> {
    const res = this.coordinator.handle({ op: 'advance' });
    await publish(this.env, res.pushes);
    if (res.wakeAtMs) await this.wakeAt(res.wakeAtMs);
  }

  private async wakeAt(atMs: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > atMs) await this.ctx.storage.setAlarm(atMs);
  }
}

interface SocketInfo {
  sectorId: number;
  key: string;
  ip: string;
}

export class SectorHub extends DurableObject<Env> {
  /** Accepts a node's socket; the Worker has authenticated it and names it in x-pouw-sector / x-pouw-node-key. */
  async fetch(request: Request): Promise<Response> {
    const sectorId = Number(request.headers.get('x-pouw-sector'));
    const key = request.headers.get('x-pouw-node-key') ?? '';
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket' || !Number.isSafeInteger(sectorId) || key === '') {
      return Response.json({ error: { code: 'bad-request', message: 'hubs take authenticated WebSocket upgrades from the Worker' } }, { status: 400 });
    }
    const ip = request.headers.get('x-pouw-ip') ?? 'unknown';
    const max = limitsFromEnv(this.env).maxSocketsPerIp;
    if (this.ctx.getWebSockets(`ip:${ip}`).length >= max) {
      return Response.json(errorBody('too-many-sockets', `this address already holds ${max} node sockets of this sector`), { status: 429 });
    }
    const pair = new WebSocketPair();
    const server = pair[1];
    this.ctx.acceptWebSocket(server, [`key:${key}`, `ip:${ip}`]);
    server.serializeAttachment({ sectorId, key, ip } satisfies SocketInfo);
    server.send(JSON.stringify({ type: 'welcome', sectorId, key } satisfies EdgeFrame));
    return new Response(null, { status: 101, webSocket: pair[0] } as ResponseInit);
  }

  /** Sends messages to every socket of this sector; returns how many sockets got them. */
  deliver(messages: EdgeFrame[]): number {
    const frames = messages.map((m) => JSON.stringify(m));
    let sent = 0;
    for (const ws of this.ctx.getWebSockets()) {
      try {
        for (const f of frames) ws.send(f);
        sent++;
      } catch {
        // A socket closing under us misses the push; the node resyncs from the API.
      }
    }
    return sent;
  }

  async webSocketMessage(ws: WorkerWebSocket, data: string | ArrayBuffer): Promise<void> {
    const { sectorId, key, ip } = ws.deserializeAttachment() as SocketInfo;
    const backend = { handle: (req: EdgeRequest) => coordinatorOf(this.env).handle(req) };
    const { reply, pushes, close } = await handleNodeMessage(backend, sectorId, key, data, ip);
    ws.send(JSON.stringify(reply));
    await publish(this.env, pushes);
    // Protocol pings are answered by the runtime and never reach this object; every other frame counts.
    if (close) ws.close(close.code, close.reason);
  }

  webSocketClose(ws: WorkerWebSocket, code: number, reason: string): void {
    try {
      ws.close(code === 1005 ? 1000 : code, reason);
    } catch {
      // Already closed.
    }
  }
}

const apps = new WeakMap<object, Hono>();

function appFor(env: Env): Hono {
  let app = apps.get(env);
  if (app === undefined) {
    app = createApp({
      backend: { handle: (req) => coordinatorOf(env).handle(req) },
      ...(env.BLOBS ? { blobs: r2BlobStore(env.BLOBS) } : {}),
      hub: {
        accept: (c, sectorId, key, ip) => {
          const headers = new Headers(c.req.raw.headers);
          headers.set('x-pouw-sector', String(sectorId));
          headers.set('x-pouw-node-key', key);
          headers.set('x-pouw-ip', ip);
          return hubOf(env, sectorId).fetch(new Request(c.req.url, { headers }));
        },
        publish: (pushes) => publish(env, pushes),
      },
      clientIp: (c) => c.req.header('cf-connecting-ip') ?? 'unknown',
      log: (line) => console.error(line),
    });
    apps.set(env, app);
  }
  return app;
}

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    return appFor(env).fetch(request, env, ctx);
  },
};
