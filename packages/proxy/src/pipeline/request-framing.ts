/**
 * Requests whose meaning depends on more than method, path, query and a plain body. keyleash
 * classifies and prices what it reads; the vendor must execute exactly that. Anything that lets the
 * vendor (or a framework in front of it) read the request another way is refused before the body
 * is read and before anything is sent:
 *
 * - method or path overrides: `X-HTTP-Method-Override` and friends (Rack::MethodOverride, many Java
 *   and .NET stacks honour them on a POST), `X-Original-URL` / `X-Rewrite-URL` (IIS, Symfony), and a
 *   `_method` form or query parameter (Rack::MethodOverride reads it from a POST body). A POST
 *   priced as one operation could run as another.
 * - an encoded body: a `Content-Encoding` other than identity, or a `Transfer-Encoding` other than
 *   chunked. keyleash would price the compressed bytes (an empty or garbled form) while the vendor
 *   may decompress them and act on the parameters inside.
 * - more than one `Content-Type`: Node keeps the first, another server may keep the last.
 *
 * Neither Stripe's nor Twilio's SDK ever sends any of these.
 */
import type { RefusalCode } from '@keyleash/core';

export interface FramingProblem {
  status: 400 | 415;
  code: RefusalCode;
  /** what is wrong and what to do, without "Refused:" and without the vendor's name */
  message: string;
}

const OVERRIDE_HEADERS = new Set(['x-http-method-override', 'x-http-method', 'x-method-override', 'x-original-url', 'x-rewrite-url', 'x-original-method']);

/** codings listed in one or several headers, lower-cased, without empty entries */
function codings(values: readonly string[]): string[] {
  if (values.length === 0) return [];
  return values.flatMap((value) => value.split(',')).map((coding) => coding.trim().toLowerCase()).filter((coding) => coding !== '');
}

/** The first problem with the request's headers, or undefined. Reads the raw headers (Node merges or drops duplicates), in one pass. */
export function framingProblem(rawHeaders: readonly string[]): FramingProblem | undefined {
  const contentEncodingValues: string[] = [];
  const transferEncodingValues: string[] = [];
  const contentTypes: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (OVERRIDE_HEADERS.has(name)) {
      return {
        status: 400,
        code: 'keyleash_request_override',
        message: `the request carries ${rawHeaders[i]}, which asks the server to execute another method or path than the one keyleash checks and prices; send the real method and path, without that header`,
      };
    }
    if (name === 'content-encoding') contentEncodingValues.push(rawHeaders[i + 1]!);
    else if (name === 'transfer-encoding') transferEncodingValues.push(rawHeaders[i + 1]!);
    else if (name === 'content-type') contentTypes.push(rawHeaders[i + 1]!);
  }
  const contentEncodings = codings(contentEncodingValues).filter((coding) => coding !== 'identity');
  if (contentEncodings.length > 0) {
    return {
      status: 415,
      code: 'keyleash_encoded_body',
      message: `the body is sent with Content-Encoding ${contentEncodings.join(', ')}; keyleash prices the parameters it can read, so it takes uncompressed bodies only. Send the body uncompressed, without Content-Encoding`,
    };
  }
  const transferCodings = codings(transferEncodingValues).filter((coding) => coding !== 'chunked');
  if (transferCodings.length > 0) {
    return {
      status: 415,
      code: 'keyleash_encoded_body',
      message: `the body is sent with Transfer-Encoding ${transferCodings.join(', ')}; keyleash takes plain or chunked bodies only. Send the body uncompressed`,
    };
  }
  if (contentTypes.length > 1) {
    return {
      status: 400,
      code: 'keyleash_ambiguous_request',
      message: `the request carries ${contentTypes.length} Content-Type headers; send exactly one`,
    };
  }
  return undefined;
}

/**
 * A `_method` parameter (any case, also `_method[…]`) in the query string or a form body: what
 * Rack::MethodOverride turns a POST into. Other body types are left to the vendor module, which
 * refuses bodies it cannot read.
 */
export function methodOverrideParameter(contentType: string | undefined, body: Buffer, rawQuery: string): string | undefined {
  const sources: [where: string, text: string][] = [['query string', rawQuery]];
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded' && body.length > 0) sources.push(['body', body.toString('utf8')]);
  for (const [where, text] of sources) {
    if (text === '') continue;
    for (const name of new URLSearchParams(text).keys()) {
      if (name.split('[', 1)[0]!.trim().toLowerCase() === '_method') {
        return `the ${where} carries the parameter "${name.slice(0, 40)}", which asks the server to execute another method than the one keyleash checks and prices; send the real method and leave "_method" out`;
      }
    }
  }
  return undefined;
}
