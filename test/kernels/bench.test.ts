// The bench's correctness gate: the stored checksum is what an independent
// computation (node:crypto) gives, and every backend reproduces it. Plus the
// `pouw bench` command end to end on the fast path (short timings, JS only).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { checksumJob, checksumOf, kernelsChecksum, storedChecksums } from '../../bench/kernels.js';
import { loadAll, root } from './backends.js';

const { backends } = await loadAll();

test('stored SHA-256d checksum matches an independent node:crypto computation', () => {
  const job = checksumJob();
  const header = Buffer.from(job.header);
  const found: bigint[] = [];
  for (let i = 0n; i < job.count; i++) {
    header.writeBigUInt64LE(job.start + i, job.nonceOffset);
    const h = createHash('sha256').update(createHash('sha256').update(header).digest()).digest();
    if (h.readBigUInt64LE(24) <= 0x00ffffffffffffffn) found.push(job.start + i); // top byte (LE) zero ⇔ h ≤ 2^248 − 1
  }
  assert.ok(found.length > 100);
  assert.is(checksumOf(found, job.count), storedChecksums(root).sha256d);
});

for (const b of backends) {
  test(`${b.name}: reproduces the stored checksums (SHA-256d scan, and every integer kernel)`, async () => {
    const r = await b.sha256dScan(checksumJob());
    assert.is(checksumOf(r.found, r.hashesDone), storedChecksums(root).sha256d);
    assert.is(await kernelsChecksum(b), storedChecksums(root).kernels);
  });
}

test('pouw bench --json measures JS against the references', () => {
  const r = spawnSync(process.execPath, ['bin/pouw.js', 'bench', '--json', '--backend', 'js', '--sector', 'cpu-edge', '--seconds', '0.05', '--threads', '2'], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.is(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.ok(report.references.opensslSha256dHps > 0);
  const js = report.backends[0];
  assert.is(js.backend, 'js');
  assert.ok(js.checksum.ok);
  assert.ok(js.sha256d.oneThreadHps > 1000);
  assert.is(js.sha256d.threads, 2);
  assert.ok(js.gemmI8.macsPerSecond > 0 && js.gemmF32.macsPerSecond > 0);
  assert.equal(js.lottery.map((l: { sector: string }) => l.sector), ['cpu-edge']);
  assert.ok(js.lottery[0].overhead > 0);
  const bad = spawnSync(process.execPath, ['bin/pouw.js', 'bench', '--backend', 'gpu'], { cwd: root, encoding: 'utf8' });
  assert.is(bad.status, 2);
  const badSector = spawnSync(process.execPath, ['bin/pouw.js', 'bench', '--sector', 'nope', '--backend', 'js'], { cwd: root, encoding: 'utf8' });
  assert.is(badSector.status, 2);
});

test.run();
