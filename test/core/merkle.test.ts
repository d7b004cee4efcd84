import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { fromHex, toHex, utf8ToBytes } from '../../core/bytes.js';
import { inclusionProof, leafHash, merkleRoot, nodeHash, verifyInclusion, verifyLeaf } from '../../core/merkle.js';

const ct = JSON.parse(readFileSync(new URL('../vectors/merkle-rfc6962.json', import.meta.url), 'utf8'));
const leaves: Uint8Array[] = ct.leaves.map(fromHex);

test('RFC 6962 roots for trees of 0..8 leaves', () => {
  assert.is(toHex(merkleRoot([])), ct.emptyRoot);
  for (let n = 1; n <= 8; n++) assert.is(toHex(merkleRoot(leaves.slice(0, n))), ct.roots[n - 1], `size ${n}`);
});

test('RFC 6962 audit paths are produced and verify', () => {
  for (const v of ct.paths) {
    const sub = leaves.slice(0, v.size);
    assert.equal(inclusionProof(sub, v.index).map(toHex), v.path, `path ${v.index}/${v.size}`);
    assert.ok(verifyLeaf(sub[v.index]!, v.index, v.size, v.path.map(fromHex), fromHex(ct.roots[v.size - 1])));
  }
});

test('every leaf of trees up to 33 leaves proves, and tampering fails', () => {
  for (let n = 1; n <= 33; n++) {
    const ls = Array.from({ length: n }, (_, i) => utf8ToBytes(`leaf-${i}`));
    const root = merkleRoot(ls);
    for (let i = 0; i < n; i++) {
      const path = inclusionProof(ls, i);
      assert.ok(verifyLeaf(ls[i]!, i, n, path, root), `n=${n} i=${i}`);
      if (n > 1) {
        assert.not.ok(verifyLeaf(ls[i]!, (i + 1) % n, n, path, root), `wrong index n=${n} i=${i}`);
        assert.not.ok(verifyLeaf(utf8ToBytes('other'), i, n, path, root), `wrong leaf n=${n} i=${i}`);
        const bad = path.map((p) => p.slice());
        bad[0]![0]! ^= 1;
        assert.not.ok(verifyLeaf(ls[i]!, i, n, bad, root), `flipped path n=${n} i=${i}`);
        assert.not.ok(verifyLeaf(ls[i]!, i, n, [...path, path[0]!], root), `long path n=${n} i=${i}`);
      }
    }
  }
});

test('leaves and inner nodes are domain-separated (no CVE-2012-2459 ambiguity)', () => {
  const a = utf8ToBytes('a');
  const b = utf8ToBytes('b');
  const c = utf8ToBytes('c');
  // Bitcoin's tree gives [a,b,c] and [a,b,c,c] the same root; this one does not.
  assert.is.not(toHex(merkleRoot([a, b, c])), toHex(merkleRoot([a, b, c, c])));
  // An inner node presented as a leaf does not reproduce the root.
  const inner = nodeHash(leafHash(a), leafHash(b));
  assert.is.not(toHex(merkleRoot([inner])), toHex(merkleRoot([a, b])));
  assert.is.not(toHex(leafHash(new Uint8Array(64))), toHex(nodeHash(new Uint8Array(32), new Uint8Array(32))));
});

test('verifyInclusion never throws on arbitrary input', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 40 }),
      fc.integer({ min: -2, max: 70 }),
      fc.integer({ min: -2, max: 70 }),
      fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 8 }),
      fc.uint8Array({ maxLength: 40 }),
      (leaf, index, size, path, root) => {
        assert.type(verifyInclusion(leaf, index, size, path, root), 'boolean');
      },
    ),
    { numRuns: 500 },
  );
});

test('inclusionProof refuses indexes outside the tree', () => {
  assert.throws(() => inclusionProof([fromHex('00')], 1), RangeError);
  assert.throws(() => inclusionProof([], 0), RangeError);
});

test.run();
