import type { IncomingMessage, ServerResponse } from 'node:http';
import { ADMIN_BODY_LIMIT_BYTES, describeBytes } from '../pipeline/body-limits.ts';
import { BodyTooLargeError, readBody } from '../pipeline/read-body.ts';

/** An API answer that is not a success: a status, a code, and sentences naming each problem. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problems: string[] = [],
  ) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

export function sendApiError(res: ServerResponse, error: ApiError): void {
  sendJson(res, error.status, { error: { code: error.code, message: error.message, ...(error.problems.length ? { problems: error.problems } : {}) } });
}

export async function readJsonBody(req: IncomingMessage, limitBytes = ADMIN_BODY_LIMIT_BYTES): Promise<unknown> {
  let body: Buffer;
  try {
    body = await readBody(req, limitBytes);
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      throw new ApiError(413, 'body_too_large', `the JSON body is over the management API's limit of ${describeBytes(limitBytes)}; a key request is a few KiB at most`);
    }
    throw error;
  }
  const text = body.toString('utf8');
  if (text.trim() === '') throw new ApiError(400, 'invalid_json', 'the request needs a JSON body');
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, 'invalid_json', 'the body is not valid JSON');
  }
}

/** `metadata.<field>=<value>` query parameters as a filter object. */
export function metadataFilter(params: URLSearchParams): Record<string, string> {
  const filter: Record<string, string> = {};
  for (const [name, value] of params) {
    if (!name.startsWith('metadata.')) continue;
    const field = name.slice('metadata.'.length);
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(field)) throw new ApiError(400, 'invalid_filter', `"${name}": metadata field names are 1-64 of A-Z a-z 0-9 _ . -`);
    filter[field] = value;
  }
  return filter;
}

export function bearerToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  return auth?.startsWith('Bearer ') ? auth.slice(7).trim() : undefined;
}
