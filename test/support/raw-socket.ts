import { connect } from 'node:net';

export interface SocketExchange {
  /** the first response's status (0 when the connection closed without one) */
  status: number;
  /** the whole text keyleash sent back, head and body */
  text: string;
  /** the first response's body as JSON, when it is JSON */
  json: any;
  /** body bytes the client had written when the first response arrived (or the connection closed) */
  bodyBytesSent: number;
}

/**
 * Bytes exactly as given on a fresh TCP connection: duplicate headers, chunked bodies, a
 * content-length that lies. `head` is sent first; then `body` chunks, one at a time, each after the
 * previous one drained, until a response starts arriving (a server that answers early is not made
 * to read the rest). Resolves when the server closes the connection or `settleMs` after the first
 * response bytes.
 */
export function exchange(baseUrl: string, head: string, body: Iterable<Buffer> = [], settleMs = 300): Promise<SocketExchange> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    let received = '';
    let answered = false;
    let sent = 0;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      socket.destroy();
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1] ?? 0);
      const headEnd = received.indexOf('\r\n\r\n');
      const responseHead = received.slice(0, headEnd).toLowerCase();
      let bodyText = received.slice(headEnd + 4);
      if (/\r\ntransfer-encoding: chunked/.test(responseHead)) bodyText = dechunked(bodyText);
      let json: unknown;
      try {
        json = JSON.parse(bodyText);
      } catch {
        json = undefined;
      }
      resolve({ status, text: received, json, bodyBytesSent: sent });
    };
    socket.on('data', (chunk) => {
      received += chunk.toString('utf8');
      if (!answered) {
        answered = true;
        setTimeout(finish, settleMs);
      }
    });
    socket.on('close', finish);
    // a reset while still writing is how some servers close on an oversized body: the answer (if any) is what counts
    socket.on('error', () => finish());
    socket.on('connect', async () => {
      try {
        socket.write(head);
        for (const chunk of body) {
          if (answered || socket.destroyed) break;
          sent += chunk.length;
          if (!socket.write(chunk)) await new Promise<void>((r) => socket.once('drain', () => r()));
          // let an early answer arrive between chunks
          await new Promise<void>((r) => setImmediate(r));
        }
      } catch (error) {
        reject(error);
      }
    });
  });
}

/** `count` chunks of `size` bytes of `fill` */
export function* chunksOf(count: number, size: number, fill = 'a'): Generator<Buffer> {
  const chunk = Buffer.alloc(size, fill);
  for (let i = 0; i < count; i++) yield chunk;
}

/** the same chunks in HTTP/1.1 chunked transfer encoding, with the final zero-length chunk */
export function* chunkedEncoding(chunks: Iterable<Buffer>): Generator<Buffer> {
  for (const chunk of chunks) yield Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
  yield Buffer.from('0\r\n\r\n');
}

/** An HTTP/1.1 request head; `headers` as [name, value] pairs, so a name may repeat. */
export function requestHead(method: string, path: string, headers: [string, string][]): string {
  return `${method} ${path} HTTP/1.1\r\n${headers.map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`;
}

/** the body of a chunked response (the first response only) */
function dechunked(text: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const lineEnd = text.indexOf('\r\n', at);
    if (lineEnd === -1) return out;
    const size = parseInt(text.slice(at, lineEnd), 16);
    if (!size) return out;
    out += text.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
}
