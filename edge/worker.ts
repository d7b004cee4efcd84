/**
 * Cloudflare Worker entry of the edge coordinator. Until the coordinator
 * lands it answers every request with a JSON description of itself, so that
 * `wrangler.toml` deploys and `wrangler dev` runs.
 * @module
 */
export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const body =
      url.pathname === '/v1/health'
        ? { ok: true, service: 'pouw-edge', status: 'placeholder' }
        : { error: { code: 'not-found', message: 'the edge coordinator API is not deployed in this version' } };
    return new Response(JSON.stringify(body), {
      status: url.pathname === '/v1/health' ? 200 : 404,
      headers: { 'content-type': 'application/json' },
    });
  },
};
