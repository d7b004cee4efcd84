/**
 * Window beacon (DESIGN §5).
 *
 *   R_w = H_tag("pouw/beacon", u64 w ‖ R_{w−1} ‖ for each sector in id order:
 *         u32 sector id ‖ anchor block id)
 *   R_{−1} = H_tag("pouw/beacon", network id)
 *
 * A sector's anchor for window w is read off its best chain: take the last
 * block whose median-time-past is ≤ the last millisecond of window w−1, then go
 * `beaconDepth` blocks further back (to genesis at most). Counting the depth
 * inside the window-bounded chain, rather than against a moving tip, makes the
 * anchor the same for every node that has seen the same chain, whenever it
 * computes. The anchor is *settled* once the chain holds a block whose
 * median-time-past is past the cutoff: median-time-past never decreases along
 * a chain, so no later block can move it.
 * @module
 */
import { assertBytes } from './bytes.js';
import { encodeWith } from './codec.js';
import { TAGS, taggedHash } from './hash.js';

/** What the beacon needs of each block of a sector's best chain. */
export interface BeaconBlock {
  height: number;
  id: Uint8Array;
  /** Median-time-past of this block (including itself). */
  mtpMs: number;
}

export interface BeaconAnchor {
  sectorId: number;
  height: number;
  id: Uint8Array;
  /** True when a later block proves no block can still move this anchor. */
  settled: boolean;
}

/**
 * Anchor of one sector for a window whose inputs end at `cutoffMs`.
 * `chain` is the best chain from genesis, index = height.
 */
export function beaconAnchor(
  sectorId: number,
  chain: readonly BeaconBlock[],
  cutoffMs: number,
  beaconDepth: number,
): BeaconAnchor {
  if (chain.length === 0) throw new RangeError('a chain has at least its genesis block');
  // Binary search the last block with mtp ≤ cutoff (mtp is non-decreasing).
  let lo = 0;
  let hi = chain.length - 1;
  let last = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (chain[mid]!.mtpMs <= cutoffMs) {
      last = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  const height = Math.max(0, last - beaconDepth);
  const settled = chain[chain.length - 1]!.mtpMs > cutoffMs;
  return { sectorId, height, id: chain[height]!.id, settled };
}

/** R_{−1}: the seed of the beacon chain. */
export function initialBeacon(networkId: Uint8Array): Uint8Array {
  assertBytes(networkId, 32, 'networkId');
  return taggedHash(TAGS.beacon, networkId);
}

/** R_w from R_{w−1} and one anchor per sector (any order; sorted here by sector id). */
export function beaconHash(window: number, prev: Uint8Array, anchors: readonly { sectorId: number; id: Uint8Array }[]): Uint8Array {
  if (!Number.isSafeInteger(window) || window < 0) throw new RangeError('window must be a safe integer ≥ 0');
  assertBytes(prev, 32, 'previous beacon');
  const sorted = [...anchors].sort((a, b) => a.sectorId - b.sectorId);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.sectorId === sorted[i - 1]!.sectorId) throw new RangeError(`two anchors for sector ${sorted[i]!.sectorId}`);
  }
  const body = encodeWith((w) => {
    w.u64(BigInt(window)).fixed(prev, 32);
    for (const a of sorted) w.u32(a.sectorId).fixed(a.id, 32);
  });
  return taggedHash(TAGS.beacon, body);
}
