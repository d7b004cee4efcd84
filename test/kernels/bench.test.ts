// The bench's correctness gate: the stored checksum is what an independent
// computation (node:crypto) gives, and every backend reproduces it. Plus the
// `pouw bench` command end to end on the fast path (short timings, JS only).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { checksumJob, checksumOf, kernelsChecksum, storedChecksums } from '../../bench/kernels.js';
import { loadAll, root } from './backends.js';
import { measurePeaks, peakFor } from '../../bench/peak.js';

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

for (const b of backends) {
  const probes = b.peakProbes?.() ?? [];
  if (!probes.length) continue;
  test(`${b.name}: peak probes count exactly what they run, and refuse bad round counts`, () => {
    for (const p of probes) {
      const one = p.run(1);
      assert.ok(one > 0 && Number.isInteger(one), `${p.unit} ${p.sequence}`);
      assert.is(p.run(1000), 1000 * one, `${p.unit} ${p.sequence} counts linearly`);
      for (const bad of [0, -1, 0.5, 2 ** 32, Number.NaN]) assert.throws(() => p.run(bad), RangeError, `${p.unit}: run(${bad})`);
    }
    const peaks = measurePeaks(probes, 0.05);
    assert.equal([...new Set(probes.map((p) => p.unit))], peaks.map((p) => p.unit));
    for (const p of peaks) assert.is(p.macsPerSecond, Math.max(...p.sequences.map((q) => q.macsPerSecond)), `${p.unit}: its fastest sequence`);
    // A kernel without a unit of its own is held to the fastest one.
    assert.is(peakFor(peaks, 'portable')!.macsPerSecond, Math.max(...peaks.map((p) => p.macsPerSecond)));
  });
}

test('pouw bench: no int8 kernel of native or WASM is reported above its unit peak', () => {
  const r = spawnSync(process.execPath, ['bin/pouw.js', 'bench', '--json', '--backend', 'native,wasm', '--seconds', '0.2', '--threads', '1'], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.is(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  let held = 0;
  for (const b of report.backends) {
    if (!b.available) continue;
    assert.ok(b.checksum.ok, b.backend);
    assert.ok(b.peaksI8?.length, `${b.backend}: a peak per unit`);
    for (const f of [b.gemmI8, ...b.lottery]) {
      assert.type(f.vsPeak, 'number', `${b.backend} ${f.impl}`);
      assert.ok(f.vsPeak > 0 && f.vsPeak <= 1, `${b.backend} ${f.impl}${f.sector ? ` (${f.sector})` : ''}: ${(100 * f.vsPeak).toFixed(0)}% of ${f.peakUnit}`);
      held++;
    }
  }
  assert.ok(held >= 5, 'the GEMM and four lotteries of at least one backend');
});

test.run();
