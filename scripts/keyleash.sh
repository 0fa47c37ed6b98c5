#!/bin/sh
# `pnpm keyleash …`: the built CLI (plain node, ~0.1 s to start) once `pnpm build` has run, else
# the TypeScript source through tsx (no build needed, ~1 s to start). After editing the proxy's
# source, run `pnpm build` again or remove packages/proxy/dist to use the source.
repo=$(cd "$(dirname "$0")/.." && pwd)
if [ -f "$repo/packages/proxy/dist/cli/main.js" ]; then
  # keyleash-dist: @keyleash/* imports resolve to the built packages too (see the packages' exports)
  exec node --conditions=keyleash-dist "$repo/packages/proxy/dist/cli/main.js" "$@"
fi
exec node --import tsx "$repo/packages/proxy/src/cli/main.ts" "$@"
