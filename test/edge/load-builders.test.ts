// The request builders of the edge load benchmark (bench/edge-load.ts) make
// what the edge takes: distinct MAIN txs it accepts (202, a replay 200) and
// mined headers it relays as new over a node socket. A few requests on the
// Node runtime, not a benchmark.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { networkId } from '../../core/genesis.js';
import { keyPairFromSeed } from '../../core/keys.js';
import { BENCH_LIMITS, benchSpec, mainTxBodies, mineHeaders } from '../../bench/edge-load.js';
import { EdgeClient } from './client.js';
import { startNodeRuntime } from './fixtures.js';

test('benchmark txs are accepted once each, benchmark headers relay as new', async () => {
  const spec = benchSpec(4);
  const rt = await startNodeRuntime(spec, BENCH_LIMITS);
  try {
    const client = new EdgeClient(rt.url, networkId(spec), keyPairFromSeed(new Uint8Array(32).fill(21)));
    const bodies = mainTxBodies(spec, 6, 4);
    assert.is(new Set(bodies).size, 6);
    for (const body of bodies) assert.is((await client.post('/v1/main/tx', body)).status, 202, body);
    assert.is((await client.post('/v1/main/tx', bodies[0])).status, 200);

    const headers = mineHeaders(spec, 4);
    const sectorId = spec.sectors[1]!.id;
    const socket = await client.socket(sectorId);
    try {
      for (let i = 0; i < 4; i++) {
        socket.send({ type: 'headers', id: i, headers: [headers.get(sectorId)![i]] });
        const reply = await socket.next((m) => m.type === 'reply' && m.id === i);
        assert.is(reply.status, 200, JSON.stringify(reply.body));
        assert.is(reply.body.accepted[0].status, 'new');
        assert.is(reply.body.tip.height, i + 1);
      }
    } finally {
      socket.close();
    }
  } finally {
    await rt.close();
  }
});

test.run();
