/** The proxy as a library: embed the keyleash server in your own process (the CLI does the same). */
export { createKeyleash, type Keyleash, type KeyleashOptions } from './server.ts';
export { resolveServeConfig, type ServeConfig, type ServeFlags } from './config.ts';
export { openStore } from './stores/open-store.ts';
