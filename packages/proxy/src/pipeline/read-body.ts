import type { IncomingMessage } from 'node:http';

/** The body is larger than the limit; `declaredBytes` when its content-length said so before any byte was read. */
export class BodyTooLargeError extends Error {
  constructor(
    readonly limitBytes: number,
    readonly declaredBytes: number | undefined,
  ) {
    super(
      declaredBytes !== undefined
        ? `the request body is ${declaredBytes} bytes (content-length), over the ${limitBytes}-byte limit`
        : `the request body is over the ${limitBytes}-byte limit`,
    );
  }
}

/**
 * How long the rest of a refused body is drained (discarded, never stored) before the connection
 * is closed. Closing at once, with the client's bytes still unread, makes the kernel answer with a
 * reset that usually destroys the 413 before the client reads it; this is nginx's "lingering close".
 */
export const REFUSED_BODY_LINGER_MS = 1000;

/**
 * Buffers a request body of at most `limitBytes`: vendor bodies are small, and pricing needs to
 * read them whole. A declared content-length over the limit is refused before a byte is read; a
 * chunked body (or one whose content-length understates it: Node's parser stops at the declared
 * length anyway) is counted as it arrives and given up the moment it passes the limit. What was
 * read is dropped; the rest is drained unbuffered for at most REFUSED_BODY_LINGER_MS while the
 * caller answers 413, then the connection is closed.
 */
export function readBody(request: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const header = request.headers['content-length'];
  const declared = header === undefined ? undefined : Number(header);
  if (declared !== undefined && declared > limitBytes) {
    discardRest(request);
    return Promise.reject(new BodyTooLargeError(limitBytes, declared));
  }
  return new Promise<Buffer>((resolve, reject) => {
    let chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limitBytes) {
        chunks.push(chunk);
        return;
      }
      stop();
      chunks = [];
      discardRest(request);
      reject(new BodyTooLargeError(limitBytes, undefined));
    };
    const onEnd = () => {
      stop();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    };
    const onError = (error: Error) => {
      stop();
      reject(error);
    };
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
  });
}

/** drains what the client still sends into nothing; closes the connection if it has not ended by the deadline */
function discardRest(request: IncomingMessage): void {
  const socket = request.socket;
  const timer = setTimeout(() => socket.destroy(), REFUSED_BODY_LINGER_MS);
  timer.unref();
  const done = () => clearTimeout(timer);
  request.once('end', done);
  socket.once('close', done);
  request.resume();
}
