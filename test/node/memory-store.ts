// An in-memory ChainStore for the chain's unit tests: the same contract as the
// SQLite store (atomic connect/disconnect with undo), kept deliberately simple.
import { toHex } from '../../core/bytes.js';
import { blockId } from '../../core/header.js';
import type { Block } from '../../core/block.js';
import type { AccountChange, AccountState, StateDelta } from '../../core/state.js';
import type { ChainStore } from '../../node/chain.js';
import type { BlockStatus } from '../../node/store.js';

type StoredBlockInfo = { height: number; cumulativeWork: bigint; status: BlockStatus };

export class MemoryStore implements ChainStore {
  private blocks = new Map<string, { block: Block; id: Uint8Array; info: StoredBlockInfo }>();
  private best: Uint8Array[] = [];
  private accounts = new Map<string, AccountState>();
  private undo = new Map<string, AccountChange[]>();

  constructor(genesis: Block, id: Uint8Array, genesisDelta: StateDelta) {
    this.blocks.set(toHex(id), { block: genesis, id, info: { height: 0, cumulativeWork: 0n, status: 'valid' } });
    this.best.push(id);
    for (const c of genesisDelta.changes) this.accounts.set(toHex(c.address), c.after);
  }

  account(address: Uint8Array): AccountState {
    return this.accounts.get(toHex(address)) ?? { balance: 0n, nonce: 0n };
  }
  tip() {
    const id = this.best[this.best.length - 1]!;
    const info = this.blocks.get(toHex(id))!.info;
    return { id, height: info.height, cumulativeWork: info.cumulativeWork };
  }
  hasBlock(id: Uint8Array) {
    return this.blocks.has(toHex(id));
  }
  getBlock(id: Uint8Array) {
    return this.blocks.get(toHex(id))?.block;
  }
  blockInfo(id: Uint8Array) {
    return this.blocks.get(toHex(id))?.info;
  }
  idAtHeight(height: number) {
    return this.best[height];
  }
  putBlock(block: Block, opts: { cumulativeWork: bigint; status: BlockStatus }) {
    const id = blockId(block.header);
    if (!this.blocks.has(toHex(id))) this.blocks.set(toHex(id), { block, id, info: { height: block.header.height, ...opts } });
  }
  setBlockStatus(id: Uint8Array, status: BlockStatus) {
    this.blocks.get(toHex(id))!.info.status = status;
  }
  /** No rollback: the chain's own tests do not crash mid-reorg (the SQLite store's do). */
  transaction<T>(fn: () => T): T {
    return fn();
  }
  connectBlock(block: Block, id: Uint8Array, delta: StateDelta) {
    if (block.header.height !== this.best.length) throw new Error('connect out of order');
    for (const c of delta.changes) {
      if (c.after.balance === 0n && c.after.nonce === 0n) this.accounts.delete(toHex(c.address));
      else this.accounts.set(toHex(c.address), c.after);
    }
    this.undo.set(toHex(id), delta.changes);
    this.best.push(id);
    this.blocks.get(toHex(id))!.info.status = 'valid';
  }
  disconnectTip(): { block: Block } {
    if (this.best.length === 1) throw new Error('cannot disconnect genesis');
    const id = this.best.pop()!;
    for (const c of [...this.undo.get(toHex(id))!].reverse()) {
      if (c.before.balance === 0n && c.before.nonce === 0n) this.accounts.delete(toHex(c.address));
      else this.accounts.set(toHex(c.address), c.before);
    }
    this.undo.delete(toHex(id));
    return { block: this.blocks.get(toHex(id))!.block };
  }
  /** All balances, for comparing against a replay. */
  snapshot(): Record<string, string> {
    return Object.fromEntries([...this.accounts].sort().map(([k, v]) => [k, `${v.balance}/${v.nonce}`]));
  }
}
