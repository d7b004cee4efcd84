// Peers pay by the class of what we refuse, never by a list of codes: every
// refusal code in core/ and node/ has a class, and the class alone sets the
// points (docs/protocol.md §18).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CODEC_ERRORS } from '../../core/errors.js';
import { REJECT_CLASSES, REJECT_CODES, rejectClass } from '../../core/reject.js';
import { BAN_SCORE } from '../../node/p2p.js';
import { BLOCK_POINTS, blockRejectPoints, NODE_REJECT_CODES, TX_POINTS, txRejectPoints } from '../../node/penalties.js';

const isRejectCode = (code: string) => Object.prototype.hasOwnProperty.call(REJECT_CODES, code);

/** Codes of core that refuse no block or tx: addresses, amounts typed by a user, the sector draw. */
const NOT_BLOCK_OR_TX = new Set(['address-bad-format', 'address-bad-length', 'address-wrong-prefix', 'bad-amount', 'select-too-few-sectors']);
/** The light client's own header refusals (node/header-view.ts): reported, never charged to a peer. */
const LIGHT_CLIENT = new Set(['unknown-sector']);

function failCodes(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const path = fileURLToPath(new URL(`../../${dir}/`, import.meta.url));
  for (const f of readdirSync(path).filter((n) => n.endsWith('.ts'))) {
    for (const m of readFileSync(path + f, 'utf8').matchAll(/\bfail\('([a-z0-9-]+)'/g)) out.set(m[1]!, `${dir}/${f}`);
  }
  return out;
}

test('every refusal code written in core/ has a class', () => {
  const codes = failCodes('core');
  assert.ok(codes.size > 30, 'the scan finds core’s codes');
  for (const [code, file] of codes) if (!NOT_BLOCK_OR_TX.has(code)) assert.ok(isRejectCode(code), `${code} (${file}) has no class in core/reject.ts`);
  for (const c of CODEC_ERRORS) assert.is(rejectClass(c), 'malformed');
  for (const cls of Object.values(REJECT_CODES)) assert.ok((REJECT_CLASSES as readonly string[]).includes(cls));
});

test('every refusal code written in node/ has a class, in core or in node', () => {
  for (const [code, file] of failCodes('node')) {
    if (LIGHT_CLIENT.has(code)) continue;
    assert.ok(isRejectCode(code) || code in NODE_REJECT_CODES, `${code} (${file}) has no class`);
  }
});

test('points follow the class: blocks that break a rule ban, what may become valid is free; txs pay only for malformed data', () => {
  assert.equal(BLOCK_POINTS, { malformed: BAN_SCORE, 'invalid-consensus': BAN_SCORE, 'not-yet-connectable': 0, policy: 0, 'known-invalid': 20 });
  assert.equal(TX_POINTS, { malformed: 50, 'invalid-consensus': 0, 'not-yet-connectable': 0, policy: 0, 'known-invalid': 0 });
  assert.is(blockRejectPoints('high-hash'), BAN_SCORE);
  assert.is(blockRejectPoints('tx-insufficient-funds'), BAN_SCORE);
  assert.is(blockRejectPoints('codec-truncated'), BAN_SCORE);
  assert.is(blockRejectPoints('time-too-new'), 0);
  assert.is(blockRejectPoints('block-known-invalid'), 20);
  assert.is(txRejectPoints('tx-bad-signature'), 50);
  assert.is(txRejectPoints('tx-wrong-chain'), 50);
  assert.is(txRejectPoints('tx-bad-nonce'), 0);
  assert.is(txRejectPoints('mempool-full'), 0);
  assert.is(txRejectPoints('mempool-nonce-gap'), 0);
});

test.run();
