// What Node's HTTP parser refuses before any route: a 60 KB header block gets
// 431 and a request that is not HTTP gets 400, each with the project's
// `{error:{code,message}}` body — on the edge on Node, over a raw socket.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from 'node:net';
import { startEdge } from '../../../edge/node-server.js';
import { testSpec } from '../../edge/fixtures.js';

function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(request));
    let out = '';
    s.on('data', (d) => (out += d));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

test('oversized headers get 431 and garbage 400, each with a coded JSON body', async () => {
  const edge = await startEdge({ dbPath: ':memory:', spec: testSpec(Date.now()) });
  try {
    const big = await raw(edge.port, `GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nx-big: ${'a'.repeat(60_000)}\r\n\r\n`);
    assert.match(big, /^HTTP\/1\.1 431 /);
    assert.is(JSON.parse(big.slice(big.indexOf('\r\n\r\n') + 4)).error.code, 'headers-too-large');
    const junk = await raw(edge.port, 'NOT HTTP AT ALL\r\n\r\n');
    assert.match(junk, /^HTTP\/1\.1 400 /);
    assert.is(JSON.parse(junk.slice(junk.indexOf('\r\n\r\n') + 4)).error.code, 'bad-request');
    // The edge still answers.
    assert.is((await fetch(`${edge.url}/v1/health`)).status, 200);
  } finally {
    await edge.close();
  }
});

test.run();
