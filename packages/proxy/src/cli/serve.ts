import pino from 'pino';
import { resolveServeConfig, type ServeFlags } from '../config.ts';
import { createKeyleash } from '../server.ts';
import { openStore } from '../stores/open-store.ts';

/** How the user runs this CLI: the installed `keyleash` bin, or the workspace's pnpm script. */
function cliCommand(): string {
  return import.meta.url.includes('/node_modules/') ? 'npx keyleash' : 'npx -y pnpm@10.34.9 keyleash';
}

export async function serve(flags: ServeFlags): Promise<void> {
  const config = resolveServeConfig(flags, process.env);
  const logger = pino({ level: process.env.KEYLEASH_LOG_LEVEL ?? 'info' });
  const store = await openStore(config.storeUrl);
  // before serving: a reservation a crashed instance left open gets its audit row now (docs/durability.md)
  const recovered = await store.recoverAbandoned();
  if (recovered > 0) logger.warn({ recovered }, 'reservations left open by an instance that stopped without settling them: kept at their full amount, audited as outcome unknown');
  const keyleash = createKeyleash({
    store,
    adminToken: config.adminToken,
    upstreams: config.upstreams,
    fxTable: config.fxTable,
    twilioPriceTable: config.twilioPriceTable,
    openaiPriceTable: config.openaiPriceTable,
    maxKeyDepth: config.maxKeyDepth,
    bodyLimits: config.bodyLimits,
    alerts: config.alerts,
    logger,
  });
  await new Promise<void>((resolve, reject) => {
    keyleash.server.once('error', reject);
    keyleash.server.listen(config.port, config.host, resolve);
  });
  const address = keyleash.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host}:${port}`;
  // Printed, not logged: the operator needs it once, and logs must never hold a secret.
  if (config.adminTokenGenerated) {
    process.stdout.write(
      `\nNo KEYLEASH_ADMIN_TOKEN was set, so this run generated one (it changes on restart):\n\n  export KEYLEASH_ADMIN_TOKEN=${config.adminToken}\n\n`,
    );
  }
  process.stdout.write(
    `keyleash listening on ${url} (store: ${store.kind})\n` +
      `Make your first key (with KEYLEASH_ADMIN_TOKEN exported):\n  KEYLEASH_URL=${url} ${cliCommand()} keys create --vendor stripe --daily-usd-cap 50 --allow 'POST /v1/payment_intents' --expires-in 24h --metadata role=billing\n`,
  );
  if (!config.alerts.webhookSecret) logger.warn('KEYLEASH_WEBHOOK_SECRET is not set: alerts are recorded and listed, but no webhook is sent until it is');
  for (const vendor of ['STRIPE_SECRET_KEY', 'TWILIO_ACCOUNT_SID', 'OPENAI_API_KEY']) {
    if (!process.env[vendor]) logger.warn(`${vendor} is not set: requests for that vendor will be refused until it is`);
  }
  const stop = async () => {
    await keyleash.close();
    await store.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
