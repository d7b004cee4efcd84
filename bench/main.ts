/**
 * The MAIN ledger's cost and latency:
 *   (a) the fold alone (core `foldWindow`) over `--txs` MAIN transfers among
 *       `--accounts` accounts funded by conversions, `--per-window` txs a
 *       window, every window's root computed, on the calling thread;
 *   (b) deciding and folding (`decideAndFold`) windows of signed txs with
 *       their record entries and inclusion proofs checked against a chain
 *       view, signatures verified by the node's fast verifier: what a node
 *       does per window it catches up;
 *   (c) with `--devnet SECONDS`, a real `pouw devnet --json` run: MAIN
 *       submission → final at the edge and → applied on the nodes,
 *       conversion → minted, median and p95, and how far the last decided
 *       window trails real time.
 *
 *   npm run bench:main [-- --txs 100000 --per-window 1000 --accounts 1000 --decide-txs 10000 --devnet 260 --json]
 * @module
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { bodyInclusionProofs, bodyRoot, emptyBody } from '../core/block.js';
import { toHex } from '../core/bytes.js';
import { networkId } from '../core/genesis.js';
import { blockId, type BlockHeader } from '../core/header.js';
import { addressOf, keyPairFromSeed, type KeyPair } from '../core/keys.js';
import {
  decideAndFold,
  foldWindow,
  newLedger,
  type ChainView,
  type DecidedConversion,
  type DecidedTx,
  type DecidedWindow,
  type MainLedger,
  type RecordEvidence,
  type WindowData,
} from '../core/main-ledger.js';
import { devnetSpec } from '../core/params.js';
import { encodeMainRecord } from '../core/record.js';
import { selectSectors } from '../core/select.js';
import { windowOf, windowStart } from '../core/time.js';
import { MAIN_CHAIN, signTx, txId, type Tx } from '../core/tx.js';
import { fastVerifier } from '../platform/node/verify.js';

const FORMAT = 'pouw-bench-main/1';

interface Args {
  txs: number;
  perWindow: number;
  accounts: number;
  decideTxs: number;
  devnet: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { txs: 100_000, perWindow: 1000, accounts: 1000, decideTxs: 10_000, devnet: 0, json: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const num = (what: string, min: number) => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < min) throw new Error(`${what} must be an integer ≥ ${min}`);
      return v;
    };
    if (k === '--txs') a.txs = num('--txs', 1);
    else if (k === '--per-window') a.perWindow = num('--per-window', 1);
    else if (k === '--accounts') a.accounts = num('--accounts', 2);
    else if (k === '--decide-txs') a.decideTxs = num('--decide-txs', 0);
    else if (k === '--devnet') a.devnet = num('--devnet', 0);
    else if (k === '--json') a.json = true;
    else throw new Error(`unknown option ${k}`);
  }
  return a;
}

const spec = devnetSpec();
const nid = networkId(spec);
const COIN = 100_000_000n;
const MINER = new Uint8Array(20).fill(9);
const counted = (sectors: number[]) => sectors.map((s) => ({ sectorId: s, blockWindow: 1, blockId: new Uint8Array(32).fill(s), miner: MINER }));

/** `n` distinct keys: seed = u32 index ‖ u8 tag ‖ zeros. */
function benchKeys(n: number, tag: number): KeyPair[] {
  return Array.from({ length: n }, (_, i) => {
    const seed = new Uint8Array(32);
    new DataView(seed.buffer).setUint32(0, i);
    seed[4] = tag;
    return keyPairFromSeed(seed);
  });
}

/** Accounts funded by one window of conversions (one per account, on sector 1). */
function funded(keys: KeyPair[]): { ledger: MainLedger; window: number } {
  const ledger = newLedger(spec);
  const conversions: DecidedConversion[] = keys.map((k, i) => {
    const tx: Tx = { version: 1, chain: 1, from: k.publicKey, nonce: BigInt(i), fee: 0n, payload: { kind: 'convert', amount: 100n * COIN, minMain: 0n, mainTo: addressOf(k.publicKey) }, signature: new Uint8Array(64) };
    return { lock: { kind: 'tx', tx }, txid: txId(tx), fate: { status: 'final', counted: counted([2, 3]) }, order: [2, 3] };
  });
  foldWindow(ledger, { window: 0, main: [], conversions, ignored: [] }, spec);
  return { ledger, window: 0 };
}

/** (a) The fold alone: transfers in a ring, each sender's nonces in order. */
function foldAlone(a: Args): { txs: number; windows: number; seconds: number; txsPerSecond: number; accounts: number } {
  const keys = benchKeys(a.accounts, 1);
  const { ledger } = funded(keys);
  const nonces = new Array<bigint>(keys.length).fill(0n);
  const windows: DecidedWindow[] = [];
  for (let done = 0, w = 1; done < a.txs; w++) {
    const main: DecidedTx[] = [];
    for (let i = 0; i < a.perWindow && done < a.txs; i++, done++) {
      const from = done % keys.length;
      const tx: Tx = {
        version: 1,
        chain: MAIN_CHAIN,
        from: keys[from]!.publicKey,
        nonce: nonces[from]!++,
        fee: 1000n,
        payload: { kind: 'transfer', to: addressOf(keys[(from + 1) % keys.length]!.publicKey), amount: 1000n },
        signature: new Uint8Array(64),
      };
      main.push({ tx, txid: txId(tx), fate: { status: 'final', counted: counted([1 + (done % 4), 1 + ((done + 1) % 4)]) }, order: [] });
    }
    windows.push({ window: w, main, conversions: [], ignored: [] });
  }
  const t0 = performance.now();
  let applied = 0;
  for (const d of windows) applied += foldWindow(ledger, d, spec).applied.length;
  const seconds = (performance.now() - t0) / 1000;
  if (applied !== a.txs) throw new Error(`only ${applied} of ${a.txs} transfers applied`);
  return { txs: a.txs, windows: windows.length, seconds, txsPerSecond: a.txs / seconds, accounts: a.accounts };
}

/** Best chains as a map of the blocks the bench made, every sector settled far ahead. */
class BenchChains implements ChainView {
  readonly blocks = new Map<string, { header: BlockHeader; confirmations: number }>();
  bestBlock(_s: number, id: Uint8Array) {
    return this.blocks.get(toHex(id));
  }
  settledThrough() {
    return Number.MAX_SAFE_INTEGER - 1;
  }
}

/** (b) Decide and fold: signed txs, one block per sector and window carrying every record, proofs checked. */
function decideAndFoldBench(a: Args): { txs: number; windows: number; seconds: number; txsPerSecond: number; generationSeconds: number } | null {
  if (a.decideTxs === 0) return null;
  const g0 = performance.now();
  const keys = benchKeys(Math.min(a.accounts, a.decideTxs), 2);
  let { ledger } = funded(keys);
  const chains = new BenchChains();
  const nonces = new Array<bigint>(keys.length).fill(0n);
  const data: WindowData[] = [];
  const sectors = spec.sectors.map((s) => ({ id: s.id, weight: s.selectionWeight }));
  for (let done = 0, w = 1; done < a.decideTxs; w++) {
    const beacon = new Uint8Array(32).fill(w & 0xff);
    const main: Tx[] = [];
    const bySector = new Map<number, { tx: Tx; txid: Uint8Array }[]>();
    for (let i = 0; i < a.perWindow && done < a.decideTxs; i++, done++) {
      const from = done % keys.length;
      const tx = signTx({ version: 1, chain: MAIN_CHAIN, from: keys[from]!.publicKey, nonce: nonces[from]!++, fee: 1000n, payload: { kind: 'transfer', to: addressOf(keys[(from + 1) % keys.length]!.publicKey), amount: 1000n } }, keys[from]!.secretKey, nid);
      main.push(tx);
      const txid = txId(tx);
      const sel = selectSectors({ purpose: 'record', beacon, txid, origin: null, sectors, count: spec.main.recordSectors });
      if (!sel.ok) throw new Error(sel.detail);
      for (const s of sel.value.primary) {
        if (!bySector.has(s)) bySector.set(s, []);
        bySector.get(s)!.push({ tx, txid });
      }
    }
    const records: RecordEvidence[] = [];
    for (const [s, list] of bySector) {
      const body = { ...emptyBody(MINER), mainRecords: list.map((x) => encodeMainRecord({ window: w, tx: x.tx })) };
      const header: BlockHeader = { version: 1, sectorId: s, height: w, prevHash: new Uint8Array(32), bodyRoot: bodyRoot(body), timeMs: windowStart(w + 1, spec.genesisTimeMs, spec.main.windowMs) + 1, bits: 0x207fffff, workKind: 'hash', nonce: 0n };
      chains.blocks.set(toHex(blockId(header)), { header, confirmations: 10 });
      const proofs = bodyInclusionProofs(body, 'mainRecords');
      list.forEach((x, i) => records.push({ kind: 'main', txid: x.txid, sectorId: s, header, proof: proofs[i]! }));
    }
    data.push({ window: w, beacon, main, conversions: [], records });
  }
  const generationSeconds = (performance.now() - g0) / 1000;
  const verify = fastVerifier();
  const t0 = performance.now();
  let applied = 0;
  for (const d of data) {
    const r = decideAndFold(ledger, d, chains, spec, { networkId: nid, verify });
    if (!r) throw new Error(`window ${d.window} undecided`);
    ledger = r.ledger;
    applied += r.result.applied.length;
  }
  const seconds = (performance.now() - t0) / 1000;
  if (applied !== a.decideTxs) throw new Error(`only ${applied} of ${a.decideTxs} transfers applied`);
  return { txs: a.decideTxs, windows: data.length, seconds, txsPerSecond: a.decideTxs / seconds, generationSeconds };
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/** (c) A real devnet: latencies from its NDJSON events. */
async function devnetLatency(seconds: number) {
  if (seconds === 0) return null;
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'pouw-bench-main-'));
  const child = spawn(process.execPath, [join(root, 'bin', 'pouw.js'), 'devnet', '--json', '--duration', String(seconds), '--tx-interval', '1000', '--data', join(dir, 'run')], {
    env: { ...process.env, XDG_DATA_HOME: join(dir, 'xdg') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await new Promise((r) => child.once('close', r));
  rmSync(dir, { recursive: true, force: true });
  const events = out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, any>);
  const start = events.find((e) => e.type === 'devnet-start');
  const sent = new Map<string, number>();
  const lat: Record<'final' | 'applied' | 'minted', number[]> = { final: [], applied: [], minted: [] };
  const lag: number[] = [];
  for (const e of events) {
    if (e.type === 'main-submitted' || e.type === 'conversion-submitted') sent.set(e.txid, e.timeMs);
    const t0 = sent.get(e.txid);
    if (t0 !== undefined && e.type === 'main-final') lat.final.push(e.timeMs - t0);
    if (t0 !== undefined && e.type === 'main-applied') lat.applied.push(e.timeMs - t0);
    if (t0 !== undefined && e.type === 'conversion-minted') lat.minted.push(e.timeMs - t0);
    if (e.type === 'node-event' && e.event?.type === 'main-window' && start) lag.push(windowOf(e.timeMs, start.genesisTimeMs, spec.main.windowMs) - e.event.window);
  }
  const summary = events.find((e) => e.type === 'summary');
  const stat = (xs: number[]) => ({ n: xs.length, medianS: xs.length ? pct(xs, 50)! / 1000 : null, p95S: xs.length ? pct(xs, 95)! / 1000 : null });
  return {
    seconds,
    mainFinal: stat(lat.final),
    mainApplied: stat(lat.applied),
    conversionMinted: stat(lat.minted),
    /** Windows between a window and the moment a node folded it. */
    foldLagWindows: { n: lag.length, median: pct(lag, 50), p95: pct(lag, 95) },
    summary: summary && { main: summary.main, conversions: summary.conversions, roots: summary.roots },
  };
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const fold = foldAlone(a);
  const decide = decideAndFoldBench(a);
  const devnet = await devnetLatency(a.devnet);
  const result = { format: FORMAT, cpu, node: process.version, fold, decide, devnet };
  if (a.json) {
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }
  const lines = [
    `MAIN ledger on ${cpu}, Node ${process.version}, one thread`,
    `fold alone        ${fold.txs} txs in ${fold.windows} windows over ${fold.accounts} accounts: ${fold.seconds.toFixed(2)} s, ${Math.round(fold.txsPerSecond)} txs/s (target ≥ 20,000)`,
  ];
  if (decide) lines.push(`decide + fold     ${decide.txs} signed txs, 2 records each, proofs and signatures checked: ${decide.seconds.toFixed(2)} s, ${Math.round(decide.txsPerSecond)} txs/s`);
  if (devnet) {
    const f = (s: { n: number; medianS: number | null; p95S: number | null }) => (s.n ? `median ${s.medianS!.toFixed(1)} s, p95 ${s.p95S!.toFixed(1)} s (n=${s.n})` : 'none in the run');
    lines.push(
      `devnet ${devnet.seconds} s   MAIN → final ${f(devnet.mainFinal)}; → applied ${f(devnet.mainApplied)}`,
      `                  conversion → minted ${f(devnet.conversionMinted)}`,
      `                  a window is folded ${devnet.foldLagWindows.median ?? '-'} windows after it (p95 ${devnet.foldLagWindows.p95 ?? '-'})`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}

await main();
