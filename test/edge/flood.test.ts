// `npm run bench:flood` end to end on a short run: real edge and honest client
// processes on loopback, an attacker from a second loopback address. Timing
// targets are the benchmark's business (docs/benchmarks.md); this checks that
// the defences it measures act: a flooding socket is closed with 4029 and the
// honest client is still served.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

test('bench:flood: the frame flood loses its socket (4029) and honest MAIN txs are still accepted', () => {
  const r = spawnSync(process.execPath, ['dist/bench/flood.js', '--seconds', '2', '--rate', '20', '--attacks', 'frame-flood', '--json'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.ok(r.status === 0 || r.status === 1, `exit ${r.status}: ${r.stderr}`);
  const report = JSON.parse(r.stdout);
  assert.equal(report.cases.map((c: { attack: string }) => c.attack), ['quiet', 'frame-flood']);
  const [quiet, flood] = report.cases;
  assert.ok(quiet.honest.accepted >= 30, `quiet: ${JSON.stringify(quiet.honest)}`);
  assert.ok(flood.honest.accepted >= 0.8 * quiet.honest.accepted, `flood: ${JSON.stringify(flood.honest)}`);
  assert.ok(flood.attacker.frames > 1000, 'the attacker flooded');
  assert.ok(flood.attacker['closed-4029'] >= 1, `closed over budget: ${JSON.stringify(flood.attacker)}`);
  assert.type(flood.pass, 'boolean');
});

const bad = spawnSync(process.execPath, ['dist/bench/flood.js', '--attacks', 'nope'], { cwd: root, encoding: 'utf8' });
test('bench:flood: an unknown attack is a usage error', () => {
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /--attacks takes a comma list/);
});

test.run();
