import { Pool, type Dispatcher } from 'undici';

/**
 * Keep-alive connection pools, one per real vendor host. `--upstream api.stripe.com=http://…`
 * points a host elsewhere (tests, stripe-mock); otherwise the host itself over HTTPS.
 */
export class Upstreams {
  private readonly pools = new Map<string, { pool: Pool; basePath: string }>();

  constructor(
    private readonly overrides: ReadonlyMap<string, string>,
    private readonly options: { timeoutMs: number },
  ) {}

  private target(host: string) {
    let target = this.pools.get(host);
    if (!target) {
      const base = new URL(this.overrides.get(host) ?? `https://${host}`);
      target = {
        pool: new Pool(base.origin, { connections: 256, keepAliveTimeout: 30_000, headersTimeout: this.options.timeoutMs, bodyTimeout: this.options.timeoutMs }),
        basePath: base.pathname.replace(/\/$/, ''),
      };
      this.pools.set(host, target);
    }
    return target;
  }

  request(
    host: string,
    request: { method: string; path: string; headers: Record<string, string | string[]>; body?: Buffer | undefined; signal?: AbortSignal },
  ): Promise<Dispatcher.ResponseData> {
    const { pool, basePath } = this.target(host);
    return pool.request({
      method: request.method as Dispatcher.HttpMethod,
      path: basePath + request.path,
      headers: request.headers,
      body: request.body && request.body.length > 0 ? request.body : null,
      ...(request.signal ? { signal: request.signal } : {}),
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map(({ pool }) => pool.close()));
  }
}

/** `host=url,host=url` (env) or repeated `--upstream host=url` (CLI) to a map, validated. */
export function parseUpstreamOverrides(entries: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const host = entry.slice(0, eq).trim();
    const url = entry.slice(eq + 1).trim();
    if (eq <= 0 || !/^[a-z0-9.-]+$/i.test(host)) throw new Error(`--upstream "${entry}": expected <host>=<base-url>, e.g. api.stripe.com=http://127.0.0.1:12111`);
    try {
      const parsed = new URL(url);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http(s)');
    } catch {
      throw new Error(`--upstream "${entry}": "${url}" is not an http(s) URL`);
    }
    map.set(host.toLowerCase(), url);
  }
  return map;
}
