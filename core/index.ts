/**
 * The protocol core, one import for everything. Pure and deterministic: no
 * platform imports, no clock, no randomness; it runs unchanged in Node,
 * Cloudflare Workers and browsers (a test bundles it for a neutral platform).
 * @module
 */
export * from './amount.js';
export * from './asert.js';
export * from './beacon.js';
export * from './block.js';
export * from './bytes.js';
export * from './codec.js';
export * from './errors.js';
export * from './freivalds.js';
export * from './genesis.js';
export * from './hash.js';
export * from './header.js';
export * from './kernel.js';
export * from './keys.js';
export * from './lock.js';
export * from './lottery.js';
export * from './main-ledger.js';
export * from './merkle.js';
export * from './params.js';
export * from './record.js';
export * from './reject.js';
export * from './select.js';
export * from './settlement.js';
export * from './state-transition.js';
export * from './target.js';
export * from './time.js';
export * from './tx.js';
export * from './validate.js';
export * from './wire.js';
