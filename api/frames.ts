/**
 * What travels on a node's sector WebSocket (`GET /v1/sectors/:sector/ws`),
 * as JSON text frames, in both directions: each frame type with its writer
 * and its parser, one definition for the edge and the node.
 *
 * Edge → node: `welcome` on connect; `headers` relayed from any sector;
 * `main-assignment` to the sectors drawn to record a MAIN tx;
 * `witness-request` to the sectors drawn to witness a conversion; `reply` to
 * a node's own frame (with the status and body the same request gets over
 * HTTP). Assignments carry the tx, its window, the beacon and the whole
 * selection, so a node recomputes the draw before acting on it.
 *
 * Node → edge, each with an optional `id` its reply repeats:
 *   `{type:'headers', headers:[hex]}`  as POST /v1/sectors/:sector/headers;
 *   `{type:'record', kind:'main'|'witness', txid, sectorId, header, proof}`
 *                                      as POST /v1/main/tx/:txid/records or
 *                                      /v1/conversions/:txid/records;
 *   `{type:'ping'}`                    answered `{type:'pong'}`.
 * The socket was authenticated when it opened, so these frames carry no
 * signature of their own.
 *
 * Pure: no sockets here.
 * @module
 */
import type { BodyInclusionProof } from '../core/block.js';
import { toHex } from '../core/bytes.js';
import type { BlockHeader } from '../core/header.js';
import type { Selection } from '../core/select.js';
import type { Lock } from '../core/lock.js';
import type { Tx } from '../core/tx.js';
import {
  HASH_BYTES,
  headerHex,
  headerOf,
  hexOf,
  intOf,
  listOf,
  objectOf,
  proofOf,
  selectionJson,
  selectionOf,
  txidOf,
  lockOf,
  txOf,
  type HeaderJson,
  type WorkHeader,
  workHeaderHex,
  type ProofJson,
  type SelectionJson,
} from './codec.js';
import { BODY_LIMITS, recordReportJson, type RecordReport, type RecordReportJson } from './routes.js';

/** The largest frame a node may send: the headers route's body limit, so a full batch fits. */
export const MAX_NODE_FRAME_BYTES = BODY_LIMITS.headers;

export type FrameId = string | number | null;

// ---- edge → node ----

interface AssignmentBase {
  txid: string;
  /** The signed tx, hex of its core encoding; in a witness request, the lock (core/lock.ts: a Convert tx, or a recycle lock). */
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

export interface OriginJson {
  sectorId: number;
  blockId: string;
  height: number;
  header: string;
  proof: ProofJson;
}

export interface WitnessRequest extends AssignmentBase {
  type: 'witness-request';
  purpose: 'witness';
  /** Where the lock is confirmed: its block header and inclusion proof. */
  origin: OriginJson;
}

export type EdgeFrame =
  | { type: 'welcome'; sectorId: number; key: string }
  | { type: 'headers'; sectorId: number; headers: HeaderJson[] }
  | MainAssignment
  | WitnessRequest
  | { type: 'reply'; id: FrameId; status: number; body: unknown };

/**
 * An edge frame as a node receives it: the envelope checked, the items not
 * yet — each relayed header is decoded by the receiver, which refuses a bad
 * one alone, and an assignment by `parseAssignment`, so that a bad one is
 * refused with its txid named.
 */
export type ReceivedEdgeFrame = Exclude<EdgeFrame, { type: 'headers' }> | { type: 'headers'; sectorId: number; headers: unknown[] };

/** The hex header of a relayed `HeaderJson` item, unchecked (undefined when the item is not an object). */
export function relayedHeader(item: unknown): unknown {
  return typeof item === 'object' && item !== null ? (item as { header?: unknown }).header : undefined;
}

/** What an assignment says, as the edge holds it. */
export interface AssignmentInput {
  txid: Uint8Array;
  raw: Uint8Array;
  window: number;
  beaconWindow: number;
  beacon: Uint8Array;
  selection: Selection;
}

export function mainAssignmentFrame(a: AssignmentInput): MainAssignment {
  return { type: 'main-assignment', purpose: 'record', ...assignmentBase(a) };
}

export function witnessRequestFrame(a: AssignmentInput & { origin: { sectorId: number; blockId: Uint8Array; height: number; header: BlockHeader; proof: ProofJson } }): WitnessRequest {
  const o = a.origin;
  return {
    type: 'witness-request',
    purpose: 'witness',
    ...assignmentBase(a),
    origin: { sectorId: o.sectorId, blockId: toHex(o.blockId), height: o.height, header: headerHex(o.header), proof: o.proof },
  };
}

function assignmentBase(a: AssignmentInput): AssignmentBase {
  return {
    txid: toHex(a.txid),
    tx: toHex(a.raw),
    window: a.window,
    beaconWindow: a.beaconWindow,
    beacon: toHex(a.beacon),
    selection: selectionJson(a.selection),
  };
}

/** An assignment as a node reads it: every field decoded, nothing checked against the chain yet. */
export type ParsedAssignment = ({ kind: 'main'; tx: Tx } | { kind: 'witness'; lock: Lock }) & {
  txid: Uint8Array;
  window: number;
  beaconWindow: number;
  beacon: Uint8Array;
  claimed: Selection;
};

/** Decodes an assignment frame (a witness request's origin apart: `parseOrigin`); throws a coded PouwError naming the first bad field. */
export function parseAssignment(f: MainAssignment | WitnessRequest): ParsedAssignment {
  // A MAIN assignment carries its tx; a witness request its lock (core/lock.ts) in the same field.
  const subject = f.type === 'main-assignment' ? { kind: 'main' as const, tx: txOf(f.tx).tx } : { kind: 'witness' as const, lock: lockOf(f.tx).lock };
  return {
    ...subject,
    txid: txidOf(f.txid),
    beacon: hexOf(f.beacon, 'beacon', { exact: HASH_BYTES }),
    window: intOf(f.window, 'window', 0, Number.MAX_SAFE_INTEGER),
    beaconWindow: intOf(f.beaconWindow, 'beaconWindow', 0, Number.MAX_SAFE_INTEGER),
    claimed: selectionOf(f.selection),
  };
}

/** A witness request's origin, decoded; throws a coded PouwError naming the first bad field. */
export function parseOrigin(v: unknown): { sectorId: number; blockId: Uint8Array; height: number; header: BlockHeader; proof: BodyInclusionProof } {
  const o = objectOf(v, 'origin');
  return {
    sectorId: intOf(o.sectorId, 'origin.sectorId', 1, 0xffffffff),
    blockId: hexOf(o.blockId, 'origin.blockId', { exact: HASH_BYTES }),
    height: intOf(o.height, 'origin.height', 0, Number.MAX_SAFE_INTEGER),
    header: headerOf(o.header, 'origin.header'),
    proof: proofOf(o.proof),
  };
}

/** An edge frame's type and envelope, checked; undefined for what is not a frame of this protocol (a node ignores those). */
export function parseEdgeFrame(text: string): ReceivedEdgeFrame | undefined {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return undefined;
  const f = m as Record<string, unknown>;
  try {
    switch (f.type) {
      case 'welcome':
        return { type: 'welcome', sectorId: intOf(f.sectorId, 'sectorId', 1, 0xffffffff), key: String(f.key) };
      case 'headers':
        return {
          type: 'headers',
          sectorId: intOf(f.sectorId, 'sectorId', 1, 0xffffffff),
          headers: listOf(f.headers, 'headers', 100_000),
        };
      case 'reply':
        return { type: 'reply', id: frameIdOf(f.id), status: intOf(f.status, 'status', 100, 599), body: f.body };
      case 'main-assignment':
      case 'witness-request':
        return f as unknown as MainAssignment | WitnessRequest;
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}

// ---- node → edge ----

export type NodeFrame =
  | { type: 'ping'; id?: FrameId }
  | { type: 'headers'; id?: FrameId; headers: string[] }
  | ({ type: 'record'; id?: FrameId; kind: 'main' | 'witness'; txid: string } & RecordReportJson);

export function pingFrame(id?: FrameId): NodeFrame {
  return { type: 'ping', ...(id !== undefined ? { id } : {}) };
}

export function headersFrame(headers: readonly WorkHeader[], id?: FrameId): NodeFrame {
  return { type: 'headers', ...(id !== undefined ? { id } : {}), headers: headers.map(workHeaderHex) };
}

/** A record report on the socket: the same body as the HTTP route's, plus which tx it is for. */
export function recordFrame(kind: 'main' | 'witness', txid: Uint8Array, report: RecordReport, id?: FrameId): NodeFrame {
  return { type: 'record', ...(id !== undefined ? { id } : {}), kind, txid: toHex(txid), ...recordReportJson(report) };
}

/** What a node's frame asks for, before its body is parsed (the server parses it like the HTTP route's). */
export type NodeRequest =
  | { type: 'ping'; id: FrameId }
  | { type: 'headers'; id: FrameId; body: { headers: unknown } }
  | { type: 'record'; id: FrameId; kind: 'main' | 'witness'; txid: unknown; body: Record<string, unknown> };

/** A node's frame, read; a refusal carries its code (`body-too-large`, `bad-json`, `bad-request`). */
export function parseNodeFrame(
  data: string | ArrayBuffer,
): { ok: true; request: NodeRequest } | { ok: false; id: FrameId; code: string; message: string } {
  const size = typeof data === 'string' ? data.length : data.byteLength;
  if (size > MAX_NODE_FRAME_BYTES) return { ok: false, id: null, code: 'body-too-large', message: `frames are at most ${MAX_NODE_FRAME_BYTES} bytes` };
  let msg: unknown;
  try {
    msg = JSON.parse(typeof data === 'string' ? data : new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch {
    return { ok: false, id: null, code: 'bad-json', message: 'frames are JSON text' };
  }
  const m = (typeof msg === 'object' && msg !== null && !Array.isArray(msg) ? msg : {}) as Record<string, unknown>;
  const id = frameIdOf(m.id);
  if (m.type === 'ping') return { ok: true, request: { type: 'ping', id } };
  if (m.type === 'headers') return { ok: true, request: { type: 'headers', id, body: { headers: m.headers } } };
  if (m.type === 'record') {
    if (m.kind !== 'main' && m.kind !== 'witness') return { ok: false, id, code: 'bad-request', message: 'a record frame has kind "main" or "witness"' };
    const { type: _t, id: _i, kind, txid, ...body } = m;
    return { ok: true, request: { type: 'record', id, kind, txid, body } };
  }
  return {
    ok: false,
    id,
    code: 'bad-request',
    message: 'a frame is {"type":"headers","headers":[hex]}, {"type":"record","kind":"main"|"witness","txid",…} or {"type":"ping"}',
  };
}

function frameIdOf(v: unknown): FrameId {
  return typeof v === 'string' || typeof v === 'number' ? v : null;
}
