// Property tests of every route of the edge, on Node and in workerd: generated
// requests — any route of the contract, any method, hostile path parameters,
// queries, headers and bodies, forged auth — get a 2xx or a 4xx with a coded
// `{error:{code,message}}` body, never a 5xx, and a refused one changes none
// of what the edge publishes (its sectors, tips and windows' MAIN state).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { ROUTE_NAMES, ROUTES } from '../../api/routes.js';
import { startNodeRuntime, startWorkerRuntime, testSpec, type Runtime } from './fixtures.js';

const spec = testSpec(Date.now() - 60_000);

const hexish = fc.oneof(
  fc.stringMatching(/^[0-9a-f]{64}$/),
  fc.stringMatching(/^[0-9a-fA-F]{0,70}$/),
  fc.string({ maxLength: 40 }),
  fc.constantFrom('1', '3', 'gpu-hi', '-1', '99', '1e3', '%00', '..', '0x1'),
);
const body = fc.oneof(
  fc.constant(undefined),
  fc.json({ maxDepth: 3 }),
  fc.string({ maxLength: 300 }),
  fc.record({ tx: hexish }).map((o) => JSON.stringify(o)),
  fc.record({ headers: fc.array(hexish, { maxLength: 4 }) }).map((o) => JSON.stringify(o)),
  fc.uint8Array({ maxLength: 300 }),
);
const request = fc.record({
  route: fc.constantFrom(...ROUTE_NAMES.filter((n) => n !== 'socket')),
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
  param: hexish,
  query: fc.dictionary(fc.constantFrom('from', 'count', 'ticket', 'x'), hexish, { maxKeys: 3 }),
  body,
  contentType: fc.constantFrom(undefined, 'application/json', 'text/plain', 'application/x-www-form-urlencoded'),
  auth: fc.option(fc.record({ key: hexish, challenge: hexish, sig: hexish }), { nil: undefined }),
});

function defineSuite(name: string, start: () => Promise<Runtime>): void {
  const s = suite<{ rt: Runtime }>(`generated requests on ${name}`, {} as { rt: Runtime });
  s.before(async (ctx) => {
    ctx.rt = await start();
  });
  s.after(async (ctx) => {
    await ctx.rt?.close();
  });

  s('every generated request gets 2xx or a coded 4xx, and a refused one changes nothing', async ({ rt }) => {
    const published = async () => {
      const r = (await (await fetch(`${rt.url}/v1/sectors`)).json()) as { window: number; sectors: { tip: unknown }[] };
      return r.sectors.map((x) => x.tip);
    };
    const before = await published();
    await fc.assert(
      fc.asyncProperty(request, async (g) => {
        const route = ROUTES[g.route];
        const path = route.path.replace(/:[a-z]+/gi, encodeURIComponent(g.param));
        const q = new URLSearchParams(g.query).toString();
        const headers: Record<string, string> = {};
        if (g.contentType) headers['content-type'] = g.contentType;
        if (g.auth) Object.assign(headers, { 'x-pouw-key': g.auth.key, 'x-pouw-challenge': g.auth.challenge, 'x-pouw-sig': g.auth.sig });
        const sendsBody = g.method !== 'GET' && g.body !== undefined;
        const res = await fetch(`${rt.url}${path}${q ? `?${q}` : ''}`, {
          method: g.method,
          headers,
          body: sendsBody ? (g.body as string | Uint8Array) : undefined,
          signal: AbortSignal.timeout(10_000),
        });
        const text = await res.text();
        assert.ok(res.status < 500, `${g.method} ${path}: ${res.status} ${text}`);
        if (res.status >= 400) {
          const json = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
          assert.type(json.error?.code, 'string', `${g.method} ${path}: ${text}`);
          assert.type(json.error?.message, 'string');
        }
      }),
      { numRuns: 150 },
    );
    // No generated request could do what only a node with a key and a mined chain can.
    assert.equal(await published(), before);
  });

  s.run();
}

defineSuite('node', () => startNodeRuntime(spec, { ip: { burst: 100_000, perMinute: 100_000 } }));
defineSuite('workerd', () => startWorkerRuntime(spec, { ip: { burst: 100_000, perMinute: 100_000 } }));
