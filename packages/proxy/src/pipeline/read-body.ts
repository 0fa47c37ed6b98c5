import type { IncomingMessage } from 'node:http';

export class BodyTooLargeError extends Error {}

/** Buffers a request body: vendor bodies are small, and pricing needs to read them whole. */
export async function readBody(request: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limitBytes) throw new BodyTooLargeError(`the request body is ${declared} bytes; the limit is ${limitBytes}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) throw new BodyTooLargeError(`the request body is over the ${limitBytes}-byte limit`);
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
