/**
 * Merkle trees with inclusion proofs, as in RFC 6962 / RFC 9162 §2.1.
 *
 * Leaves are hashed as SHA-256(0x00 ‖ data) and inner nodes as
 * SHA-256(0x01 ‖ left ‖ right), so a leaf can never pass for an inner node;
 * an odd node is not duplicated — the tree splits at the largest power of two
 * below the size — so no two different leaf lists share a root (Bitcoin's
 * duplicate-leaf ambiguity, CVE-2012-2459, cannot happen). The empty tree's
 * root is SHA-256 of nothing.
 *
 * Proofs are the RFC's audit paths; verification is RFC 9162 §2.1.3.2.
 * @module
 */
import { assertBytes, concatBytes, equalBytes } from './bytes.js';
import { sha256 } from './hash.js';

const LEAF = Uint8Array.of(0);
const NODE = Uint8Array.of(1);

export function leafHash(data: Uint8Array): Uint8Array {
  return sha256(concatBytes(LEAF, data));
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concatBytes(NODE, left, right));
}

/** Largest power of two strictly below n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** Root over already-hashed leaves (levels built bottom-up, O(n)). */
export function rootOfLeafHashes(hashes: readonly Uint8Array[]): Uint8Array {
  if (hashes.length === 0) return sha256(new Uint8Array(0));
  // Bottom-up pairing yields the same tree as the recursive RFC definition:
  // carrying an odd last node up unchanged splits at the largest power of two.
  let level = hashes.slice();
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}

/** Merkle root of raw leaf data. */
export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  return rootOfLeafHashes(leaves.map(leafHash));
}

/** Audit path for leaf `index` of a tree over `leaves`, innermost sibling first. */
export function inclusionProof(leaves: readonly Uint8Array[], index: number): Uint8Array[] {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) {
    throw new RangeError(`leaf index ${index} outside a tree of ${leaves.length}`);
  }
  const hashes = leaves.map(leafHash);
  const path: Uint8Array[] = [];
  const walk = (lo: number, hi: number, i: number): void => {
    const n = hi - lo;
    if (n <= 1) return;
    const k = splitPoint(n);
    if (i < k) {
      walk(lo, lo + k, i);
      path.push(rootOfLeafHashes(hashes.slice(lo + k, hi)));
    } else {
      walk(lo + k, hi, i - k);
      path.push(rootOfLeafHashes(hashes.slice(lo, lo + k)));
    }
  };
  walk(0, hashes.length, index);
  return path;
}

/**
 * RFC 9162 §2.1.3.2: does `path` prove that the leaf with hash `leaf` sits at
 * `index` in a tree of `size` leaves with root `root`? Any malformed input is
 * simply false.
 */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  path: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  if (leaf.length !== 32 || root.length !== 32 || path.some((p) => !(p instanceof Uint8Array) || p.length !== 32)) {
    return false;
  }
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        // Right-most node carried up: skip levels until fn is a right child.
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalBytes(r, root);
}

/** Convenience: verify raw leaf data rather than its hash. */
export function verifyLeaf(
  data: Uint8Array,
  index: number,
  size: number,
  path: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  assertBytes(data, undefined, 'leaf data');
  return verifyInclusion(leafHash(data), index, size, path, root);
}
