/**
 * Messages between the nodes of one sector (the WebSocket P2P protocol), and
 * block locators for headers-first sync.
 *
 * A message is one binary WebSocket frame: u8 type ‖ body. Every body has a
 * hard size limit and decodes strictly (core/codec.ts): unknown types are
 * `codec-bad-enum`, oversize lists `codec-oversize`, and a frame longer than
 * `MAX_MESSAGE_BYTES` is refused before decoding. The transport, peer scores
 * and timers live in the node; this file is pure.
 * @module
 */
import { decodeExact, encodeWith, type Reader, type Writer } from './codec.js';
import { CodecError } from './errors.js';
import { readHeader, writeHeader, type BlockHeader } from './header.js';

export const WIRE_VERSION = 1;
/** The largest frame a node reads: a maximal block plus framing. */
export const MAX_MESSAGE_BYTES = 6 << 20;
export const MAX_LOCATOR = 64;
export const MAX_HEADERS = 2000;
export const MAX_INV = 1000;

export type Message =
  | {
      type: 'hello';
      version: number;
      /** Network id, sector id and genesis id must match or the peer is dropped. */
      networkId: Uint8Array;
      sectorId: number;
      genesisId: Uint8Array;
      tipHeight: number;
      tipId: Uint8Array;
      /** Where this node accepts connections (ws URL), empty when it does not listen. */
      listen: string;
    }
  | { type: 'get-headers'; locator: Uint8Array[]; stop: Uint8Array }
  | { type: 'headers'; headers: BlockHeader[] }
  | { type: 'get-blocks'; ids: Uint8Array[] }
  | { type: 'block'; block: Uint8Array }
  | { type: 'inv'; kind: 'block' | 'tx'; ids: Uint8Array[] }
  | { type: 'get-txs'; ids: Uint8Array[] }
  | { type: 'tx'; tx: Uint8Array }
  | { type: 'ping'; nonce: bigint }
  | { type: 'pong'; nonce: bigint }
  | { type: 'reject'; code: string; detail: string };

export type MessageType = Message['type'];
const TYPES: MessageType[] = ['hello', 'get-headers', 'headers', 'get-blocks', 'block', 'inv', 'get-txs', 'tx', 'ping', 'pong', 'reject'];
const INV_KINDS = ['block', 'tx'] as const;

const writeIds = (w: Writer, ids: readonly Uint8Array[], max: number) => w.list(ids, max, (w2, id) => w2.fixed(id, 32));
const readIds = (r: Reader, max: number, what: string) => r.list(max, (r2) => r2.fixed(32, what), what);
/** Text fields (URLs, codes, details) are printable ASCII: nothing to normalise, nothing to spoof. */
const text = (s: string) => {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) throw new RangeError(`non-printable-ASCII character in ${JSON.stringify(s)}`);
    out[i] = c;
  }
  return out;
};
const readText = (r: Reader, max: number, what: string) => {
  const bytes = r.bytes(max, what);
  let s = '';
  for (const c of bytes) {
    if (c < 0x20 || c > 0x7e) throw new CodecError('codec-bad-value', `${what}: not printable ASCII`);
    s += String.fromCharCode(c);
  }
  return s;
};

export function encodeMessage(m: Message): Uint8Array {
  return encodeWith((w) => {
    w.u8(TYPES.indexOf(m.type));
    switch (m.type) {
      case 'hello':
        w.u32(m.version).fixed(m.networkId, 32).u32(m.sectorId).fixed(m.genesisId, 32);
        w.u64(BigInt(m.tipHeight)).fixed(m.tipId, 32).bytes(text(m.listen), 256);
        break;
      case 'get-headers':
        writeIds(w, m.locator, MAX_LOCATOR);
        w.fixed(m.stop, 32);
        break;
      case 'headers':
        w.list(m.headers, MAX_HEADERS, writeHeader);
        break;
      case 'get-blocks':
      case 'get-txs':
        writeIds(w, m.ids, MAX_INV);
        break;
      case 'block':
        w.bytes(m.block, MAX_MESSAGE_BYTES - 16);
        break;
      case 'tx':
        w.bytes(m.tx, 4096);
        break;
      case 'inv':
        w.u8(INV_KINDS.indexOf(m.kind));
        writeIds(w, m.ids, MAX_INV);
        break;
      case 'ping':
      case 'pong':
        w.u64(m.nonce);
        break;
      case 'reject':
        w.bytes(text(m.code), 64).bytes(text(m.detail), 512);
        break;
    }
  });
}

export function decodeMessage(frame: Uint8Array): Message {
  if (frame.length > MAX_MESSAGE_BYTES) throw new CodecError('codec-oversize', `message of ${frame.length} bytes`);
  return decodeExact(
    frame,
    (r): Message => {
      const code = r.u8('message type');
      const type = TYPES[code];
      switch (type) {
        case 'hello': {
          const version = r.u32('version');
          const networkId = r.fixed(32, 'network id');
          const sectorId = r.u32('sector id');
          const genesisId = r.fixed(32, 'genesis id');
          const height = r.u64('tip height');
          if (height > BigInt(Number.MAX_SAFE_INTEGER)) throw new CodecError('codec-out-of-range', 'tip height');
          return { type, version, networkId, sectorId, genesisId, tipHeight: Number(height), tipId: r.fixed(32, 'tip id'), listen: readText(r, 256, 'listen') };
        }
        case 'get-headers':
          return { type, locator: readIds(r, MAX_LOCATOR, 'locator'), stop: r.fixed(32, 'stop') };
        case 'headers':
          return { type, headers: r.list(MAX_HEADERS, readHeader, 'headers') };
        case 'get-blocks':
        case 'get-txs':
          return { type, ids: readIds(r, MAX_INV, 'ids') };
        case 'block':
          return { type, block: r.bytes(MAX_MESSAGE_BYTES - 16, 'block') };
        case 'tx':
          return { type, tx: r.bytes(4096, 'tx') };
        case 'inv': {
          const kind = INV_KINDS[r.u8('inv kind')];
          if (kind === undefined) throw new CodecError('codec-bad-enum', 'inv kind');
          return { type, kind, ids: readIds(r, MAX_INV, 'ids') };
        }
        case 'ping':
        case 'pong':
          return { type, nonce: r.u64('nonce') };
        case 'reject':
          return { type, code: readText(r, 64, 'code'), detail: readText(r, 512, 'detail') };
        default:
          throw new CodecError('codec-bad-enum', `message type ${code}`);
      }
    },
    'message',
  );
}

/**
 * Heights of a block locator for a chain whose tip is at `tipHeight`: the
 * last ten, then doubling steps back, always ending at genesis (Bitcoin's
 * scheme, at most MAX_LOCATOR entries).
 */
export function locatorHeights(tipHeight: number): number[] {
  const out: number[] = [];
  let step = 1;
  for (let h = tipHeight; h > 0 && out.length < MAX_LOCATOR - 1; h -= step) {
    out.push(h);
    if (out.length >= 10) step *= 2;
  }
  out.push(0);
  return out;
}

/** The first locator entry `isOnBestChain` accepts: where a peer's chain meets ours (genesis at worst). */
export function forkPoint(locator: readonly Uint8Array[], isOnBestChain: (id: Uint8Array) => boolean): Uint8Array | undefined {
  return locator.find(isOnBestChain);
}
