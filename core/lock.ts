/**
 * What a conversion locks (DESIGN §5): sector tokens moved into a sector's
 * treasury, to be witnessed by two other sectors and minted as MAIN.
 *
 * Two kinds, one pipeline (report, draw, witness, fold):
 *   - a **Convert tx** in a block's `txs` section (`pouw convert`);
 *   - a **recycle entry** in the `settlements` section of an epoch's last
 *     block (mandatory recycling, core/state-transition.ts), minted to the
 *     named account's own address, with no `minMain`.
 *
 * Encoding (the `tx` field of a conversion report, a witness request and
 * window data): a Convert tx's own encoding (its first byte is the tx
 * version, 1), or `0xff ‖ u32 sector ‖ recycle entry` (core/settlement.ts).
 * The id that names the conversion everywhere a txid would: the tx's id, or
 * H_tag("pouw/recycle-lock", that encoding).
 * @module
 */
import { decodeExact, encodeWith } from './codec.js';
import { fail, ok, type Result } from './errors.js';
import { TAGS, taggedHash } from './hash.js';
import type { Verifier } from './keys.js';
import type { NetworkSpec } from './params.js';
import type { RejectCode } from './reject.js';
import { encodeSettlement, readRecycleEntry, RECYCLE_ENTRY_BYTES, type RecycleEntry } from './settlement.js';
import { checkTx, encodeTx, readTx, txId, txSender, type Tx } from './tx.js';
import type { SectionName } from './block.js';
import { toHex } from './bytes.js';

export type Lock = { kind: 'tx'; tx: Tx } | { kind: 'recycle'; sector: number; entry: RecycleEntry };

const RECYCLE_LOCK = 0xff;

export function encodeLock(l: Lock): Uint8Array {
  if (l.kind === 'tx') return encodeTx(l.tx);
  return encodeWith((w) => w.u8(RECYCLE_LOCK).u32(l.sector).fixed(encodeSettlement(l.entry), RECYCLE_ENTRY_BYTES), 5 + RECYCLE_ENTRY_BYTES);
}

/** Decodes a lock; a CodecError for anything else (a recycle lock must hold a recycle entry). */
export function decodeLock(bytes: Uint8Array): Lock {
  if (bytes[0] !== RECYCLE_LOCK) return { kind: 'tx', tx: decodeExact(bytes, readTx, 'lock') };
  return decodeExact(
    bytes,
    (r): Lock => {
      r.u8('lock kind');
      const sector = r.u32('lock sector');
      return { kind: 'recycle', sector, entry: readRecycleEntry(r) };
    },
    'lock',
  );
}

/** The id that names the conversion of `l`. */
export function lockId(l: Lock): Uint8Array {
  return l.kind === 'tx' ? txId(l.tx) : taggedHash(TAGS.recycleLock, encodeLock(l));
}

/** The sector whose treasury holds the lock. */
export function lockSector(l: Lock): number {
  return l.kind === 'tx' ? l.tx.chain : l.sector;
}

/** What the MAIN fold does with a lock: mint `amount`'s share to `mainTo` (at least `minMain`), or refund `refundTo` on the sector. */
export interface LockTerms {
  sector: number;
  amount: bigint;
  minMain: bigint;
  mainTo: Uint8Array;
  refundTo: Uint8Array;
}

/** The terms of a lock (a tx lock must be a Convert tx: `checkLock` first). */
export function lockTerms(l: Lock): LockTerms {
  if (l.kind === 'recycle') return { sector: l.sector, amount: l.entry.amount, minMain: 0n, mainTo: l.entry.account, refundTo: l.entry.account };
  const p = l.tx.payload;
  if (p.kind !== 'convert') throw new RangeError(`a ${p.kind} tx locks nothing`);
  return { sector: l.tx.chain, amount: p.amount, minMain: p.minMain, mainTo: p.mainTo, refundTo: txSender(l.tx) };
}

/** Where the lock stands in its block: the section and the leaf its inclusion proof shows. */
export function lockLeaf(l: Lock): { section: SectionName; leaf: Uint8Array } {
  return l.kind === 'tx' ? { section: 'txs', leaf: encodeTx(l.tx) } : { section: 'settlements', leaf: encodeSettlement(l.entry) };
}

/**
 * A lock that can be a conversion on this network, without its block: a
 * Convert tx of a sector, valid under `checkTx` there (signature included);
 * or a recycle entry of a sector that names its account, moving something.
 * Returns the lock's id.
 */
export function checkLock(l: Lock, spec: NetworkSpec, opts: { networkId: Uint8Array; verify?: Verifier }): Result<Uint8Array, RejectCode> {
  const sector = spec.sectors.find((s) => s.id === lockSector(l));
  if (sector === undefined) return fail('lock-unknown-sector', `sector ${lockSector(l)} is not a sector of this network`);
  if (l.kind === 'recycle') {
    if (!sector.recycle.accounts.includes(toHex(l.entry.account))) return fail('lock-not-named', `${toHex(l.entry.account)} is not named for recycling in ${sector.slug}`);
    if (l.entry.amount === 0n) return fail('lock-empty', 'a recycle lock of nothing');
    return ok(lockId(l));
  }
  if (l.tx.payload.kind !== 'convert') return fail('lock-not-convert', `a ${l.tx.payload.kind} tx locks nothing`);
  return checkTx(l.tx, { networkId: opts.networkId, chain: sector.id, verify: opts.verify });
}
