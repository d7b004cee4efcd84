/**
 * The node's local JSON API (Hono), served on 127.0.0.1 only: status, blocks
 * by height or id, txs, accounts, tx submission, and the operator's network
 * controls (dial a peer, switch the P2P network or the miner off and on). Every error is
 * `{ error: { code, message } }` with a 4xx status; bigints are decimal
 * strings and bytes are hex.
 *
 * Closed to web pages, as bitcoind's RPC is and more: a page the user opens
 * can send requests to 127.0.0.1, so every request must name a loopback host
 * (or one the operator allowed) in `Host` — a DNS-rebound name is refused —
 * and a request with an `Origin` other than the API's own is refused; every
 * state-changing route (all POSTs) needs the cookie token
 * (`Authorization: Bearer <token>`, from the `api.cookie` file the node
 * writes, mode 0600, into its data directory) and a JSON `Content-Type`, so
 * no HTML form or `text/plain` fetch gets through. Reads need no token.
 * @module
 */
import { timingSafeEqual } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { decodeAddress, encodeAddress } from '../core/keys.js';
import { fromHex, toHex } from '../core/bytes.js';
import type { Block } from '../core/block.js';
import { blockId, type BlockHeader } from '../core/header.js';
import { decodeTx, txAmount, txId, txSpend, type Tx } from '../core/tx.js';
import { CodecError } from '../core/errors.js';
import { readBodyText } from '../api/http.js';
import type { SectorNode } from './sector-node.js';
import type { Miner } from './miner.js';
import { auditSettlements, type MainAudit, type MainView } from './main-view.js';
import { mainStateJson, windowResultOf, type MainAccountJson, type SettlementsJson, type WindowResultJson } from '../api/main.js';
import { treasuryAddress } from '../core/state-transition.js';

const HEX32 = /^[0-9a-f]{64}$/;
const MAX_BODY = 16 * 1024;

export function headerJson(h: BlockHeader) {
  return {
    id: toHex(blockId(h)),
    version: h.version,
    sectorId: h.sectorId,
    height: h.height,
    prevHash: toHex(h.prevHash),
    bodyRoot: toHex(h.bodyRoot),
    timeMs: h.timeMs,
    bits: h.bits.toString(16).padStart(8, '0'),
    workKind: h.workKind,
    nonce: h.nonce.toString(),
  };
}

function txJson(tx: Tx, prefix: string) {
  const p = tx.payload;
  return {
    txid: toHex(txId(tx)),
    chain: tx.chain,
    from: toHex(tx.from),
    nonce: tx.nonce.toString(),
    fee: tx.fee.toString(),
    kind: p.kind,
    amount: txAmount(p).toString(),
    ...(p.kind === 'transfer'
      ? { to: encodeAddress(p.to, prefix) }
      : p.kind === 'convert'
        ? { minMain: p.minMain.toString(), mainTo: encodeAddress(p.mainTo, prefix) }
        : p.kind === 'task'
          ? { sector: p.sector, work: p.work, dims: [p.m, p.k, p.n], redundancy: p.redundancy, deadline: p.deadline.toString() }
          : p.kind === 'commit'
            ? { task: toHex(p.task), commit: toHex(p.commit), payTo: encodeAddress(p.payTo, prefix) }
            : { task: toHex(p.task), salt: toHex(p.salt), result: toHex(p.result) }),
  };
}

function blockJson(b: Block, prefix: string) {
  return { header: headerJson(b.header), miner: encodeAddress(b.body.miner, prefix), txs: b.body.txs.map((t) => txJson(t, prefix)) };
}

export interface ApiOptions {
  miner?: Miner;
  /** The node's MAIN fold (with an edge link): serves /v1/main/*. */
  main?: MainView;
  /** The edge this node is linked to (told in /v1/status so tools can send MAIN txs there). */
  edgeUrl?: string;
  /** The cookie token every POST must carry as `Authorization: Bearer <token>`. */
  token: string;
  /** Host names (without port) accepted in `Host` besides 127.0.0.1, localhost and [::1]. */
  hosts?: readonly string[];
}

const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]'];

/** The host name of a `Host` header, without its port; undefined when it is not one. */
function hostNameOf(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$/.exec(host);
  return m?.[1]!.toLowerCase();
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function createApi(node: SectorNode, opts: ApiOptions): Hono {
  const { miner, token } = opts;
  if (!/^[0-9a-f]{32,}$/.test(token)) throw new RangeError('the API token must be at least 32 hex characters');
  const app = new Hono();
  const prefix = node.options.spec.addressPrefix;
  const err = (code: string, message: string) => ({ error: { code, message } });
  const hosts = new Set([...LOOPBACK_HOSTS, ...(opts.hosts ?? []).map((h) => h.toLowerCase())]);

  app.use(async (c, next) => {
    // A request built in-process (app.request) has no Host header; its URL names the host.
    const host = c.req.header('host') ?? new URL(c.req.url).host;
    // DNS rebinding: a page's own name resolved to 127.0.0.1 still says its name here.
    const name = hostNameOf(host);
    if (!name || !hosts.has(name)) return c.json(err('bad-host', `Host ${JSON.stringify(host)} is not this API's`), 403);
    const origin = c.req.header('origin');
    if (origin !== undefined && origin !== `http://${host}`) return c.json(err('cross-origin', `requests from ${origin} are refused`), 403);
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const type = c.req.header('content-type') ?? '';
      if (!/^application\/json\s*(;|$)/i.test(type)) return c.json(err('bad-content-type', 'bodies must be sent as Content-Type: application/json'), 415);
      const auth = /^Bearer ([0-9a-f]+)$/.exec(c.req.header('authorization') ?? '');
      if (!auth) return c.json(err('auth-required', "this route needs the node's cookie token (Authorization: Bearer <token>, from api.cookie)"), 401);
      if (!sameToken(auth[1]!, token)) return c.json(err('bad-token', 'the token does not match this node (it changes at every start)'), 401);
    }
    await next();
  });

  app.get('/v1/status', (c) => {
    const tip = node.chain.tip();
    return c.json({
      network: node.options.spec.name,
      networkId: toHex(node.networkId),
      sector: node.options.sector.slug,
      sectorId: node.options.sector.id,
      addressPrefix: node.options.spec.addressPrefix,
      symbol: node.options.sector.symbol,
      decimals: node.options.sector.decimals,
      main: { symbol: node.options.spec.main.symbol, decimals: node.options.spec.main.decimals, windowMs: node.options.spec.main.windowMs },
      genesisTimeMs: node.options.spec.genesisTimeMs,
      workKinds: node.options.sector.workKinds,
      lottery: { ...node.options.sector.lottery, macsPerHash: node.options.sector.lottery.macsPerHash.toString() },
      tip: { height: tip.height, id: toHex(tip.id), cumulativeWork: tip.cumulativeWork.toString() },
      blocks: node.workCounts,
      peers: node.p2p.peers().map((p) => ({
        address: p.address,
        outbound: p.outbound,
        score: p.score,
        tipHeight: p.remote?.tipHeight,
        received: p.stats,
      })),
      networkActive: node.p2p.isActive,
      verifyThreads: node.verifyThreads,
      mempool: { txs: node.mempool.size, bytes: node.mempool.bytes },
      mining: miner
        ? { hashesPerSecond10s: miner.speed(10_000), hashesPerSecond60s: miner.speed(60_000), hashesPerSecond15m: miner.speed(900_000), lotteryRuns: miner.matmulStats.runs, matmulFound: miner.matmulStats.found }
        : null,
      p2pPort: node.p2p.port,
      edge: opts.edgeUrl ?? null,
    });
  });

  app.get('/v1/block/:ref', (c) => {
    const ref = c.req.param('ref');
    let block: Block | undefined;
    if (/^\d{1,15}$/.test(ref)) block = node.store.getBlockByHeight(Number(ref));
    else if (HEX32.test(ref)) block = node.store.getBlock(fromHex(ref));
    else return c.json(err('bad-request', 'a block is named by its height or its 64-hex id'), 400);
    return block ? c.json(blockJson(block, prefix)) : c.json(err('not-found', `no block ${ref}`), 404);
  });

  app.get('/v1/tx/:txid', (c) => {
    const ref = c.req.param('txid');
    if (!HEX32.test(ref)) return c.json(err('bad-request', 'a txid is 64 hex characters'), 400);
    const pending = node.mempool.get(ref);
    if (pending) return c.json({ status: 'pending', tx: txJson(pending.tx, prefix) });
    const at = node.store.txLocation(fromHex(ref));
    if (!at) return c.json(err('not-found', `no tx ${ref}`), 404);
    const block = node.store.getBlock(at.blockId)!;
    return c.json({ status: 'confirmed', block: toHex(at.blockId), height: block.header.height, tx: txJson(block.body.txs[at.position]!, prefix) });
  });

  app.get('/v1/account/:address', (c) => {
    const a = decodeAddress(c.req.param('address'), prefix);
    if (!a.ok) return c.json(err(a.code, a.detail), 400);
    const acct = node.store.account(a.value);
    const pending = node.mempool.pendingOf(a.value);
    return c.json({
      address: c.req.param('address'),
      balance: acct.balance.toString(),
      nonce: acct.nonce.toString(),
      pending: {
        txs: pending.map((e) => e.txid),
        nextNonce: node.mempool.nextNonce(a.value, node.store).toString(),
        spend: pending.reduce((sum, e) => sum + txSpend(e.tx), 0n).toString(),
      },
    });
  });

  // The node's own MAIN ledger, computed from its header view (node/main-view.ts).
  const main = opts.main;
  const noMain = (c: Context) => c.json(err('no-main-view', 'this node runs without an edge (--edge), so it computes no MAIN ledger'), 404);
  app.get('/v1/main/status', (c) => (main ? c.json(main.status()) : noMain(c)));
  app.get('/v1/main/state', (c) => {
    if (!main) return noMain(c);
    return c.json(mainStateJson(main.current, main.root, main.decidedThrough()));
  });
  app.get('/v1/main/accounts/:address', (c) => {
    if (!main) return noMain(c);
    const a = decodeAddress(c.req.param('address'), prefix);
    if (!a.ok) return c.json(err(a.code, a.detail), 400);
    const acct = main.account(a.value);
    const body: MainAccountJson = { address: toHex(a.value), balance: acct.balance.toString(), nonce: acct.nonce.toString(), window: main.current.window };
    return c.json(body);
  });
  app.get('/v1/main/windows/:window', (c) => {
    if (!main) return noMain(c);
    const ref = c.req.param('window');
    if (!/^\d{1,15}$/.test(ref)) return c.json(err('bad-request', 'a window is a decimal number'), 400);
    const row = node.store.main.window(Number(ref));
    return row ? c.json({ ...windowResultOf(JSON.parse(row.result)), edgeRoot: row.edgeRoot && toHex(row.edgeRoot) }) : c.json(err('not-found', `window ${ref} is not folded here`), 404);
  });
  app.get('/v1/main/tx/:txid', (c) => {
    if (!main) return noMain(c);
    const txid = c.req.param('txid');
    if (!HEX32.test(txid)) return c.json(err('bad-request', 'a txid is 64 hex characters'), 400);
    const o = node.store.main.outcome(txid);
    if (!o) return c.json(err('not-found', `tx ${txid} is in no window folded here (yet)`), 404);
    const r = JSON.parse(node.store.main.window(o.window)!.result) as WindowResultJson;
    return c.json({ ...o, releases: r.releases.filter((x) => x.txid === txid) });
  });
  app.get('/v1/main/pools', (c) => {
    if (!main) return noMain(c);
    const state = mainStateJson(main.current, main.root, main.decidedThrough());
    const last = new Map<number, { window: number; converted: string; minted: string }>();
    // The last batch of each sector, within the newest 50 folded windows (this answers every second on a devnet).
    for (const r of node.store.main.recent(50).map((row) => JSON.parse(row.result) as WindowResultJson)) for (const b of r.batches) if (!last.has(b.sectorId) && b.converted !== '0') last.set(b.sectorId, { window: r.window, converted: b.converted, minted: b.minted });
    return c.json({ window: state.window, pools: state.pools.map((p) => ({ ...p, lastBatch: last.get(p.sectorId) ?? null })) });
  });
  app.get('/v1/main/audit', async (c) => {
    if (!main) return noMain(c);
    const a = await main.audit();
    const s = auditSettlements(node.store, node.options.sector, main.releases(node.options.sector.id));
    const problems = [...a.problems, ...s.problems];
    return c.json({ ...a, settlements: s.settlements, recycles: s.recycles, problems, ok: problems.length === 0 } satisfies MainAudit);
  });
  // This sector's settlements: releases the fold owes it, how many its best chain applied (the treasury's nonce), the next ones due.
  app.get('/v1/main/settlements', (c) => {
    if (!main) return noMain(c);
    const sectorId = node.options.sector.id;
    const treasury = node.store.account(treasuryAddress(sectorId));
    const next = main.releases(sectorId).from(treasury.nonce, 16);
    const body: SettlementsJson = {
      sectorId,
      owed: node.store.main.releaseCount(sectorId).toString(),
      applied: treasury.nonce.toString(),
      treasury: treasury.balance.toString(),
      completeThrough: main.completeThrough,
      heldBlocks: node.chain.heldBlocks,
      next: next.map((r) => ({ seq: r.seq.toString(), window: r.window, id: r.id, to: toHex(r.to), amount: r.amount.toString(), reason: r.reason, txid: r.txid })),
    };
    return c.json(body);
  });
  app.get('/v1/main/history/:address', (c) => {
    if (!main) return noMain(c);
    const a = decodeAddress(c.req.param('address'), prefix);
    if (!a.ok) return c.json(err(a.code, a.detail), 400);
    const me = toHex(a.value);
    const entries = node.store.main.outcomesOf(me, 1000).map((x) => ({ ...x, direction: x.to === me ? 'in' : 'out' }));
    return c.json({ address: me, entries });
  });

  /** The JSON body of a POST, or an error response (413 over MAX_BODY, 400 when not JSON). */
  async function jsonBody(c: Context, shape: string): Promise<{ body: unknown } | { response: Response }> {
    // Bounded whatever the headers claim (a chunked body has no length), as at the edge.
    const read = await readBodyText(c.req.raw, MAX_BODY);
    if (!read.ok) {
      const tooLarge = read.code === 'body-too-large';
      return { response: c.json(err(read.code, tooLarge ? `at most ${MAX_BODY} bytes` : read.message), tooLarge ? 413 : 400) };
    }
    try {
      return { body: JSON.parse(read.text) };
    } catch {
      return { response: c.json(err('bad-json', `the body must be JSON: ${shape}`), 400) };
    }
  }

  app.post('/v1/peers', async (c) => {
    const r = await jsonBody(c, '{"url": "ws://host:port"}');
    if ('response' in r) return r.response;
    const url = (r.body as { url?: unknown })?.url;
    if (typeof url !== 'string' || !/^wss?:\/\/[^\s/]+(\/[^\s]*)?$/.test(url) || !URL.canParse(url)) {
      return c.json(err('bad-request', '"url" must be a ws:// or wss:// URL'), 400);
    }
    node.p2p.connect(url);
    return c.json({ dialing: node.p2p.dialTargets() }, 202);
  });

  app.post('/v1/network', async (c) => {
    const r = await jsonBody(c, '{"active": true|false}');
    if ('response' in r) return r.response;
    const active = (r.body as { active?: unknown })?.active;
    if (typeof active !== 'boolean') return c.json(err('bad-request', '"active" must be true or false'), 400);
    node.p2p.setActive(active);
    return c.json({ active: node.p2p.isActive });
  });

  app.post('/v1/mining', async (c) => {
    const r = await jsonBody(c, '{"active": true|false}');
    if ('response' in r) return r.response;
    const active = (r.body as { active?: unknown })?.active;
    if (typeof active !== 'boolean') return c.json(err('bad-request', '"active" must be true or false'), 400);
    if (!miner) return c.json(err('not-mining', 'this node was started without --mine'), 409);
    if (active) miner.start();
    else await miner.stop();
    return c.json({ active: miner.isRunning });
  });

  app.post('/v1/tx', async (c) => {
    const r = await jsonBody(c, '{"tx": "<hex>"}');
    if ('response' in r) return r.response;
    const hex = (r.body as { tx?: unknown })?.tx;
    if (typeof hex !== 'string' || !/^([0-9a-f]{2}){1,2048}$/.test(hex)) return c.json(err('bad-request', '"tx" must be hex'), 400);
    let tx: Tx;
    try {
      tx = decodeTx(fromHex(hex));
    } catch (e) {
      if (e instanceof CodecError) return c.json(err(e.code, e.message), 400);
      throw e;
    }
    const sent = node.submitTx(tx);
    return sent.ok ? c.json({ txid: sent.txid, status: 'pending' }, 202) : c.json(err(sent.code, sent.detail), 422);
  });

  app.notFound((c) => c.json(err('not-found', 'no such endpoint'), 404));
  app.onError((e, c) => c.json(err('internal-error', e.message), 500));
  return app;
}
