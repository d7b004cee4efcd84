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
 * The close code of a node socket whose frames ran over its address's or key's
 * budget. A client that keeps sending past its budget loses the socket instead
 * of an error reply per frame: answering a flood frame by frame is the flood.
 * It reconnects through a signed ticket request, which spends the same budget.
 */
export const CLOSE_RATE_LIMITED = 4029;

/** The answer to one node frame: the reply, the pushes to fan out, and a close when the socket must go. */
export interface NodeMessageResult {
  reply: EdgeFrame;
  pushes: Push[];
  close?: { code: number; reason: string };
}

const overBudget = (status: number, body: unknown): NodeMessageResult['close'] =>
  status === 429 && (body as { error?: { code?: string } } | undefined)?.error?.code === 'rate-limited'
    ? { code: CLOSE_RATE_LIMITED, reason: 'over the frame budget of this address or key' }
    : undefined;

/**
 * Handles one frame from an authenticated node of `sectorId`: the reply to
 * send back, the pushes to fan out, and whether to close the socket after
 * the reply (over budget: `CLOSE_RATE_LIMITED`).
 */
export async function handleNodeMessage(
  backend: NodeMessageBackend,
  sectorId: number,
  nodeKey: string,
  data: string | ArrayBuffer,
  ip?: string,
): Promise<NodeMessageResult> {
  const reply = (id: FrameId, status: number, body: unknown): EdgeFrame => ({ type: 'reply', id, status, body });
  const f = parseNodeFrame(data);
  const r = f.ok ? f.request : undefined;
  if (r === undefined || r.type === 'ping') {
    // Every frame counts against the socket's address and key, pings and garbage included.
    const gate = await backend.handle({ op: 'frame', ip, nodeKey });
    if (gate.status !== 200) return withClose({ reply: reply(f.ok ? f.request.id : f.id, gate.status, gate.body), pushes: [] }, gate);
    if (!f.ok) return { reply: reply(f.id, statusOf(f.code), errorBody(f.code, f.message)), pushes: [] };
    return { reply: reply(f.request.id, 200, { type: 'pong' }), pushes: [] };
  }
  const answer =
    r.type === 'headers'
      ? await backend.handle({ op: 'headers', params: { sector: String(sectorId) }, body: r.body, nodeKey, ip })
      : await backend.handle({ op: r.kind === 'main' ? 'main-record' : 'conversion-record', params: { txid: String(r.txid) }, body: r.body, nodeKey, ip });
  return withClose({ reply: reply(r.id, answer.status, answer.body), pushes: answer.pushes }, answer);
}

function withClose(result: NodeMessageResult, answer: { status: number; body: unknown }): NodeMessageResult {
  const close = overBudget(answer.status, answer.body);
  return close ? { ...result, close } : result;
}

/**
 * Counts a protocol-level ping (a control frame the WebSocket library answers
 * by itself, never seen by `handleNodeMessage`) against the socket's budget;
 * the close to apply when it is over.
 */
export async function countControlFrame(backend: NodeMessageBackend, nodeKey: string, ip?: string): Promise<NodeMessageResult['close']> {
  const gate = await backend.handle({ op: 'frame', ip, nodeKey });
  return overBudget(gate.status, gate.body);
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
