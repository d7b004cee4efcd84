/**
 * Writes this project's own regression vectors (test/vectors/{header,tx,
 * beacon,selection,genesis}.json) from fixed inputs. Every backend and the
 * edge must reproduce them; tests recompute each one from its inputs.
 * Regenerate only for a deliberate consensus change, and say so in the commit:
 *   npx tsx scripts/gen-vectors.ts
 */
import { writeFileSync } from 'node:fs';
import {
  beaconHash,
  blockId,
  devnetSpec,
  encodeHeader,
  encodeTx,
  encodeUnsignedTx,
  fromHex,
  genesisBlock,
  genesisId,
  initialBeacon,
  keyPairFromSeed,
  addressOf,
  encodeAddress,
  networkId,
  selectSectors,
  sha256,
  signTx,
  toHex,
  txId,
  utf8ToBytes,
  type BlockHeader,
  type UnsignedTx,
} from '../core/index.js';

const out = (name: string, data: unknown) =>
  writeFileSync(new URL(`../test/vectors/${name}.json`, import.meta.url), JSON.stringify(data, null, 2) + '\n');
const SOURCE = 'this project (regression vectors from scripts/gen-vectors.ts; inputs are fixed, outputs are consensus)';
const h32 = (label: string) => sha256(utf8ToBytes(label));

// Headers: the layout and the id.
const headers: BlockHeader[] = [
  { version: 1, sectorId: 1, height: 0, prevHash: new Uint8Array(32), bodyRoot: new Uint8Array(32), timeMs: 0, bits: 0x207fffff, workKind: 'hash', nonce: 0n },
  { version: 1, sectorId: 3, height: 123456, prevHash: h32('prev'), bodyRoot: h32('body'), timeMs: 1_767_225_600_123, bits: 0x1d00ffff, workKind: 'hash', nonce: 0x0123456789abcdefn },
  { version: 1, sectorId: 4, height: 2 ** 53 - 1, prevHash: h32('p2'), bodyRoot: h32('b2'), timeMs: 2 ** 53 - 1, bits: 0x1f00ffff, workKind: 'matmul', nonce: (1n << 64n) - 1n },
];
out('header', {
  source: SOURCE,
  vectors: headers.map((h) => ({
    header: { ...h, prevHash: toHex(h.prevHash), bodyRoot: toHex(h.bodyRoot), nonce: h.nonce.toString() },
    hex: toHex(encodeHeader(h)),
    id: toHex(blockId(h)),
  })),
});

// Transactions: ids and signatures under the default devnet network id.
const spec = devnetSpec();
const nid = networkId(spec);
const alice = keyPairFromSeed(fromHex('11'.repeat(32)));
const bob = keyPairFromSeed(fromHex('22'.repeat(32)));
const txs: UnsignedTx[] = [
  { version: 1, chain: 1, from: alice.publicKey, nonce: 0n, fee: 1000n, payload: { kind: 'transfer', to: addressOf(bob.publicKey), amount: 5_000_000_000n } },
  { version: 1, chain: 0, from: alice.publicKey, nonce: 7n, fee: 1n, payload: { kind: 'transfer', to: addressOf(bob.publicKey), amount: 1n } },
  { version: 1, chain: 3, from: bob.publicKey, nonce: 1n, fee: 250n, payload: { kind: 'convert', amount: 100_000_000n, minMain: 99_000_000n, mainTo: addressOf(bob.publicKey) } },
];
out('tx', {
  source: SOURCE,
  networkId: toHex(nid),
  keys: [
    { seed: '11'.repeat(32), publicKey: toHex(alice.publicKey), address: encodeAddress(addressOf(alice.publicKey), spec.addressPrefix) },
    { seed: '22'.repeat(32), publicKey: toHex(bob.publicKey), address: encodeAddress(addressOf(bob.publicKey), spec.addressPrefix) },
  ],
  vectors: txs.map((t, i) => {
    const signed = signTx(t, (t.from === alice.publicKey ? alice : bob).secretKey, nid);
    return {
      signerSeed: t.from === alice.publicKey ? '11'.repeat(32) : '22'.repeat(32),
      tx: {
        version: t.version,
        chain: t.chain,
        nonce: t.nonce.toString(),
        fee: t.fee.toString(),
        payload: Object.fromEntries(
          Object.entries(t.payload).map(([k, v]) => [k, v instanceof Uint8Array ? toHex(v) : typeof v === 'bigint' ? v.toString() : v]),
        ),
      },
      unsignedHex: toHex(encodeUnsignedTx(t)),
      txid: toHex(txId(t)),
      signature: toHex(signed.signature),
      hex: toHex(encodeTx(signed)),
      note: i === 1 ? 'chain 0 is MAIN' : undefined,
    };
  }),
});

// Beacon chain over three windows of four sectors.
const r0 = initialBeacon(nid);
const windows = [0, 1, 2].map((w) => ({
  window: w,
  anchors: [1, 2, 3, 4].map((s) => ({ sectorId: s, id: toHex(h32(`anchor-${w}-${s}`)) })),
}));
let prev = r0;
const beaconOut = windows.map((w) => {
  prev = beaconHash(w.window, prev, w.anchors.map((a) => ({ sectorId: a.sectorId, id: fromHex(a.id) })));
  return { ...w, beacon: toHex(prev) };
});
out('beacon', { source: SOURCE, networkId: toHex(nid), initial: toHex(r0), windows: beaconOut });

// Selection orders.
const weights = spec.sectors.map((s) => ({ id: s.id, weight: s.selectionWeight }));
const selCases = [
  { purpose: 'record' as const, origin: null, count: 2 },
  { purpose: 'record' as const, origin: 1, count: 2 },
  { purpose: 'witness' as const, origin: 3, count: 2 },
  { purpose: 'record' as const, origin: 2, count: 3 },
];
const selOut = [];
for (let i = 0; i < 8; i++) {
  const beacon = h32(`beacon-${i}`);
  const txid = h32(`txid-${i}`);
  const c = selCases[i % selCases.length]!;
  const r = selectSectors({ ...c, beacon, txid, sectors: weights, count: c.count });
  if (!r.ok) throw new Error(r.code);
  selOut.push({ ...c, beacon: toHex(beacon), txid: toHex(txid), sectors: weights, order: r.value.order, primary: r.value.primary });
}
out('selection', { source: SOURCE, vectors: selOut });

// Genesis of the default devnet spec.
out('genesis', {
  source: SOURCE,
  network: spec.name,
  genesisTimeMs: spec.genesisTimeMs,
  networkId: toHex(nid),
  sectors: spec.sectors.map((s) => ({
    slug: s.slug,
    id: s.id,
    headerHex: toHex(encodeHeader(genesisBlock(spec, s).header)),
    genesisId: toHex(genesisId(spec, s)),
  })),
});
console.log('vectors written');
