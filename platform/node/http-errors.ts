/**
 * The project's JSON error body for what Node's HTTP parser refuses before
 * any route sees it (a header block over its limit: 431; a request that is
 * not HTTP: 400), instead of a bare status line. Used by the edge on Node
 * and the node's local API.
 * @module
 */
import type { Duplex } from 'node:stream';

/** Installs the JSON answer on `server`'s `clientError` (see the module note). */
export function answerClientErrors(server: { on(event: 'clientError', fn: (err: NodeJS.ErrnoException, socket: Duplex) => void): unknown }): void {
  server.on('clientError', (err, socket) => {
    if (!socket.writable) return socket.destroy();
    const [status, code, message] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'headers-too-large', 'the request headers are larger than this server takes']
        : [400, 'bad-request', 'the request could not be parsed as HTTP'];
    const body = JSON.stringify({ error: { code, message } });
    socket.end(`HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });
}
