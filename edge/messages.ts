/**
 * The edge's side of a node's sector WebSocket: each frame a node sends
 * becomes the request its HTTP twin would make (api/frames.ts names them),
 * handed to the coordinator with the key the socket was authenticated with,
 * and the answer goes back as a `reply` frame with the route's status and
 * body. Also the pushes, the frames the edge sends to every node of some
 * sectors, grouped per sector for the runtime's hubs.
 * @module
 */
import { parseNodeFrame, type EdgeFrame, type FrameId } from '../api/frames.js';
import { errorBody } from '../api/errors.js';
import type { RouteName } from '../api/routes.js';
import { statusOf } from './errors.js';

/** A frame for every node of the listed sectors. */
export interface Push {
  sectors: number[];
  message: EdgeFrame;
}

/** What handling a node's frame needs of the coordinator: one request in, one answer out. */
export interface NodeMessageBackend {
  handle(req: {
    op: Extract<RouteName, 'headers' | 'main-record' | 'conversion-record'> | 'frame';
    params?: Record<string, string>;
    body?: unknown;
    nodeKey: string;
    /** The socket's address: its frames count against it too. */
    ip?: string;
  }): { status: number; body: unknown; pushes: Push[] } | Promise<{ status: number; body: unknown; pushes: Push[] }>;
}

/**
 * Handles one frame from an authenticated node of `sectorId`: the reply to
 * send back and the pushes to fan out.
 */
export async function handleNodeMessage(
  backend: NodeMessageBackend,
  sectorId: number,
  nodeKey: string,
  data: string | ArrayBuffer,
  ip?: string,
): Promise<{ reply: EdgeFrame; pushes: Push[] }> {
  const reply = (id: FrameId, status: number, body: unknown): EdgeFrame => ({ type: 'reply', id, status, body });
  const f = parseNodeFrame(data);
  const r = f.ok ? f.request : undefined;
  if (r === undefined || r.type === 'ping') {
    // Every frame counts against the socket's address and key, pings and garbage included.
    const gate = await backend.handle({ op: 'frame', ip, nodeKey });
    if (gate.status !== 200) return { reply: reply(f.ok ? f.request.id : f.id, gate.status, gate.body), pushes: [] };
    if (!f.ok) return { reply: reply(f.id, statusOf(f.code), errorBody(f.code, f.message)), pushes: [] };
    return { reply: reply(f.request.id, 200, { type: 'pong' }), pushes: [] };
  }
  const answer =
    r.type === 'headers'
      ? await backend.handle({ op: 'headers', params: { sector: String(sectorId) }, body: r.body, nodeKey, ip })
      : await backend.handle({ op: r.kind === 'main' ? 'main-record' : 'conversion-record', params: { txid: String(r.txid) }, body: r.body, nodeKey, ip });
  return { reply: reply(r.id, answer.status, answer.body), pushes: answer.pushes };
}

/** The pushes grouped per sector, each sector's frames in order. */
export function messagesBySector(pushes: readonly Push[]): Map<number, EdgeFrame[]> {
  const out = new Map<number, EdgeFrame[]>();
  for (const p of pushes) {
    for (const s of p.sectors) {
      let list = out.get(s);
      if (list === undefined) out.set(s, (list = []));
      list.push(p.message);
    }
  }
  return out;
}
