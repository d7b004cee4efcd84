// The light client's header view against core: anchors read off a view equal
// core's beaconAnchor over the whole chain whenever the view can tell, and
// are refused (undefined) when they lie below what it holds; a gap restarts
// the view; a heavier branch takes over; pruning keeps recent anchors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { beaconAnchor, type BeaconBlock } from '../../core/beacon.js';
import { emptyBody, type Block } from '../../core/block.js';
import { toHex } from '../../core/bytes.js';
import { blockId } from '../../core/header.js';
import { medianTimePast } from '../../core/time.js';
import { SectorHeaderView } from '../../node/header-view.js';
import { Chains, mineBlock, testSpec } from '../edge/fixtures.js';

const spec = testSpec(Date.now() - 600_000);
const sector = spec.sectors[0]!;
const DEPTH = spec.main.beaconDepth;
const chains = new Chains(spec);
// Blocks on schedule, then a few 1 ms apart, so medians move in both regimes.
chains.fillUntil(sector.id, spec.genesisTimeMs + 120 * sector.blockTimeMs);
chains.burstAfter(sector.id, chains.tip(sector.id).header.timeMs, 10);
const blocks = chains.chain(sector.id);

function coreChain(list: Block[]): BeaconBlock[] {
  const times: number[] = [];
  return list.map((b, height) => {
    times.push(b.header.timeMs);
    return { height, id: blockId(b.header), mtpMs: medianTimePast(times, spec.limits.medianTimeSpan) };
  });
}

/** Cutoffs around every block time, from before genesis to past the tip. */
function cutoffs(list: Block[]): number[] {
  return [spec.genesisTimeMs - 1, ...list.flatMap((b) => [b.header.timeMs - 1, b.header.timeMs])];
}

function viewOf(list: Block[], maxHeaders?: number): SectorHeaderView {
  const v = new SectorHeaderView(spec, sector, maxHeaders);
  for (const b of list) {
    const r = v.add(b.header, Date.now());
    assert.ok(r.ok, r.ok ? '' : `${r.code} ${r.detail}`);
  }
  return v;
}

const plain = (a: { height: number; id: Uint8Array } | undefined) => a && { height: a.height, id: toHex(a.id) };

test('a view from genesis gives core’s anchor for every cutoff it settles', () => {
  const v = viewOf(blocks.slice(1));
  const core = coreChain(blocks);
  let settled = 0;
  for (const c of cutoffs(blocks)) {
    const want = beaconAnchor(sector.id, core, c, DEPTH);
    const got = v.anchor(c, DEPTH);
    if (!want.settled) {
      assert.is(got, undefined, `cutoff ${c} is not settled`);
      continue;
    }
    settled++;
    assert.equal(plain(got), plain(want), `cutoff ${c}`);
  }
  assert.ok(settled > 100);
});

test('after a gap the view restarts, and answers only what it can tell', () => {
  const from = 60;
  const v = viewOf(blocks.slice(1, 20));
  const r = v.add(blocks[from]!.header, Date.now());
  assert.ok(r.ok && r.value.status === 'root');
  for (const b of blocks.slice(from + 1)) assert.ok(v.add(b.header, Date.now()).ok);
  assert.is(v.rerooted, 1);
  assert.is(v.base().header.height, from);
  // A side branch whose fork point the view never held cannot be placed.
  const side = mineBlock(spec, sector, blocks[30]!.header, emptyBody(new Uint8Array(20).fill(9)), blocks[30]!.header.timeMs + 1);
  const placed = v.add(side.header, Date.now());
  assert.is(placed.ok ? 'placed' : placed.code, 'unknown-parent');
  const core = coreChain(blocks);
  let told = 0;
  let untold = 0;
  for (const c of cutoffs(blocks)) {
    const want = beaconAnchor(sector.id, core, c, DEPTH);
    const got = v.anchor(c, DEPTH);
    if (got === undefined) {
      untold++;
      continue;
    }
    told++;
    assert.ok(want.settled);
    assert.equal(plain(got), plain(want), `cutoff ${c}`);
  }
  assert.ok(told > 50 && untold > 50, `${told} told, ${untold} not`);
});

test('a heavier branch becomes the best chain; pruning keeps recent anchors right', () => {
  const v = viewOf(blocks.slice(1), 32);
  assert.ok(v.size <= 32 + 8 + 1);
  const fork = blocks.length - 4;
  const branch: Block[] = [];
  let parent = blocks[fork]!.header;
  for (let i = 0; i < 6; i++) {
    const b = mineBlock(spec, sector, parent, emptyBody(new Uint8Array(20).fill(5)), parent.timeMs + 1);
    branch.push(b);
    parent = b.header;
  }
  for (const b of branch) assert.ok(v.add(b.header, Date.now()).ok);
  assert.is(v.tip().key, toHex(blockId(parent)));
  const all = [...blocks.slice(0, fork + 1), ...branch];
  const core = coreChain(all);
  for (const c of cutoffs(all).slice(-40)) {
    const want = beaconAnchor(sector.id, core, c, DEPTH);
    const got = v.anchor(c, DEPTH);
    if (got !== undefined) assert.equal(plain(got), plain(want), `cutoff ${c}`);
    else assert.ok(!want.settled || want.height < v.base().header.height, `cutoff ${c} should be told`);
  }
});

test.run();
