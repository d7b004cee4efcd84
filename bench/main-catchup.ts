/**
 * A node catching up the MAIN ledger: `--windows` windows (default 10,000),
 * each holding one signed MAIN transfer recorded by its two drawn sectors in
 * real sector blocks, folded by the node's own `MainView` into a real SQLite
 * store, the node's `HeaderView` fed the four sectors' headers (proof of work
 * checked) as a syncing node receives them. Window data comes from an
 * in-process stand-in for the edge's `GET /v1/main/windows` answers, built
 * in chunks of `--chunk` windows and dropped once folded, so the peak RSS is
 * the node's (its ledger, its store's cache, the header view), not a replay
 * of the whole history at once.
 *
 * Every tx is void (`tx-insufficient-funds`: nobody holds MAIN here), which
 * costs the fold what an applied one does minus two map writes; the decision
 * (signature, draw, two record inclusion proofs against the header view) is
 * whole.
 *
 *   npm run bench:main-catchup [-- --windows 10000 --chunk 500 --json]
 *   node --expose-gc dist/bench/main-catchup.js   (adds the heap held after each chunk)
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { EdgeApi } from '../api/client.js';
import { windowDataJson } from '../api/main.js';
import { bodyInclusionProof, bodyRoot, emptyBody, type BlockBody } from '../core/block.js';
import { genesisBlock, networkId } from '../core/genesis.js';
import { TAGS, taggedHash } from '../core/hash.js';
import { blockId, type BlockHeader } from '../core/header.js';
import { addressOf, keyPairFromSeed } from '../core/keys.js';
import type { RecordEvidence, WindowData } from '../core/main-ledger.js';
import { devnetSpec, type NetworkSpec } from '../core/params.js';
import { encodeMainRecord } from '../core/record.js';
import { selectSectors } from '../core/select.js';
import { windowOf } from '../core/time.js';
import { MAIN_CHAIN, signTx, txId, type Tx } from '../core/tx.js';
import { checkHeaderWork } from '../core/validate.js';
import { HeaderView } from '../node/header-view.js';
import { MainView } from '../node/main-view.js';
import { openStore } from '../node/store.js';
import { fastVerifier } from '../platform/node/verify.js';

interface Args {
  windows: number;
  chunk: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { windows: 10_000, chunk: 500, json: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const num = (name: string, min: number) => {
      const v = Number(argv[++i]);
      if (!Number.isSafeInteger(v) || v < min) throw new Error(`${name} must be an integer ≥ ${min}`);
      return v;
    };
    if (k === '--windows') a.windows = num('--windows', 1);
    else if (k === '--chunk') a.chunk = num('--chunk', 16);
    else if (k === '--json') a.json = true;
    else throw new Error(`unknown option ${k}`);
  }
  return a;
}

const G = 1_800_000_000_000;
const base = devnetSpec(G);
// Trivial targets: headers cost a couple of hashes each, and on schedule ASERT keeps them there.
const spec: NetworkSpec = { ...base, sectors: base.sectors.map((s) => ({ ...s, genesisBits: s.powLimitBits })) };
const W = spec.main.windowMs;
const nid = networkId(spec);
const sender = keyPairFromSeed(new Uint8Array(32).fill(0x42));
const sectorsForDraw = spec.sectors.map((s) => ({ id: s.id, weight: s.selectionWeight }));

/** The chain history, generated a window at a time: a signed tx per window and every sector's blocks carrying their records. */
class History {
  private readonly tips = new Map<number, BlockHeader>();
  /** Per sector: txs of recent windows this sector was drawn for and has not recorded yet. */
  private readonly owed = new Map<number, { window: number; tx: Tx; txid: Uint8Array }[]>();
  readonly data = new Map<number, WindowData>();

  constructor() {
    for (const s of spec.sectors) {
      this.tips.set(s.id, genesisBlock(spec, s).header);
      this.owed.set(s.id, []);
    }
  }

  /** The window's tx and data (records are added as blocks carry them). */
  addWindow(w: number): void {
    const tx = signTx({ version: 1, chain: MAIN_CHAIN, from: sender.publicKey, nonce: BigInt(w), fee: 1_000n, payload: { kind: 'transfer', to: addressOf(sender.publicKey), amount: 1n } }, sender.secretKey, nid);
    const txid = txId(tx);
    const beacon = taggedHash(TAGS.beacon, new Uint8Array(new Float64Array([w]).buffer));
    const sel = selectSectors({ purpose: 'record', beacon, txid, origin: null, sectors: sectorsForDraw, count: spec.main.recordSectors });
    if (!sel.ok) throw new Error(sel.detail);
    for (const s of sel.value.primary) this.owed.get(s)!.push({ window: w, tx, txid });
    this.data.set(w, { window: w, beacon, main: [tx], conversions: [], records: [] });
  }

  /** Every sector's blocks whose time falls in window `b`, on schedule; returns their headers in order. */
  blocksOfWindow(b: number): { sectorId: number; header: BlockHeader }[] {
    const out: { sectorId: number; header: BlockHeader }[] = [];
    for (const s of spec.sectors) {
      for (;;) {
        const parent = this.tips.get(s.id)!;
        const timeMs = parent.timeMs + s.blockTimeMs;
        if (windowOf(timeMs, G, W) > b) break;
        const due = this.owed.get(s.id)!.filter((o) => o.window < b);
        this.owed.set(s.id, this.owed.get(s.id)!.filter((o) => o.window >= b));
        const body: BlockBody = { ...emptyBody(new Uint8Array(20).fill(s.id)), mainRecords: due.map((o) => encodeMainRecord({ window: o.window, tx: o.tx })) };
        let header: BlockHeader = { version: 1, sectorId: s.id, height: parent.height + 1, prevHash: blockId(parent), bodyRoot: bodyRoot(body), timeMs, bits: s.powLimitBits, workKind: 'hash', nonce: 0n };
        while (!checkHeaderWork(header, s).ok) header = { ...header, nonce: header.nonce + 1n };
        due.forEach((o, i) => {
          const evidence: RecordEvidence = { kind: 'main', txid: o.txid, sectorId: s.id, header, proof: bodyInclusionProof(body, 'mainRecords', i) };
          this.data.get(o.window)?.records.push(evidence);
        });
        this.tips.set(s.id, header);
        out.push({ sectorId: s.id, header });
      }
    }
    return out;
  }
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'pouw-catchup-'));
  const history = new History();
  // The edge's two window routes, answered from the chunk in hand.
  const api = new EdgeApi({
    url: 'http://edge.bench',
    fetch: async (input) => {
      const url = new URL(String(input));
      const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
      if (url.pathname === '/v1/main/windows') {
        const after = Number(url.searchParams.get('after'));
        const limit = Number(url.searchParams.get('limit'));
        return json({ windows: [...history.data.keys()].filter((w) => w > after).sort((x, y) => x - y).slice(0, limit) });
      }
      const w = Number(url.pathname.split('/').pop());
      const d = history.data.get(w);
      return d ? json(windowDataJson(d, null)) : new Response(JSON.stringify({ error: { code: 'not-found', message: 'no such window' } }), { status: 404 });
    },
  });
  const store = openStore(join(dir, 'chain.db'), { limits: spec.limits });
  const view = new HeaderView(spec);
  const mv = new MainView({ spec, networkId: nid, api, view, store: store.main, verify: fastVerifier() });
  // Headers run ahead of the windows folded by what deciding needs: recordWindows, confirmations, median-time-past.
  const lead = spec.main.recordWindows + 12;
  let headers = 0;
  let genMs = 0;
  let foldMs = 0;
  let peakRss = process.memoryUsage().rss;
  const heapAfter: number[] = [];
  for (let start = 0; start < a.windows; start += a.chunk) {
    const end = Math.min(a.windows, start + a.chunk);
    const g0 = performance.now();
    for (let w = start; w < end; w++) history.addWindow(w);
    const feed: { sectorId: number; header: BlockHeader }[] = [];
    for (let b = start; b < end + (end === a.windows ? lead : 0); b++) feed.push(...history.blocksOfWindow(b));
    genMs += performance.now() - g0;
    const f0 = performance.now();
    for (const { sectorId, header } of feed) {
      const r = view.add(sectorId, header, header.timeMs + 1);
      if (!r.ok) throw new Error(`header refused: ${r.code} ${r.detail}`);
      headers++;
    }
    // Fold what the view has decided, the way the node's poll does, 64 windows a step.
    for (let last = -2; mv.current.window !== last; ) {
      last = mv.current.window;
      await mv.step(64);
    }
    foldMs += performance.now() - f0;
    // Folded windows leave the stand-in edge; the rest waits for the next chunk's headers.
    for (const w of [...history.data.keys()]) if (w <= mv.current.window) history.data.delete(w);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    // What the process still holds after a chunk, garbage collected (with --expose-gc): flat when memory is bounded.
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc) {
      gc();
      heapAfter.push(Math.round(process.memoryUsage().heapUsed / 2 ** 20));
    }
  }
  const folded = store.main.count();
  const result = {
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    windows: a.windows,
    folded,
    lastWindow: mv.current.window,
    headers,
    seconds: +(foldMs / 1000).toFixed(2),
    windowsPerSecond: Math.round((folded * 1000) / foldMs),
    generateSeconds: +(genMs / 1000).toFixed(2),
    peakRssMiB: Math.round(peakRss / 2 ** 20),
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    /** Heap in use after each chunk, after a full GC (MiB; only with --expose-gc). */
    heapAfterChunksMiB: heapAfter,
    status: mv.status(),
  };
  store.close();
  rmSync(dir, { recursive: true, force: true });
  if (folded < a.windows) throw new Error(`folded ${folded} of ${a.windows} windows (last ${mv.current.window})`);
  if (a.json) console.log(JSON.stringify(result));
  else {
    console.log(`catch-up: ${result.folded} windows (one recorded MAIN tx each, ${result.headers} headers) folded in ${result.seconds} s: ${result.windowsPerSecond} windows/s`);
    console.log(`peak RSS ${result.peakRssMiB} MiB (max RSS ${result.maxRssMiB} MiB, history generation included: ${result.generateSeconds} s)`);
    if (heapAfter.length > 0) console.log(`heap after each chunk, collected: first ${heapAfter[0]} MiB, last ${heapAfter[heapAfter.length - 1]} MiB, most ${Math.max(...heapAfter)} MiB`);
    console.log(`${result.cpu}, Node ${result.node}`);
  }
}

main().catch((e: unknown) => {
  console.error((e as Error).message);
  process.exitCode = 1;
});
