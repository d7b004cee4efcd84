/**
 * ed25519 verification rates, side by side in one process: core's strict
 * verifier (@noble/curves), Node's crypto.verify (OpenSSL) with a prepared
 * KeyObject and with the key passed as DER each call, and the node's fast
 * verifier that accepts exactly what the strict one does.
 *   npm run bench:verify [-- --seconds 2]
 * @module
 */
import { createPublicKey, verify as opensslVerify } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { keyPairFromSeed, sign, verify as strictVerify, type Verifier } from '../core/keys.js';
import { fastVerifier } from '../platform/node/verify.js';

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 1;
const N = 512;
const items = Array.from({ length: N }, (_, i) => {
  const kp = keyPairFromSeed(new Uint8Array(32).fill(i + 1));
  const msg = new Uint8Array(32).fill(i);
  return { pk: kp.publicKey, msg, sig: sign(msg, kp.secretKey) };
});
const spki = Buffer.from('302a300506032b6570032100', 'hex');
const keyObjects = items.map((it) => createPublicKey({ key: Buffer.concat([spki, it.pk]), format: 'der', type: 'spki' }));

function rate(name: string, verify: (i: number) => boolean): number {
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    for (let i = 0; i < N; i++) if (!verify(i)) throw new Error(`${name} rejected a valid signature`);
    n += N;
  }
  return n / ((performance.now() - t0) / 1000);
}

const run = (v: Verifier) => (i: number) => v(items[i]!.sig, items[i]!.msg, items[i]!.pk);
const results = {
  'noble (core strict)': rate('noble', run(strictVerify)),
  'node:crypto, KeyObject': rate('openssl', (i) => opensslVerify(null, items[i]!.msg, keyObjects[i]!, items[i]!.sig)),
  'node:crypto, DER per call': rate('openssl-der', (i) =>
    opensslVerify(null, items[i]!.msg, { key: Buffer.concat([spki, items[i]!.pk]), format: 'der', type: 'spki' }, items[i]!.sig),
  ),
  'node fast, keys cached': rate('fast', run(fastVerifier())),
  'node fast, every key new': rate('fast-cold', run(fastVerifier(undefined, 1))),
};
const ref = results['node:crypto, KeyObject'];
console.log(`ed25519 verify, 1 thread, ${seconds} s each, ${process.version}`);
for (const [k, v] of Object.entries(results)) console.log(`  ${k.padEnd(32)} ${Math.round(v).toString().padStart(7)} /s  ${(v / ref).toFixed(2)}× node:crypto`);
