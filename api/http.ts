/**
 * Bounded request bodies, the one HTTP rule every server of this project
 * applies alike (the edge's app on Workers and on Node, the node's local
 * API): a body is read up to its route's limit whatever the headers claim,
 * and what is larger is refused with `body-too-large` (413) after being
 * drained, up to a bound, so that a client still sending gets the answer
 * rather than a reset connection. Codes only: each server answers them with
 * its own status.
 *
 * Web-standard `Request` only: runs unchanged on Workers, Node and browsers.
 * @module
 */

/** The body's text, or why it was refused: `body-too-large`, or `bad-json` for bytes that are not UTF-8. */
export type ReadResult = { ok: true; text: string } | { ok: false; code: 'body-too-large' | 'bad-json'; message: string };

/** Past this much beyond a route's limit, an oversize body is not read to its end: the connection is dropped instead. */
export const MAX_DRAIN_BYTES = 8 * 1024 * 1024;

/** The body's bytes, or `body-too-large`. */
export type ReadBytesResult = { ok: true; bytes: Uint8Array } | { ok: false; code: 'body-too-large'; message: string };

/** The body as text, at most `max` bytes whatever the headers claim (see the module header). */
export async function readBodyText(req: Request, max: number): Promise<ReadResult> {
  const r = await readBodyBytes(req, max);
  return r.ok ? utf8Text(r.bytes) : r;
}

/** The body's bytes, at most `max` whatever the headers claim (see the module header). */
export async function readBodyBytes(req: Request, max: number): Promise<ReadBytesResult> {
  const tooLarge: ReadBytesResult = { ok: false, code: 'body-too-large', message: `this route takes at most ${max} bytes` };
  const declared = req.headers.get('content-length');
  if (declared !== null && !/^\d{1,15}$/.test(declared)) return tooLarge;
  if (declared !== null && Number(declared) <= max) {
    // Within the limit as declared, and HTTP framing holds a body to its declared length: read it
    // whole (on Node this skips building a web stream for it), and still check what arrived.
    const all = new Uint8Array(await req.arrayBuffer());
    return all.byteLength > max ? tooLarge : { ok: true, bytes: all };
  }
  if (req.body === null) return { ok: true, bytes: new Uint8Array(0) };
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  // A route whose limit is large (blobs) drains as far past it as any other route does.
  const drain = max + MAX_DRAIN_BYTES;
  let total = declared !== null && Number(declared) > drain ? drain + 1 : 0;
  for (;;) {
    if (total > drain) {
      await reader.cancel().catch(() => undefined);
      return tooLarge;
    }
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total <= max) chunks.push(value);
  }
  if (total > max) return tooLarge;
  const all = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return { ok: true, bytes: all };
}

function utf8Text(bytes: Uint8Array): ReadResult {
  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { ok: false, code: 'bad-json', message: 'the body is not UTF-8' };
  }
}
