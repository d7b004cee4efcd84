/**
 * A sector node's link to the edge coordinator: it authenticates with the
 * node's ed25519 key, relays the node's new headers, follows every sector's
 * headers as a light client (node/header-view.ts), and checks the
 * assignments the edge pushes before taking them.
 *
 * Every request and frame is the contract's (api/routes.ts, api/frames.ts),
 * called through api/client.ts.
 *
 * - Connection: `POST /v1/auth/challenge` for our key, a signed
 *   `POST /v1/sectors/:id/ws-ticket`, then the sector WebSocket
 *   `GET /v1/sectors/:id/ws?ticket` (api/auth.ts). A lost or refused connection is
 *   retried with exponential backoff (with jitter) until `stop`; a socket
 *   that hears nothing for `idleMs` (pings included) is dropped and redialled.
 *   Every HTTP call has a timeout.
 * - Relay: every `block-connected` of the node is sent as a `headers` frame
 *   (coalesced over `relayDelayMs`). On each (re)connect, and whenever the
 *   edge answers `unknown-parent`, the headers since the edge's tip for this
 *   sector (`GET /v1/sectors/:id/tip`) are sent again; when that tip is not on
 *   our best chain, from further back, widening until the edge can place them.
 * - Light client: the edge's `headers` pushes (every sector's, ours included)
 *   feed the header view, which recomputes each window's beacon as soon as
 *   its anchors settle. On (re)connect every sector's tip
 *   (`GET /v1/sectors`) is fed too: the missing headers read from the edge
 *   (`GET /v1/sectors/:id/headers`) when the gap is small, else the tip, where
 *   a view that missed too much restarts.
 * - Records: every MAIN assignment taken goes to the node's record pool (the
 *   miner includes it); each record of a taken assignment in a block we relay
 *   is reported with its inclusion proof as a `record` frame on the socket
 *   (the frame twin of `POST /v1/main/tx/:txid/records`, which other tools
 *   may still use), and on (re)connect the records of the last 64 blocks are
 *   reported again.
 * - Assignments: a `main-assignment` or `witness-request` is taken only if
 *   its tx is signed for this network, its beacon window is window + 1, the
 *   beacon equals the one recomputed from our view, core `selectSectors`
 *   with that beacon and the txid gives the same order, and our sector is a
 *   primary; a witness request's origin header must also prove the convert tx.
 *   Refusals are events with a code (`assignment-beacon-mismatch`,
 *   `assignment-selection-mismatch`, `assignment-not-ours`, ...). When the
 *   view cannot recompute the beacon (its anchors lie before what it holds)
 *   the assignment is held apart as *unverified* — never recorded, in a
 *   bounded set (`maxUnverified`), promoted if our view later recomputes its
 *   beacon and it matches, dropped if it does not or once its window can no
 *   longer be recorded; when our beacon chain does not reach the window, this
 *   window's anchors are checked on the edge's published previous beacon
 *   (`'anchors'`); `'full'` means the whole chain back to R_{−1} was
 *   recomputed here. Only assignments whose beacon window is at most the next
 *   one by our clock, and whose tx window can still be recorded
 *   (`recordWindows`), are considered at all: a lying edge
 *   cannot pile up assignments for the future.
 *
 * - Witness requests: once our own view shows the lock's block on the
 *   origin's best chain with `mainConfirmations`, the witness record (with
 *   the lock proof) goes to the record pool; a fallback takes an assignment
 *   only after the primaries' deadline by our clock; the Convert txs of our
 *   own chain are reported as conversions once buried.
 *
 * Not done here: fetching other sectors' history beyond the backfill limit.
 * @module
 */
import { setTimeout as delay } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { EdgeApi, type Answer } from '../api/client.js';
import { workHeaderOf, type WorkHeader } from '../api/codec.js';
import {
  headersFrame,
  parseAssignment,
  parseEdgeFrame,
  parseOrigin,
  pingFrame,
  recordFrame,
  relayedHeader,
  type MainAssignment,
  type NodeFrame,
  type ParsedAssignment,
  type ReceivedEdgeFrame,
  type WitnessRequest,
} from '../api/frames.js';
import type { RecordReport } from '../api/routes.js';
import { bodyInclusionProof, bodyInclusionProofs, verifyBodyInclusion, type BodyInclusionProof } from '../core/block.js';
import { equalBytes, fromHex, toHex } from '../core/bytes.js';
import { PouwError } from '../core/errors.js';
import { networkId as computeNetworkId } from '../core/genesis.js';
import { blockId } from '../core/header.js';
import type { KeyPair } from '../core/keys.js';
import { recordDeadline } from '../core/main-ledger.js';
import { checkLock, encodeLock, lockId, lockLeaf, lockSector, type Lock } from '../core/lock.js';
import { blockWindowOf, decodeMainRecord, decodeWitnessRecord, recordTxid } from '../core/record.js';
import { selectSectors, type Selection } from '../core/select.js';
import { decodeSettlement } from '../core/settlement.js';
import { checkTx, MAIN_CHAIN, txId, type Tx } from '../core/tx.js';
import { HeaderView, type KnownBeacon } from './header-view.js';
import type { NodeEvent, SectorNode } from './sector-node.js';

/** Blocks below our tip whose MAIN records a (re)connect reports again. */
const REPORT_RECENT_BLOCKS = 64;
/** How a (re)connect reads the edge's header ranges. */
const BACKFILL_PAGE = 500;
const BACKFILL_OVERLAP = 8;
/** Work-proof bytes in one relay frame, so a batch stays within the headers route's body limit. */
const RELAY_FRAME_PROOF_BYTES = 1 << 20;

export type ConnectionState = 'connecting' | 'open' | 'closed';
export type AssignmentKind = 'main' | 'witness';
/** How much of an assignment's beacon this node recomputed (see the module header). */
export type BeaconCheck = 'full' | 'anchors' | 'unverified';

export interface AcceptedAssignment {
  kind: AssignmentKind;
  txid: string;
  window: number;
  beaconWindow: number;
  beacon: string;
  primary: number[];
  fallback: number[];
  beaconCheck: BeaconCheck;
  /** A witness request's origin sector. */
  origin?: number;
  /** Our place in the order: a primary, or a fallback standing in for a primary that did not record in time. */
  role: 'primary' | 'fallback';
  /** The last block window in which our record counts (core `recordDeadline`). */
  lastWindow: number;
  receivedMs: number;
}

/** Where a witness request's lock stands: the origin block and the lock's proof in it. */
interface Origin {
  sectorId: number;
  blockId: Uint8Array;
  proof: BodyInclusionProof;
}

/** What an assignment asks to record: a MAIN tx, or a witness request's lock with its origin. */
type Subject = { kind: 'main'; tx: Tx } | { kind: 'witness'; lock: Lock; origin: Origin };

export type EdgeClientEvent =
  | { type: 'edge-connection'; state: ConnectionState; url: string; reason?: string; retryInMs?: number }
  /** The edge took our headers; `height` is its tip of our sector after them. */
  | { type: 'edge-relayed'; sectorId: number; headers: number; height: number }
  | { type: 'edge-relay-refused'; code: string; message: string }
  /** A header the edge relayed that our checks refused. */
  | { type: 'edge-header-refused'; sectorId: number; height: number; code: string; detail: string }
  /** A window beacon recomputed from our header view. */
  | { type: 'edge-beacon'; window: number; beacon: string; check: Exclude<BeaconCheck, 'unverified'> }
  | ({ type: 'assignment-accepted' } & AcceptedAssignment)
  /** Checked but for its beacon, which our view cannot recompute yet: held apart until it can. */
  | ({ type: 'assignment-held' } & AcceptedAssignment)
  | { type: 'assignment-rejected'; kind: AssignmentKind; txid: string; window: number | null; code: string; detail: string }
  /** One of our blocks records an assigned MAIN tx; the edge was told (status 201/200) or refused it (status 0: no answer). */
  /** A Convert tx of our chain reported to the edge as a conversion (`code` when the edge refused it). */
  | { type: 'conversion-reported'; txid: string; height: number; code?: string }
  | { type: 'record-reported'; kind: AssignmentKind; txid: string; block: string; height: number; status: number; code?: string };

/** What the client needs of a sector node (SectorNode has it all; without `records` nothing is recorded). */
export type EdgeClientNode = Pick<SectorNode, 'options' | 'store' | 'chain' | 'on'> & Partial<Pick<SectorNode, 'records'>>;

export interface EdgeClientOptions {
  /** The edge's base URL, http://host:port. */
  url: string;
  node: EdgeClientNode;
  /** The node key the edge knows this node by. */
  key: KeyPair;
  now?: () => number;
  /** Timeout of every HTTP request and socket reply (default 10 000 ms). */
  requestTimeoutMs?: number;
  /** First retry delay after a failed connection, doubled per failure up to retryMaxMs (defaults 500 and 15 000). */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Ping period; a socket silent for 3 periods is dropped (default 15 000 ms). */
  pingMs?: number;
  /** New headers are coalesced for this long before a frame goes out (default 100 ms). */
  relayDelayMs?: number;
  /** Headers per frame (default 500; the edge takes up to 2 000). */
  relayBatch?: number;
  /** Headers the view keeps per sector (default 4096). */
  maxHeaders?: number;
  /** Largest gap per sector a (re)connect fills from the edge's header ranges (default 2048; 0: never, restart at the tip). */
  backfillMax?: number;
  /** Accepted assignments kept (default 1000). */
  maxAccepted?: number;
  /** Assignments whose beacon cannot be checked yet, held apart (default 64; more are refused). */
  maxUnverified?: number;
}

interface Pending {
  resolve(r: { status: number; body: any }): void;
  reject(e: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/** A wait that does not keep the process alive: it only bounds waits on things that do. */
const sleep = (ms: number) => delay(ms, undefined, { ref: false });
/** Windows one `HeaderView.advance` call computes. */
const BEACON_STEPS = 256;

export class EdgeClient {
  readonly view: HeaderView;
  /** Assignments that passed every check, oldest first. */
  readonly accepted: AcceptedAssignment[] = [];
  /** Assignments that passed every check but the beacon, which our view cannot recompute yet: never acted on. */
  private readonly held = new Map<string, { a: AcceptedAssignment; subject: Subject; beacon: Uint8Array }>();
  /** Locks of our chain (Convert txs, recycle entries) the edge took (bounded). */
  private readonly conversionsReported = new Set<string>();
  /** Taken witness requests whose lock our header view does not yet show buried on the origin's best chain. */
  private readonly locksWaiting = new Map<string, { a: AcceptedAssignment; lock: Lock; origin: Origin }>();
  /** The edge's API as this node calls it (authenticated with the node key). */
  readonly api: EdgeApi;
  private readonly url: string;
  private readonly sectorId: number;
  private readonly networkId: Uint8Array;
  private readonly now: () => number;
  private readonly timeoutMs: number;
  private listeners: ((e: EdgeClientEvent) => void)[] = [];
  private running = false;
  private ws?: WebSocket;
  private open = false;
  private failures = 0;
  private retryTimer?: ReturnType<typeof setTimeout>;
  private pingTimer?: ReturnType<typeof setInterval>;
  private relayTimer?: ReturnType<typeof setTimeout>;
  private lastHeardMs = 0;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  /** Ids of connected blocks not yet sent. */
  private queued: string[] = [];
  /** Relays and resyncs run one at a time, in order; so do assignment checks. */
  private relayChain: Promise<void> = Promise.resolve();
  private assignmentChain: Promise<void> = Promise.resolve();
  private connectionState: ConnectionState = 'closed';

  constructor(private readonly options: EdgeClientOptions) {
    const { spec, sector } = options.node.options;
    this.sectorId = sector.id;
    this.networkId = computeNetworkId(spec);
    this.now = options.now ?? Date.now;
    this.timeoutMs = options.requestTimeoutMs ?? 10_000;
    this.api = new EdgeApi({ url: options.url, timeoutMs: this.timeoutMs, node: { key: options.key, networkId: this.networkId } });
    this.url = this.api.url;
    this.view = new HeaderView(spec, { maxHeaders: options.maxHeaders });
    options.node.on((e) => this.onNodeEvent(e));
  }

  on(listener: (e: EdgeClientEvent) => void): void {
    this.listeners.push(listener);
  }

  private emit(e: EdgeClientEvent): void {
    for (const l of this.listeners) l(e);
  }

  get state(): ConnectionState {
    return this.connectionState;
  }

  private setState(state: ConnectionState, extra: { reason?: string; retryInMs?: number } = {}): void {
    this.connectionState = state;
    this.emit({ type: 'edge-connection', state, url: this.url, ...extra });
  }

  /** Starts connecting; returns at once (the connection state comes as events). */
  start(): void {
    if (this.running) return;
    this.running = true;
    void this.connect();
  }

  /** Closes the socket and stops retrying; waits (briefly) for relays and checks in flight. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearTimeout(this.retryTimer);
    clearTimeout(this.relayTimer);
    clearInterval(this.pingTimer);
    const ws = this.ws;
    if (ws !== undefined && ws.readyState !== WebSocket.CLOSED) {
      const closed = new Promise<void>((r) => ws.once('close', () => r()));
      ws.close(1000, 'node stopping');
      await Promise.race([closed, sleep(2000)]);
      ws.terminate();
    }
    this.dropPending('the client stopped');
    await Promise.race([Promise.allSettled([this.relayChain, this.assignmentChain]), sleep(2000)]);
    if (this.connectionState !== 'closed') this.setState('closed', { reason: 'stopped' });
  }

  // ---- HTTP and socket plumbing ----

  private async connect(): Promise<void> {
    if (!this.running) return;
    this.setState('connecting');
    let socketUrl: Answer<string>;
    try {
      socketUrl = await this.api.socketUrl(this.sectorId);
    } catch (e) {
      return this.retry((e as Error).message);
    }
    if (!socketUrl.ok) return this.retry(`challenge refused: ${socketUrl.status} ${socketUrl.code}`);
    if (!this.running) return;
    const ws = new WebSocket(socketUrl.value, { handshakeTimeout: this.timeoutMs });
    this.ws = ws;
    let reason = 'closed';
    ws.on('error', (e) => (reason = e.message));
    // An edge that accepts the socket but never says welcome is as good as none.
    ws.once('open', () => {
      const timer = setTimeout(() => {
        if (!this.open && this.ws === ws) {
          reason = `no welcome in ${this.timeoutMs} ms`;
          ws.terminate();
        }
      }, this.timeoutMs);
      ws.once('close', () => clearTimeout(timer));
    });
    ws.on('message', (data) => {
      this.lastHeardMs = this.now();
      const msg = parseEdgeFrame(String(data));
      if (msg !== undefined) this.onMessage(msg);
    });
    ws.on('close', (code) => {
      if (this.ws === ws) this.ws = undefined;
      this.open = false;
      clearInterval(this.pingTimer);
      this.dropPending('the socket closed');
      if (this.running) this.retry(reason !== 'closed' ? reason : `closed (${code})`);
    });
  }

  private retry(reason: string): void {
    if (!this.running) return;
    const base = Math.min(this.options.retryMaxMs ?? 15_000, (this.options.retryMinMs ?? 500) * 2 ** Math.min(this.failures, 16));
    this.failures++;
    const delay = Math.round(base * (0.5 + Math.random() / 2));
    this.setState('closed', { reason, retryInMs: delay });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }

  private dropPending(why: string): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error(why));
    }
    this.pending.clear();
  }

  /** Sends a frame with an id and resolves with the edge's reply. */
  private request(frame: NodeFrame): Promise<{ status: number; body: any }> {
    const ws = this.ws;
    if (!this.open || ws === undefined) return Promise.reject(new Error('not connected to the edge'));
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no reply from the edge in ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      ws.send(JSON.stringify({ ...frame, id }));
    });
  }

  private onWelcome(): void {
    this.open = true;
    this.failures = 0;
    this.lastHeardMs = this.now();
    this.setState('open');
    const pingMs = this.options.pingMs ?? 15_000;
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (this.now() - this.lastHeardMs > 3 * pingMs) {
        this.ws?.terminate();
        return;
      }
      this.request(pingFrame()).catch(() => undefined);
    }, pingMs);
    this.pingTimer.unref?.();
    this.queued = [];
    void this.seedTips().finally(() => this.resync());
  }

  /**
   * Every sector's best chain as the edge holds it, into the view: the headers
   * after our view's tip (a few back, in case the edge's branch differs) read
   * with `GET /v1/sectors/:id/headers` when the gap fits in the view, so a
   * reconnect leaves no hole; otherwise just the edge's tip, where a view that
   * missed too much restarts.
   */
  private async seedTips(): Promise<void> {
    try {
      const r = await this.api.call('sectors');
      if (!r.ok) return;
      for (const s of r.value.sectors) {
        const have = this.view.sector(s.id)?.tip().header.height ?? 0;
        if (s.tip.height <= have || s.tip.height - have > (this.options.backfillMax ?? 2048)) {
          this.takeHeaders(s.id, [s.tip.header]);
          continue;
        }
        for (let from = Math.max(1, have - BACKFILL_OVERLAP); from <= s.tip.height; ) {
          const page = await this.api.call('header-range', { params: { sector: s.id }, query: { from, count: BACKFILL_PAGE } });
          const headers = page.ok ? page.value.headers : [];
          if (headers.length === 0) break;
          this.takeHeaders(s.id, headers.map((h) => h.header));
          from += headers.length;
        }
      }
    } catch {
      // The relay fills the view anyway.
    }
  }

  // ---- relay ----

  private onNodeEvent(e: NodeEvent): void {
    if (e.type !== 'block-connected' || !this.running || !this.open) return;
    this.queued.push(e.id);
    this.relayTimer ??= setTimeout(() => {
      this.relayTimer = undefined;
      const ids = this.queued;
      this.queued = [];
      this.relayChain = this.relayChain.then(() => this.relayIds(ids)).catch((e) => this.chainFailed(e));
    }, this.options.relayDelayMs ?? 100);
  }

  private async relayIds(ids: string[]): Promise<void> {
    const headers = ids.flatMap((id) => {
      const h = this.workHeader(fromHex(id));
      return h ? [h] : [];
    });
    if (headers.length > 0 && !(await this.send(headers))) await this.resyncNow();
    // The edge holds these headers now: tell it which of our assigned MAIN txs they record.
    for (const id of ids) await this.reportRecords(id);
    await this.reportConversions();
  }

  /**
   * Reports each lock of our best chain — Convert txs, and the recycle
   * entries of an epoch's last block — once its block has `mainConfirmations`
   * (looking a few blocks deeper too, in case the edge was behind last time),
   * with its inclusion proof: the edge draws its witnesses. Any node of the
   * sector may report it; the edge answers 200 to a conversion it knows.
   */
  private async reportConversions(): Promise<void> {
    const { store, chain, options } = this.options.node;
    const need = options.spec.main.mainConfirmations;
    const tip = chain.tip().height;
    for (let h = tip - need + 1; h >= Math.max(1, tip - need - 4) && this.running; h--) {
      const block = store.getBlockByHeight(h);
      if (!block) continue;
      const locks: { lock: Lock; section: 'txs' | 'settlements'; index: number }[] = [];
      block.body.txs.forEach((tx, index) => tx.payload.kind === 'convert' && locks.push({ lock: { kind: 'tx', tx }, section: 'txs', index }));
      block.body.settlements.forEach((e, index) => {
        const entry = decodeSettlement(e);
        if (entry.kind === 'recycle') locks.push({ lock: { kind: 'recycle', sector: this.sectorId, entry }, section: 'settlements', index });
      });
      for (const { lock, section, index } of locks) {
        const txid = toHex(lockId(lock));
        if (this.conversionsReported.has(txid)) continue;
        const r = await this.api
          .call('conversion-submit', { body: { lock, raw: encodeLock(lock), header: block.header, proof: bodyInclusionProof(block.body, section, index) } })
          .catch(() => undefined);
        const code = r === undefined ? 'edge-unreachable' : r.ok ? undefined : r.code;
        this.emit({ type: 'conversion-reported', txid, height: h, ...(code ? { code } : {}) });
        if (code === undefined) {
          this.conversionsReported.add(txid);
          if (this.conversionsReported.size > 10_000) this.conversionsReported.delete(this.conversionsReported.values().next().value!);
        }
      }
    }
  }

  /** Reports each MAIN and witness record of block `id` that carries an assignment we took, with its inclusion proof. */
  private async reportRecords(id: string): Promise<void> {
    if (!this.running) return;
    const block = this.options.node.store.getBlock(fromHex(id));
    if (!block) return;
    const sections = [
      { kind: 'main', section: 'mainRecords', decode: decodeMainRecord },
      { kind: 'witness', section: 'witnessRecords', decode: decodeWitnessRecord },
    ] as const;
    for (const { kind, section, decode } of sections) {
      let proofs: BodyInclusionProof[] | undefined;
      for (let i = 0; i < block.body[section].length; i++) {
        let txid: string;
        try {
          txid = toHex(recordTxid(decode(block.body[section][i]!)));
        } catch {
          continue;
        }
        if (!this.accepted.some((a) => a.kind === kind && a.txid === txid)) continue;
        proofs ??= bodyInclusionProofs(block.body, section);
        const report: RecordReport = { sectorId: this.sectorId, header: block.header, proof: proofs[i]! };
        const base = { type: 'record-reported', kind, txid, block: id, height: block.header.height } as const;
        try {
          const r = await this.request(recordFrame(kind, fromHex(txid), report));
          this.emit({ ...base, status: r.status, ...(r.status >= 400 ? { code: String(r.body?.error?.code ?? `status-${r.status}`) } : {}) });
        } catch (e) {
          // The socket closed: the reports of the last blocks are sent again on reconnect.
          this.emit({ ...base, status: 0, code: (e as Error).message });
        }
      }
    }
  }

  /** A stored block's header with its work proof, as relays carry headers. */
  private workHeader(id: Uint8Array): WorkHeader | undefined {
    const header = this.options.node.store.getHeader(id);
    if (!header) return undefined;
    return { header, workProof: header.workKind === 'hash' ? new Uint8Array(0) : this.options.node.store.getBlock(id)!.workProof };
  }

  /** Sends headers in batches of at most `relayBatch` and about 1 MiB; false when the edge could not place them (unknown-parent). */
  private async send(headers: WorkHeader[]): Promise<boolean> {
    const batch = this.options.relayBatch ?? 500;
    for (let i = 0; i < headers.length; ) {
      let end = i + 1;
      let bytes = headers[i]!.workProof.length;
      while (end < headers.length && end - i < batch && bytes + headers[end]!.workProof.length <= RELAY_FRAME_PROOF_BYTES) bytes += headers[end++]!.workProof.length;
      const part = headers.slice(i, end);
      i = end;
      let r: { status: number; body: any };
      try {
        r = await this.request(headersFrame(part));
      } catch {
        // Disconnected: the resync on reconnect sends them.
        return true;
      }
      if (r.status === 200) {
        this.emit({ type: 'edge-relayed', sectorId: this.sectorId, headers: part.length, height: Number(r.body?.tip?.height ?? -1) });
        continue;
      }
      const code = String(r.body?.error?.code ?? `status-${r.status}`);
      if (code === 'unknown-parent') return false;
      this.emit({ type: 'edge-relay-refused', code, message: String(r.body?.error?.message ?? '') });
      return true;
    }
    return true;
  }

  private resync(): void {
    this.relayChain = this.relayChain
      .then(() => this.resyncNow())
      .then(() => this.reportRecent())
      .catch((e) => this.chainFailed(e));
  }

  /** A relay or assignment step threw (a store closed under it at shutdown, say): said, and the chain goes on. */
  private chainFailed(e: unknown): void {
    if (this.running) this.emit({ type: 'edge-relay-refused', code: 'internal-error', message: (e as Error)?.message ?? String(e) });
  }

  /** After a (re)connect: reports the records of the last blocks again, in case the edge missed them (it answers 200 to known ones). */
  private async reportRecent(): Promise<void> {
    if (this.accepted.length === 0) return;
    const { store, chain } = this.options.node;
    const tip = chain.tip().height;
    for (let h = Math.max(1, tip - REPORT_RECENT_BLOCKS + 1); h <= tip && this.open; h++) {
      const id = store.idAtHeight(h);
      const body = id && store.getBlock(id)!.body;
      if (body && body.mainRecords.length + body.witnessRecords.length > 0) await this.reportRecords(toHex(id));
    }
  }

  /**
   * Sends our best chain from where the edge's tip of our sector meets it:
   * right after that tip when we hold it on our best chain, else from
   * `overlap` blocks below it, widening until the edge places the headers.
   */
  private async resyncNow(): Promise<void> {
    try {
      const { store, chain } = this.options.node;
      let overlap = 64;
      for (let attempt = 0; attempt < 6 && this.open; attempt++, overlap *= 8) {
        const r = await this.api.call('tip', { params: { sector: this.sectorId } });
        if (!r.ok) return;
        const edgeTip = r.value;
        const ours = chain.tip().height;
        const onOurs = store.isConnected(fromHex(edgeTip.id));
        const from = onOurs ? edgeTip.height + 1 : Math.max(1, Math.min(edgeTip.height, ours) - overlap);
        const headers: WorkHeader[] = [];
        for (let h = from; h <= ours; h++) {
          const id = store.idAtHeight(h);
          const header = id && this.workHeader(id);
          if (!header) break;
          headers.push(header);
        }
        if (headers.length === 0 || (await this.send(headers))) return;
      }
    } catch {
      // The edge did not answer; the next reconnect or unknown-parent tries again.
    }
  }

  // ---- what the edge pushes ----

  /**
   * Handles one message from the edge, as received on the socket. Public so
   * that a caller (or a test) can hand the client a message from elsewhere;
   * assignment checks run in order and `settled` resolves when they are done.
   */
  onMessage(msg: ReceivedEdgeFrame): void {
    switch (msg.type) {
      case 'welcome':
        this.onWelcome();
        return;
      case 'reply': {
        const p = typeof msg.id === 'number' ? this.pending.get(msg.id) : undefined;
        if (p === undefined) return;
        this.pending.delete(msg.id as number);
        clearTimeout(p.timer);
        p.resolve({ status: msg.status, body: msg.body });
        return;
      }
      case 'headers':
        this.takeHeaders(msg.sectorId, msg.headers.map(relayedHeader));
        return;
      case 'main-assignment':
      case 'witness-request':
        this.assignmentChain = this.assignmentChain.then(() => this.checkAssignment(msg)).catch((e) => this.chainFailed(e));
        return;
      default:
        return;
    }
  }

  /** Resolves once every assignment handed in so far has been checked. */
  settled(): Promise<void> {
    return this.assignmentChain;
  }

  private takeHeaders(sectorId: number, hexes: unknown[]): void {
    const nowMs = this.now();
    for (const hex of hexes) {
      let header, workProof;
      try {
        ({ header, workProof } = workHeaderOf(hex));
      } catch (e) {
        this.emit({ type: 'edge-header-refused', sectorId, height: -1, code: e instanceof PouwError ? e.code : 'bad-request', detail: (e as Error).message });
        continue;
      }
      const r = this.view.add(sectorId, header, nowMs, workProof);
      // A side branch we cannot place is not an error of the edge.
      if (!r.ok && r.code !== 'unknown-parent') this.emit({ type: 'edge-header-refused', sectorId, height: header.height, code: r.code, detail: r.detail });
    }
    this.advanceBeacons(nowMs);
    for (const w of [...this.locksWaiting.values()]) this.witnessWhenBuried(w.a, w.lock, w.origin);
  }

  /** Computes every beacon our view now settles, however far behind it was (`advance` does BEACON_STEPS windows a call). */
  private advanceBeacons(nowMs: number): void {
    for (;;) {
      const got = this.view.advance(nowMs, BEACON_STEPS);
      for (const b of got) this.emitBeacon(b);
      if (got.length < BEACON_STEPS) return;
    }
  }

  private emitBeacon(b: KnownBeacon): void {
    this.emit({ type: 'edge-beacon', window: b.window, beacon: toHex(b.beacon), check: b.fromGenesis ? 'full' : 'anchors' });
    // Held assignments of this window are settled now: taken if the beacon matches, dropped if not.
    for (const [key, h] of [...this.held]) {
      if (h.a.beaconWindow !== b.window) continue;
      this.held.delete(key);
      if (equalBytes(h.beacon, b.beacon)) this.take({ ...h.a, beaconCheck: b.fromGenesis ? 'full' : 'anchors' }, h.subject);
      else this.emit({ type: 'assignment-rejected', kind: h.a.kind, txid: h.a.txid, window: h.a.window, code: 'assignment-beacon-mismatch', detail: `R_${b.window} recomputed here is ${toHex(b.beacon)}` });
    }
  }

  /** Assignments held apart because their beacon could not be checked yet. */
  get unverified(): AcceptedAssignment[] {
    return [...this.held.values()].map((h) => h.a);
  }

  /** The MAIN window by our clock. */
  private currentWindow(): number {
    return blockWindowOf(this.options.node.options.spec, this.now());
  }

  /** Drops held assignments whose window can no longer be recorded. */
  private pruneHeld(current: number): void {
    for (const [key, h] of this.held) if (h.a.lastWindow < current) this.held.delete(key);
    for (const [key, w] of this.locksWaiting) if (w.a.lastWindow < current) this.locksWaiting.delete(key);
  }

  /**
   * Takes a checked assignment: remembered, and its record goes to the pool
   * for our next blocks. A witness record is written only once our own view
   * shows the lock on the origin's best chain with `mainConfirmations`: until
   * then it waits, rechecked as headers arrive.
   */
  private take(a: AcceptedAssignment, subject: Subject): void {
    this.accepted.push(a);
    if (this.accepted.length > (this.options.maxAccepted ?? 1000)) this.accepted.shift();
    if (subject.kind === 'main') this.options.node.records?.add({ window: a.window, tx: subject.tx }, a.lastWindow);
    else this.witnessWhenBuried(a, subject.lock, subject.origin);
    this.emit({ type: 'assignment-accepted', ...a });
  }

  private witnessWhenBuried(a: AcceptedAssignment, lock: Lock, origin: Origin): void {
    const best = this.view.bestBlock(origin.sectorId, origin.blockId);
    if (best === undefined || best.confirmations < this.options.node.options.spec.main.mainConfirmations) {
      this.locksWaiting.set(a.txid, { a, lock, origin });
      return;
    }
    this.locksWaiting.delete(a.txid);
    this.options.node.records?.addWitness({ window: a.window, originSector: origin.sectorId, originBlock: origin.blockId, lock, lockProof: origin.proof }, a.lastWindow);
  }

  // ---- assignments ----

  private async checkAssignment(msg: MainAssignment | WitnessRequest): Promise<void> {
    const kind: AssignmentKind = msg.type === 'main-assignment' ? 'main' : 'witness';
    const window = Number.isSafeInteger(msg.window) ? msg.window : null;
    const refuse = (code: string, detail: string) =>
      this.emit({ type: 'assignment-rejected', kind, txid: String(msg.txid), window, code, detail });
    const { spec } = this.options.node.options;
    let parsed: ParsedAssignment;
    try {
      parsed = parseAssignment(msg);
    } catch (e) {
      return refuse('assignment-malformed', (e as Error).message);
    }
    const { txid, beacon, claimed } = parsed;
    // The txid names exactly this tx (or lock).
    if (!equalBytes(parsed.kind === 'main' ? txId(parsed.tx) : lockId(parsed.lock), txid)) return refuse('assignment-malformed', 'the txid is not the id of the tx');
    // A tx that arrived in window w is drawn with R_{w+1}, published only after w ended.
    if (parsed.beaconWindow !== parsed.window + 1) {
      return refuse('assignment-wrong-window', `beacon window ${parsed.beaconWindow} for a tx of window ${parsed.window}`);
    }
    // Only windows that can matter now: a lying edge cannot make us hold assignments for the future, or the long past.
    const current = this.currentWindow();
    this.pruneHeld(current);
    if (parsed.beaconWindow > current + 1) {
      return refuse('assignment-future-window', `beacon window ${parsed.beaconWindow}, and it is window ${current} here`);
    }
    if (parsed.window < current - spec.main.recordWindows) {
      return refuse('assignment-expired', `window ${parsed.window} can no longer be recorded in window ${current}`);
    }
    let origin: number | null = null;
    let subject: Subject;
    if (parsed.kind === 'witness') {
      if (msg.type !== 'witness-request') return refuse('assignment-malformed', 'a lock in a MAIN assignment');
      const o = checkOrigin(msg, parsed.lock);
      if (!o.ok) return refuse('assignment-bad-origin', o.detail);
      origin = o.origin.sectorId;
      subject = { kind: 'witness', lock: parsed.lock, origin: o.origin };
    } else subject = { kind: 'main', tx: parsed.tx };
    // A MAIN tx signed for this network, a Convert tx signed for its origin sector, or a recycle entry of an account it names; else nobody should record it.
    const signed =
      subject.kind === 'main' ? checkTx(subject.tx, { networkId: this.networkId, chain: MAIN_CHAIN }) : checkLock(subject.lock, spec, { networkId: this.networkId });
    if (!signed.ok) return refuse('assignment-bad-tx', `${signed.code}: ${signed.detail}`);
    const beaconCheck = await this.checkBeacon(parsed.beaconWindow, beacon);
    if (!beaconCheck.ok) return refuse('assignment-beacon-mismatch', beaconCheck.detail);
    const m = spec.main;
    const drawn = selectSectors({
      purpose: kind === 'main' ? 'record' : 'witness',
      beacon,
      txid,
      origin,
      sectors: spec.sectors.map((s) => ({ id: s.id, weight: s.selectionWeight })),
      count: kind === 'main' ? m.recordSectors : m.witnessSectors,
    });
    if (!drawn.ok) return refuse('assignment-selection-mismatch', `${drawn.code}: ${drawn.detail}`);
    if (!sameSelection(drawn.value, claimed)) {
      return refuse('assignment-selection-mismatch', `the draw gives order ${drawn.value.order.join(',')}, the edge says ${claimed.order.join(',')}`);
    }
    // A primary records; a fallback only once a primary's deadline has passed by our clock.
    const count = kind === 'main' ? m.recordSectors : m.witnessSectors;
    const place = drawn.value.order.indexOf(this.sectorId);
    const role = place >= 0 && place < count ? 'primary' : 'fallback';
    if (place < 0 || (role === 'fallback' && current <= parsed.window + m.fallbackWindows)) {
      return refuse('assignment-not-ours', `sector ${this.sectorId} is not a primary of ${drawn.value.primary.join(',')}, and no primary's deadline has passed`);
    }
    // Taken once; the edge may push it again after a reconnect.
    const key = `${kind}:${toHex(txid)}`;
    if (this.held.has(key) || this.accepted.some((a) => a.kind === kind && a.txid === toHex(txid))) return;
    const a: AcceptedAssignment = {
      kind,
      txid: toHex(txid),
      window: parsed.window,
      beaconWindow: parsed.beaconWindow,
      beacon: toHex(beacon),
      primary: drawn.value.primary,
      fallback: drawn.value.fallback,
      beaconCheck: beaconCheck.check,
      ...(origin !== null ? { origin } : {}),
      role,
      lastWindow: recordDeadline(parsed.window, place, count, m),
      receivedMs: this.now(),
    };
    if (beaconCheck.check !== 'unverified') return this.take(a, subject);
    if (this.held.size >= (this.options.maxUnverified ?? 64)) {
      return refuse('assignment-unverified-full', `${this.held.size} assignments already wait for a beacon this node can check`);
    }
    this.held.set(key, { a, subject, beacon });
    this.emit({ type: 'assignment-held', ...a });
  }

  /**
   * Does R_w equal `claimed` by our view? Our own beacon chain first; when it
   * does not reach w (or disagrees), this window's anchors on the edge's
   * published R_{w−1}. Unverified only when our view cannot settle the anchors.
   */
  private async checkBeacon(w: number, claimed: Uint8Array): Promise<{ ok: true; check: BeaconCheck } | { ok: false; detail: string }> {
    this.advanceBeacons(this.now());
    const own = this.view.beacon(w);
    if (own !== undefined && equalBytes(own.beacon, claimed)) return { ok: true, check: own.fromGenesis ? 'full' : 'anchors' };
    if (this.view.anchors(w) === undefined) {
      return own === undefined ? { ok: true, check: 'unverified' } : { ok: false, detail: `R_${w} recomputed here is ${toHex(own.beacon)}` };
    }
    let prev: Uint8Array;
    try {
      const r = await this.api.call('beacon', { params: { window: w } });
      if (!r.ok) return { ok: false, detail: `the edge does not publish R_${w} (${r.code})` };
      prev = fromHex(r.value.prev);
    } catch {
      return own === undefined ? { ok: true, check: 'unverified' } : { ok: false, detail: `R_${w} recomputed here is ${toHex(own.beacon)}` };
    }
    const mine = this.view.beaconOn(w, prev);
    if (mine === undefined || !equalBytes(mine, claimed)) {
      return { ok: false, detail: `R_${w} from our anchors is ${mine ? toHex(mine) : 'unknown'}, the edge says ${toHex(claimed)}` };
    }
    const adopted = this.view.adopt(w, prev);
    if (adopted) this.emitBeacon(adopted);
    return { ok: true, check: 'anchors' };
  }
}

function sameSelection(a: Selection, b: Selection): boolean {
  const eq = (x: number[], y: number[]) => x.length === y.length && x.every((v, i) => v === y[i]);
  return eq(a.order, b.order) && eq(a.primary, b.primary) && eq(a.fallback, b.fallback);
}

/** A witness request's origin: the lock (a Convert tx, or a recycle entry) proven in its section of the named header. */
function checkOrigin(msg: WitnessRequest, lock: Lock): { ok: true; origin: Origin } | { ok: false; detail: string } {
  try {
    const o = parseOrigin(msg.origin);
    const { header, proof } = o;
    if (lock.kind === 'tx' && lock.tx.payload.kind !== 'convert') return { ok: false, detail: `a ${lock.tx.payload.kind} tx converts nothing` };
    if (header.sectorId !== o.sectorId || lockSector(lock) !== o.sectorId) return { ok: false, detail: 'the origin sector, its header and the lock disagree' };
    if (!equalBytes(blockId(header), o.blockId)) return { ok: false, detail: 'origin.blockId is not the id of origin.header' };
    const { section, leaf } = lockLeaf(lock);
    if (proof.section !== section || !verifyBodyInclusion(leaf, proof, header.bodyRoot)) {
      return { ok: false, detail: 'the proof does not show the lock in the origin block' };
    }
    return { ok: true, origin: { sectorId: o.sectorId, blockId: o.blockId, proof } };
  } catch (e) {
    return { ok: false, detail: (e as Error).message };
  }
}
