/**
 * What travels on a node's sector WebSocket (JSON text frames), in both
 * directions, and the runtime-neutral handling of what a node sends.
 *
 * Edge → node: `welcome` on connect; `headers` relayed from any sector;
 * `main-assignment` to the sectors drawn to record a MAIN tx;
 * `witness-request` to the sectors drawn to witness a conversion; `reply` to
 * a node's own message. Assignments carry the tx, its window, the beacon and
 * the whole selection, so a node recomputes the draw before acting on it.
 *
 * Node → edge: `{type:'headers', id?, headers:[hex]}` (the same checks as
 * POST /v1/sectors/:id/headers, already authenticated by the socket) and
 * `{type:'ping', id?}`. Anything else gets a `reply` with a 400 error.
 * @module
 */
import type { HeaderJson } from './header-tree.js';
import type { ProofJson } from './input.js';
import { errorBody } from './errors.js';

export interface SelectionJson {
  order: number[];
  primary: number[];
  fallback: number[];
}

interface AssignmentBase {
  txid: string;
  /** The signed tx, hex of its core encoding. */
  tx: string;
  /** The window the tx arrived in; the draw uses R_{window+1}. */
  window: number;
  beaconWindow: number;
  beacon: string;
  selection: SelectionJson;
}

export interface MainAssignment extends AssignmentBase {
  type: 'main-assignment';
  purpose: 'record';
}

export interface WitnessRequest extends AssignmentBase {
  type: 'witness-request';
  purpose: 'witness';
  /** Where the convert tx is confirmed: its block header and inclusion proof. */
  origin: { sectorId: number; blockId: string; height: number; header: string; proof: ProofJson };
}

export type EdgeMessage =
  | { type: 'welcome'; sectorId: number; key: string }
  | { type: 'headers'; sectorId: number; headers: HeaderJson[] }
  | MainAssignment
  | WitnessRequest
  | { type: 'reply'; id: string | number | null; status: number; body: unknown };

/** A message for every node of the listed sectors. */
export interface Push {
  sectors: number[];
  message: EdgeMessage;
}

/** The largest frame a node may send (a full headers batch fits). */
export const MAX_NODE_MESSAGE_BYTES = 512 * 1024;

/** What handling a node's message needs of the coordinator: one request in, one answer out. */
export interface NodeMessageBackend {
  handle(req: {
    op: 'headers';
    params: Record<string, string>;
    body: unknown;
    nodeKey: string;
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
): Promise<{ reply: EdgeMessage; pushes: Push[] }> {
  const reply = (id: string | number | null, status: number, body: unknown): EdgeMessage => ({ type: 'reply', id, status, body });
  const size = typeof data === 'string' ? data.length : data.byteLength;
  if (size > MAX_NODE_MESSAGE_BYTES) return { reply: reply(null, 413, errorBody('body-too-large', `frames are at most ${MAX_NODE_MESSAGE_BYTES} bytes`)), pushes: [] };
  let msg: unknown;
  try {
    msg = JSON.parse(typeof data === 'string' ? data : new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch {
    return { reply: reply(null, 400, errorBody('bad-json', 'frames are JSON text')), pushes: [] };
  }
  const m = (typeof msg === 'object' && msg !== null && !Array.isArray(msg) ? msg : {}) as Record<string, unknown>;
  const id = typeof m.id === 'string' || typeof m.id === 'number' ? m.id : null;
  if (m.type === 'ping') return { reply: reply(id, 200, { type: 'pong' }), pushes: [] };
  if (m.type === 'headers') {
    const r = await backend.handle({ op: 'headers', params: { sector: String(sectorId) }, body: { headers: m.headers }, nodeKey });
    return { reply: reply(id, r.status, r.body), pushes: r.pushes };
  }
  return { reply: reply(id, 400, errorBody('bad-request', 'a frame is {"type":"headers","headers":[hex]} or {"type":"ping"}')), pushes: [] };
}

/** The pushes grouped per sector, each sector's messages in order. */
export function messagesBySector(pushes: readonly Push[]): Map<number, EdgeMessage[]> {
  const out = new Map<number, EdgeMessage[]>();
  for (const p of pushes) {
    for (const s of p.sectors) {
      let list = out.get(s);
      if (list === undefined) out.set(s, (list = []));
      list.push(p.message);
    }
  }
  return out;
}
