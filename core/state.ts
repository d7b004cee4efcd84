/**
 * Sector account state and its transition: the types shared by the pure
 * state-transition functions and the node's store.
 *
 * State is a map from 20-byte address to { balance, nonce } in base units; an
 * absent account reads as zero balance and nonce 0. Applying a block yields a
 * `StateDelta`: for every touched account its value before and after, so the
 * store can write `after` on connect and `before` on disconnect (the undo data)
 * in one transaction each. This file holds the types only; the rules are in
 * state-transition.ts.
 * @module
 */

export interface AccountState {
  balance: bigint;
  /** Next nonce this account must use. */
  nonce: bigint;
}

export const EMPTY_ACCOUNT: Readonly<AccountState> = Object.freeze({ balance: 0n, nonce: 0n });

/** Read access to the state a block is applied on. */
export interface StateView {
  account(address: Uint8Array): AccountState;
}

export interface AccountChange {
  address: Uint8Array;
  before: AccountState;
  after: AccountState;
}

/** Every account a block touched, in first-touched order, with its value before and after. */
export interface StateDelta {
  changes: AccountChange[];
  /** Fees paid to the miner. */
  fees: bigint;
  subsidy: bigint;
}
