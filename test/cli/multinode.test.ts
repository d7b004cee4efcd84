// Nodes of one sector as real processes on 127.0.0.1 (`pouw node start`),
// driven through the CLI (`pouw keys`, `pouw tx send`, `pouw account show`)
// and the local API: three miners agree on one chain and its balances; a
// partition heals onto the heaviest branch without losing a tx; a miner
// killed with SIGKILL restarts from a consistent store and catches up. Every
// store is audited at the end against a replay from genesis.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeAddress } from '../../core/keys.js';
import { devnetSpec, findSector } from '../../core/params.js';
import { toHex } from '../../core/bytes.js';
import { replayStore } from '../node/fixtures/replay.js';
import { until } from '../wait.js';
import { api, pouwJson, settle, startNode, stopNode, type NodeProc } from './procs.js';

const SECTOR = 'cpu-edge';
let home = '';
let nodes: NodeProc[] = [];

test.before.each(() => {
  home = mkdtempSync(join(tmpdir(), 'pouw-multinode-'));
  nodes = [];
});
test.after.each(async () => {
  for (const n of nodes) await stopNode(n);
  rmSync(home, { recursive: true, force: true });
});

const dataOf = (name: string) => join(home, name);
const dbOf = (name: string) => join(home, name, SECTOR, 'chain.db');

/** A key in the test's home, by name; returns its address. */
function newKey(name: string): string {
  return pouwJson(home, ['keys', 'new', '--name', name]).address as string;
}

async function launch(name: string, genesis: string, extra: string[]): Promise<NodeProc> {
  const n = await startNode(home, ['--sector', SECTOR, '--data', dataOf(name), '--genesis-time', genesis, ...extra]);
  nodes.push(n);
  return n;
}

async function balanceOf(n: NodeProc, address: string): Promise<bigint> {
  return BigInt((await api(n.api, `/v1/account/${address}`)).balance);
}

async function confirmedOn(n: NodeProc, txid: string): Promise<boolean> {
  return (await api(n.api, `/v1/tx/${txid}`))?.status === 'confirmed';
}

function specOf(name: string) {
  const saved = JSON.parse(readFileSync(join(dataOf(name), 'spec.json'), 'utf8')) as { genesisTimeMs: number };
  const spec = devnetSpec(saved.genesisTimeMs);
  return { spec, sector: findSector(spec, SECTOR)! };
}

/** Stops every node cleanly, then replays each store from genesis: all must end on `tip` with equal balances. */
async function stopAndAudit(names: string[], tip: { id: string; height: number }) {
  for (const n of nodes) assert.is(await stopNode(n), 0, `clean exit:\n${n.stderr()}`);
  nodes = [];
  const audits = names.map((name) => {
    const { spec, sector } = specOf(name);
    return replayStore(dbOf(name), spec, sector);
  });
  for (const a of audits) {
    assert.is(a.tip, tip.id);
    assert.is(a.height, tip.height);
    assert.equal(a.accounts, audits[0]!.accounts);
  }
  return audits[0]!;
}

test('three mining nodes: transfers sent to one are mined, and all end on one tip with equal balances', async () => {
  const genesis = String(Date.now() - 30_000);
  const alice = newKey('alice');
  const bob = newKey('bob');
  const a = await launch('a', genesis, ['--mine', '--address', alice]);
  const b = await launch('b', genesis, ['--mine', '--peer', a.p2p]);
  const c = await launch('c', genesis, ['--mine', '--peer', a.p2p, '--peer', b.p2p]);
  await until(async () => (await balanceOf(a, alice)) > 10n ** 9n, 60_000, 200);

  const account = pouwJson(home, ['account', 'show', 'alice', '--api', a.api]);
  assert.is(account.address, alice);
  assert.ok(BigInt(account.balance) > 0n);

  // Three transfers through node A: the nonces come from A's view of confirmed + pending txs.
  const sent = [1, 2, 3].map((i) => pouwJson(home, ['tx', 'send', '--from', 'alice', '--to', 'bob', '--amount', `${i}.5`, '--api', a.api, '--api-cookie', a.cookie]));
  assert.equal(sent.map((s) => s.nonce), ['0', '1', '2'].map((n) => String(BigInt(account.pending.nextNonce) + BigInt(n))));
  const waited = pouwJson(home, ['tx', 'send', '--from', 'alice', '--to', bob, '--amount', '0.25', '--fee', '0.001', '--api', a.api, '--api-cookie', a.cookie, '--wait', '120']);
  assert.is(waited.status, 'confirmed');
  assert.ok(waited.height > 0);
  const txids = [...sent.map((s) => s.txid as string), waited.txid as string];
  await until(async () => (await Promise.all([a, b, c].flatMap((n) => txids.map((t) => confirmedOn(n, t))))).every(Boolean), 90_000, 250);

  const tip = await settle([a, b, c]);
  const bobBalances = await Promise.all([a, b, c].map((n) => balanceOf(n, bob)));
  assert.equal(bobBalances, [775_000_000n, 775_000_000n, 775_000_000n]);
  const aliceBalances = await Promise.all([a, b, c].map((n) => balanceOf(n, alice)));
  assert.ok(aliceBalances.every((x) => x === aliceBalances[0]));
  const shown = pouwJson(home, ['account', 'show', 'bob', '--api', c.api]);
  assert.is(shown.balance, '775000000');
  assert.is(shown.nonce, '0');

  const audit = await stopAndAudit(['a', 'b', 'c'], tip);
  for (const t of txids) assert.ok(audit.txids.has(t), `tx ${t} is in the final chain`);
  assert.is(audit.accounts[toHex((decodeAddress(bob, 'tpouw') as { value: Uint8Array }).value)], '775000000/0');
});

test('a partition heals onto the heaviest branch; the txs of the losing side are not lost', async () => {
  const genesis = String(Date.now() - 30_000);
  const alice = newKey('alice');
  const carol = newKey('carol');
  const bob = newKey('bob');
  const a = await launch('a', genesis, ['--mine', '--address', alice]);
  const b = await launch('b', genesis, ['--mine', '--address', carol, '--peer', a.p2p]);
  const c = await launch('c', genesis, ['--mine', '--peer', a.p2p, '--peer', b.p2p]);
  // Both senders funded on every node before the split.
  await until(async () => (await Promise.all([a, b, c].flatMap((n) => [balanceOf(n, alice), balanceOf(n, carol)]))).every((x) => x > 10n ** 9n), 60_000, 200);

  assert.equal(await api(c.api, '/v1/network', { active: false }), { active: false });
  await until(async () => (await api(c.api, '/v1/status')).peers.length === 0 && (await api(a.api, '/v1/status')).peers.length === 1, 20_000, 100);
  const split = (await api(c.api, '/v1/status')).tip.height as number;

  // One transfer on each side of the split.
  const onC = pouwJson(home, ['tx', 'send', '--from', 'alice', '--to', 'bob', '--amount', '2', '--api', c.api, '--api-cookie', c.cookie]).txid as string;
  const onA = pouwJson(home, ['tx', 'send', '--from', 'carol', '--to', 'bob', '--amount', '3', '--api', a.api, '--api-cookie', a.cookie]).txid as string;
  await until(async () => (await confirmedOn(c, onC)) && (await confirmedOn(a, onA)), 60_000, 200);
  await until(async () => {
    const [sa, sc] = await Promise.all([api(a.api, '/v1/status'), api(c.api, '/v1/status')]);
    return sa.tip.height >= split + 3 && sc.tip.height >= split + 3;
  }, 60_000, 200);
  // Neither side saw the other's transfer.
  assert.is(await confirmedOn(a, onC), false);
  assert.is(await confirmedOn(c, onA), false);
  const before = await Promise.all([a, c].map(async (n) => (await api(n.api, '/v1/status')).tip));
  assert.is.not(before[0].id, before[1].id, 'the two sides mined different branches');

  assert.equal(await api(c.api, '/v1/network', { active: true }), { active: true });
  // Mining goes on after the heal; both transfers end in the one chain on every node.
  await until(async () => (await Promise.all([a, b, c].flatMap((n) => [confirmedOn(n, onA), confirmedOn(n, onC)]))).every(Boolean), 90_000, 250).catch(async (e) => {
    for (const n of [a, b, c]) {
      const s = await api(n.api, '/v1/status');
      console.error(n.api, JSON.stringify(s.tip), s.peers.length, s.mempool, await api(n.api, `/v1/tx/${onA}`), await api(n.api, `/v1/tx/${onC}`));
      console.error(n.events.filter((e) => e.type !== 'speed' && e.type !== 'block-found').slice(-8));
    }
    throw e;
  });
  const tip = await settle([a, b, c]);
  const heaviest = before.reduce((x, y) => (BigInt(x.cumulativeWork) >= BigInt(y.cumulativeWork) ? x : y));
  assert.ok(BigInt(tip.cumulativeWork) >= BigInt(heaviest.cumulativeWork), 'the final chain has at least the work of the heavier side');
  const bobBalances = await Promise.all([a, b, c].map(async (n) => (await api(n.api, `/v1/account/${bob}`)).balance));
  assert.equal(bobBalances, ['500000000', '500000000', '500000000']);

  const audit = await stopAndAudit(['a', 'b', 'c'], tip);
  assert.ok(audit.txids.has(onA) && audit.txids.has(onC));
});

test('a mining node killed with SIGKILL restarts from a consistent store, keeps what was confirmed and catches up', async () => {
  const genesis = String(Date.now() - 30_000);
  const alice = newKey('alice');
  newKey('bob');
  let a = await launch('a', genesis, ['--mine', '--address', alice]);
  const b = await launch('b', genesis, ['--mine', '--peer', a.p2p]);
  await until(async () => (await balanceOf(a, alice)) > 10n ** 9n, 60_000, 200);
  const txid = pouwJson(home, ['tx', 'send', '--from', 'alice', '--to', 'bob', '--amount', '1', '--api', a.api, '--api-cookie', a.cookie, '--wait', '120']).txid as string;
  await until(() => confirmedOn(b, txid), 60_000, 200);

  // Blocks both nodes hold (a few below A's tip) count as confirmed.
  const heightA = (await api(a.api, '/v1/status')).tip.height as number;
  const agreed = new Map<number, string>();
  for (let h = 1; h <= heightA - 3; h++) {
    const [x, y] = await Promise.all([api(a.api, `/v1/block/${h}`), api(b.api, `/v1/block/${h}`)]);
    if (x && y && x.header.id === y.header.id) agreed.set(h, x.header.id);
  }
  assert.ok(agreed.size >= 3, `at least 3 agreed blocks, got ${agreed.size}`);

  // Kill A in the middle of mining, without warning.
  a.child.kill('SIGKILL');
  assert.equal((await a.exited).signal, 'SIGKILL');
  nodes = nodes.filter((n) => n !== a);
  const { spec, sector } = specOf('a');
  const afterKill = replayStore(dbOf('a'), spec, sector);
  assert.ok(afterKill.height >= Math.max(...agreed.keys()), 'no confirmed block lost on disk');

  // B mines on meanwhile; A comes back on the same data and catches up.
  const heightB = (await api(b.api, '/v1/status')).tip.height as number;
  await until(async () => (await api(b.api, '/v1/status')).tip.height >= heightB + 2, 60_000, 200);
  a = await launch('a', genesis, ['--mine', '--address', alice, '--peer', b.p2p]);
  assert.ok(((a.events.find((e) => e.type === 'ready')!.height as number) ?? 0) >= afterKill.height, 'resumes from its store');
  const tip = await settle([a, b]);
  assert.ok(tip.height >= heightB + 2, 'caught up with the blocks mined while it was down');
  for (const [h, id] of agreed) assert.is((await api(a.api, `/v1/block/${h}`)).header.id, id, `block ${h} kept`);
  assert.ok(await confirmedOn(a, txid), 'the confirmed transfer is still confirmed');
  await stopAndAudit(['a', 'b'], tip);
});

test.run();
