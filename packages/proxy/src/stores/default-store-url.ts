/** Where `serve` and `migrate` keep their data when no --store is given; a module of its own so the CLI can name it without loading a store driver. */
export const DEFAULT_STORE_URL = 'sqlite:./.keyleash/keyleash.db';
