import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  DEFAULT_FX_TABLE,
  DEFAULT_MAX_KEY_DEPTH,
  DEFAULT_OPENAI_PRICE_TABLE,
  DEFAULT_TWILIO_PRICE_TABLE,
  parseFxTable,
  parseOpenAIPriceTable,
  parseTwilioPriceTable,
  type FxTable,
  type OpenAIPriceTable,
  type ParseTableResult,
  type TwilioPriceTable,
} from '@keyleash/core';
import { DEFAULT_STORE_URL } from './stores/open-store.ts';
import { parseBodyLimits, type BodyLimits } from './pipeline/body-limits.ts';
import { parseUpstreamOverrides } from './pipeline/upstreams.ts';
import { resolveAlertConfig, type AlertConfig, type AlertFlags } from './alerts/alert-config.ts';

export interface ServeFlags extends AlertFlags {
  port?: string;
  host?: string;
  store?: string;
  upstream?: string[];
  fxTable?: string;
  twilioPriceTable?: string;
  openaiPriceTable?: string;
  maxKeyDepth?: string;
  maxBody?: string[];
}

export interface ServeConfig {
  port: number;
  host: string;
  storeUrl: string;
  upstreams: Map<string, string>;
  adminToken: string;
  adminTokenGenerated: boolean;
  fxTable: FxTable;
  twilioPriceTable: TwilioPriceTable;
  openaiPriceTable: OpenAIPriceTable;
  maxKeyDepth: number;
  bodyLimits: BodyLimits;
  alerts: AlertConfig;
}

/** A dated table from an operator's JSON file, validated (every problem named), or the shipped default. */
function loadTable<T>(flag: string, path: string | undefined, parse: (json: unknown) => ParseTableResult<T>, fallback: T): T {
  if (!path) return fallback;
  const parsed = parse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.ok) throw new Error(`${flag} ${path}:\n  ${parsed.problems.join('\n  ')}`);
  return parsed.table;
}

/** Flags win over environment variables, which win over defaults. */
export function resolveServeConfig(flags: ServeFlags, env: Readonly<Record<string, string | undefined>>): ServeConfig {
  const port = Number(flags.port ?? env.KEYLEASH_PORT ?? 8787);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port / KEYLEASH_PORT: "${flags.port ?? env.KEYLEASH_PORT}" is not a port number`);
  const upstreamEntries = [...(env.KEYLEASH_UPSTREAMS ?? '').split(',').filter((s) => s.trim()), ...(flags.upstream ?? [])];
  const generated = !env.KEYLEASH_ADMIN_TOKEN;
  const fxTable = loadTable('--fx-table', flags.fxTable ?? env.KEYLEASH_FX_TABLE, parseFxTable, DEFAULT_FX_TABLE);
  const twilioPriceTable = loadTable('--twilio-price-table', flags.twilioPriceTable ?? env.KEYLEASH_TWILIO_PRICE_TABLE, parseTwilioPriceTable, DEFAULT_TWILIO_PRICE_TABLE);
  const openaiPriceTable = loadTable('--openai-price-table', flags.openaiPriceTable ?? env.KEYLEASH_OPENAI_PRICE_TABLE, parseOpenAIPriceTable, DEFAULT_OPENAI_PRICE_TABLE);
  const maxKeyDepth = Number(flags.maxKeyDepth ?? env.KEYLEASH_MAX_KEY_DEPTH ?? DEFAULT_MAX_KEY_DEPTH);
  if (!Number.isInteger(maxKeyDepth) || maxKeyDepth < 0) throw new Error('--max-key-depth must be a whole number');
  const bodyLimitEntries = [...(env.KEYLEASH_MAX_BODY ?? '').split(',').filter((s) => s.trim()), ...(flags.maxBody ?? [])];
  let bodyLimits: BodyLimits;
  try {
    bodyLimits = parseBodyLimits(bodyLimitEntries);
  } catch (error) {
    throw new Error(`--max-body / KEYLEASH_MAX_BODY: ${(error as Error).message}`);
  }
  return {
    port,
    host: flags.host ?? env.KEYLEASH_HOST ?? '127.0.0.1',
    storeUrl: flags.store ?? env.KEYLEASH_STORE ?? DEFAULT_STORE_URL,
    upstreams: parseUpstreamOverrides(upstreamEntries),
    adminToken: env.KEYLEASH_ADMIN_TOKEN ?? `kla_${randomBytes(24).toString('base64url')}`,
    adminTokenGenerated: generated,
    fxTable,
    twilioPriceTable,
    openaiPriceTable,
    maxKeyDepth,
    bodyLimits,
    alerts: resolveAlertConfig(flags, env),
  };
}
