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

/**
 * Every level of the tree over already-hashed leaves, leaves first, root
 * last. Pairing bottom-up and carrying an odd last node up unchanged builds
 * exactly the RFC's tree (split at the largest power of two below n).
 */
export function merkleLevels(hashes: readonly Uint8Array[]): Uint8Array[][] {
  if (hashes.length === 0) return [[sha256(new Uint8Array(0))]];
  const levels = [hashes.slice()];
  let level = levels[0]!;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    levels.push(next);
    level = next;
  }
  return levels;
}

/** Root over already-hashed leaves; the empty tree's root is SHA-256(""). */
export function rootOfLeafHashes(hashes: readonly Uint8Array[]): Uint8Array {
  const levels = merkleLevels(hashes);
  return levels[levels.length - 1]![0]!;
}

/** Merkle root of raw leaf data. */
export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  return rootOfLeafHashes(leaves.map(leafHash));
}

/** Audit path of leaf `index` from the levels, innermost sibling first (a carried node has no sibling). */
export function auditPath(levels: readonly Uint8Array[][], index: number): Uint8Array[] {
  const size = levels[0]!.length;
  if (!Number.isInteger(index) || index < 0 || index >= size) {
    throw new RangeError(`leaf index ${index} outside a tree of ${size}`);
  }
  const path: Uint8Array[] = [];
  let i = index;
  for (let d = 0; d + 1 < levels.length; d++) {
    const sibling = i % 2 === 0 ? i + 1 : i - 1;
    if (sibling < levels[d]!.length) path.push(levels[d]![sibling]!);
    i = Math.floor(i / 2);
  }
  return path;
}

/** Audit path for leaf `index` of a tree over `leaves`, innermost sibling first. */
export function inclusionProof(leaves: readonly Uint8Array[], index: number): Uint8Array[] {
  if (leaves.length === 0) throw new RangeError(`leaf index ${index} outside a tree of 0`);
  return auditPath(merkleLevels(leaves.map(leafHash)), index);
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
