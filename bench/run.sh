#!/usr/bin/env bash
# pnpm bench: what keyleash costs per request, against the bare undici pass-through (the ceiling).
#
# Starts, on ephemeral ports: the reference upstream (bench/harness) (Stripe-like POST /v1/payment_intents),
# the bare undici pass-through, and `keyleash serve` (fresh SQLite file by default) pointed at
# that upstream; issues an uncapped vault key (priced, reserved, settled and audited like any key,
# but a run cannot exhaust it); then runs the harness bench/harness/proxy-overhead.sh with the same
# arguments against the bare pass-through and against keyleash, one round of each at a time in
# alternating order (this VM's speed drifts between minutes, and a slow patch should land on both),
# and prints the comparison: keyleash's
# req/s over the bare pass-through's at the largest conns, added p50/p99 at the smallest conns, and
# proxy CPU us per request for both. Everything it starts is stopped on exit.
#
# Environment (all optional):
#   BENCH_QUICK=1           quick mode: 5 s runs, 2 rounds, 2 s warm-up (each still overridable)
#   BENCH_DURATION=10       seconds per run          BENCH_ROUNDS=3    interleaved rounds
#   BENCH_CONNS=1,16,64     connection counts        BENCH_WARMUP=3    warm-up seconds per target
#   BENCH_WARM_REQUESTS=N   requests through keyleash before any figure (default 30000 per instance,
#                           15000 in quick mode; 0 = only the harness's warm-up seconds)
#   BENCH_LOADGEN=wrk|node  load generator           BENCH_LOADGEN_CPUS=0  pin it with taskset
#   BENCH_ARGS='...'        extra proxy-overhead.sh arguments, given to both runs
#   BENCH_REF_MODE=stream|buffer  how the bare pass-through handles bodies (default stream)
#   BENCH_STORES=sqlite,postgres  without BENCH_STORE: one whole run per store (each with its own bare
#                           pass-through run), then both stores' figures side by side; "postgres" is
#                           BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/test); any other
#                           entry is a store URL. A store keyleash cannot open is reported and skipped.
#   BENCH_STORE=URL         one store only: a fresh sqlite:<tmp>/bench.db when empty; or postgres://…
#                           (issue 7), e.g. postgres://postgres@127.0.0.1:5432/test: without ?schema=
#                           the bench uses a scratch schema keyleash_bench_* and drops it at the end.
#                           With PostgreSQL, the CPU of the PostgreSQL server counts as proxy CPU (it is
#                           the work SQLite does inside the keyleash process); BENCH_PG_CPU=0 to leave
#                           it out. If keyleash cannot open the store, the run says so and is skipped.
#   BENCH_INSTANCES=1       keyleash instances on that one store, behind bench/balancer.mjs
#   BENCH_KEYS=1            vault keys; >1 = "many keys" load (the balancer rotates them per request)
#   BENCH_BALANCER=auto|none|tcp|http  auto: none for 1 instance and 1 key, tcp for several
#                           instances, http when BENCH_KEYS>1. Use tcp with BENCH_INSTANCES=1 to give
#                           a 1-instance baseline the same extra hop as a 3-instance run.
#   BENCH_FROM=dist         run keyleash as installed: `pnpm build` first, then plain node on the
#                           compiled dist/ (what npm users run); source = from the TypeScript under tsx
#   BENCH_CPU_PROF=1        run keyleash under node --cpu-prof (profiles land in the output dir;
#                           summarise one with node bench/lib/cpuprofile-top.mjs FILE)
#   BENCH_OUT=DIR           keep logs, raw results and profiles in DIR (default: a temp dir, removed)
#   KEYLEASH_BENCH_HARNESS  the harness folder (default bench/harness in this repo)
#   BENCH_CLI=1             also time the CLI (bench/cli-latency.mjs): `keyleash keys list` against the
#                           running proxy, from source (tsx) and, once `pnpm build` has run, built
#                           (plain node); 0 skips it; only = the CLI timing alone (no throughput runs)
#   BENCH_CLI_RUNS=15       runs per CLI timing
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${KEYLEASH_BENCH_HARNESS:-$REPO/bench/harness}
case "${1:-}" in -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;; esac

# keyleash as npm users run it: compiled, on plain node (built once, before any store's run)
BENCH_FROM=${BENCH_FROM:-dist}
case "$BENCH_FROM" in dist|source) ;; *) echo "bench: BENCH_FROM must be dist or source" >&2; exit 2 ;; esac
if [ "$BENCH_FROM" = dist ] && [ "${BENCH_BUILT:-0}" != 1 ]; then
  echo "bench: building the packages (BENCH_FROM=source runs the TypeScript instead)"
  if command -v pnpm >/dev/null; then (cd "$REPO" && pnpm build >/dev/null); else (cd "$REPO" && npx -y pnpm@10.34.9 build >/dev/null); fi || { echo "bench: the build failed" >&2; exit 1; }
  export BENCH_BUILT=1
fi

# Without BENCH_STORE: one run per store of BENCH_STORES (each a whole run of this script, the bare
# pass-through measured again beside each), then the figures of both side by side.
if [ -z "${BENCH_STORE:-}" ] && [ "${BENCH_SINGLE_STORE:-0}" != 1 ]; then
  ALL_OUT=$(mktemp -d "${TMPDIR:-/tmp}/keyleash-bench-stores.XXXXXX")
  trap 'rm -rf "$ALL_OUT"' EXIT
  NAMES=()
  for entry in $(tr , ' ' <<<"${BENCH_STORES:-sqlite,postgres}"); do
    case "$entry" in
      sqlite) url= ;;
      postgres) url=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test} ;;
      *) url=$entry ;;
    esac
    name=${entry%%:*}
    NAMES+=("$name")
    echo; echo "##### store: $name #####"
    sub_out=${BENCH_OUT:+$BENCH_OUT/$name}
    BENCH_SINGLE_STORE=1 BENCH_STORE=$url BENCH_OUT=$sub_out bash "${BASH_SOURCE[0]}" "$@" 2>&1 | tee "$ALL_OUT/$name.txt" || true
  done
  echo; echo "##### keyleash vs the bare pass-through, per store #####"
  printf '%-10s | %-22s | %-15s | %-15s | %-17s | %-17s\n' store 'ratio rps (max conns)' 'CPU us/req bare' 'CPU us/req kl' 'added p50 bare/kl' 'added p99 bare/kl'
  for name in "${NAMES[@]}"; do
    line=$(grep '^RESULT ' "$ALL_OUT/$name.txt" | tail -1)
    if [ -z "$line" ]; then printf '%-10s | (no result: see its run above)\n' "$name"; continue; fi
    v() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $line"; }
    printf '%-10s | %-22s | %-15s | %-15s | %-17s | %-17s\n' "$name" "$(v ratio_rps)" "$(v bare_cpu_us_req)" "$(v keyleash_cpu_us_req)" \
      "$(v bare_added_p50_ms)/$(v keyleash_added_p50_ms) ms" "$(v bare_added_p99_ms)/$(v keyleash_added_p99_ms) ms"
  done
  echo "(added latency at the smallest conns; CPU at the largest; with PostgreSQL the server's CPU counts as keyleash's)"
  exit 0
fi

if [ "${BENCH_QUICK:-0}" = 1 ]; then DEF_DUR=5; DEF_ROUNDS=2; DEF_WARM=2; DEF_WARM_REQ=15000; else DEF_DUR=10; DEF_ROUNDS=3; DEF_WARM=3; DEF_WARM_REQ=30000; fi
DUR=${BENCH_DURATION:-$DEF_DUR}
ROUNDS=${BENCH_ROUNDS:-$DEF_ROUNDS}
WARM=${BENCH_WARMUP:-$DEF_WARM}
CONNS=${BENCH_CONNS:-1,16,64}
LOADGEN=${BENCH_LOADGEN:-wrk}
INSTANCES=${BENCH_INSTANCES:-1}
NKEYS=${BENCH_KEYS:-1}
BAL=${BENCH_BALANCER:-auto}
REF_MODE=${BENCH_REF_MODE:-stream}
SECRET=sk_test_51BenchREALSECRETabcdefghijklmnopqrstuvwxyz0123456789
ADMIN_TOKEN=kla_bench_$(node -e "process.stdout.write(require('node:crypto').randomBytes(18).toString('base64url'))")

die() { echo "bench: $*" >&2; exit 2; }
[ -f "$SHARED/proxy-overhead.sh" ] || die "harness not found at $SHARED (set KEYLEASH_BENCH_HARNESS)"
[ -d "$REPO/node_modules/undici" ] || die "undici is not installed in $REPO/node_modules: install the workspace first"
[[ "$INSTANCES" =~ ^[1-9][0-9]*$ ]] || die "BENCH_INSTANCES must be a positive integer"
# per instance: each compiles its own code, and a JIT warms up per request, not per second
WARM_REQUESTS=${BENCH_WARM_REQUESTS:-$((DEF_WARM_REQ * INSTANCES))}
[[ "$WARM_REQUESTS" =~ ^[0-9]+$ ]] || die "BENCH_WARM_REQUESTS must be a whole number"
[[ "$NKEYS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_KEYS must be a positive integer"
if [ "$BAL" = auto ]; then
  if [ "$NKEYS" -gt 1 ]; then BAL=http; elif [ "$INSTANCES" -gt 1 ]; then BAL=tcp; else BAL=none; fi
fi
case "$BAL" in none|tcp|http) ;; *) die "BENCH_BALANCER must be auto, none, tcp or http" ;; esac
[ "$BAL" = none ] && [ "$INSTANCES" -gt 1 ] && die "several instances need a balancer (BENCH_BALANCER=tcp|http)"
[ "$NKEYS" -gt 1 ] && [ "$BAL" != http ] && die "BENCH_KEYS>1 needs BENCH_BALANCER=http (it rotates the keys per request)"

CLI_BENCH=${BENCH_CLI:-1}
case "$CLI_BENCH" in 0|1|only) ;; *) die "BENCH_CLI must be 0, 1 or only" ;; esac
if [ "$CLI_BENCH" != only ] && [ "$LOADGEN" = wrk ] && ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bench: wrk not found; installing it with apt-get"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null || die "apt-get install wrk failed"
  else
    die "wrk not found: install it (Debian/Ubuntu: sudo apt-get install -y wrk; macOS: brew install wrk), or run with BENCH_LOADGEN=node"
  fi
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/keyleash-bench.XXXXXX")
if [ -n "${BENCH_OUT:-}" ]; then OUT=$BENCH_OUT; mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd); else OUT=$TMP/out; mkdir -p "$OUT"; fi
STORE=${BENCH_STORE:-sqlite:$TMP/bench.db}
PG=0; PG_ADMIN_URL=; PG_SCHEMA=; PG_STARTED=0
case "$STORE" in
  postgres://*|postgresql://*)
    PG=1
    PG_ADMIN_URL=${STORE%%\?*}
    if ! [[ "$STORE" =~ [?\&]schema= ]]; then
      PG_SCHEMA=keyleash_bench_$$_$RANDOM
      if [[ "$STORE" == *\?* ]]; then STORE="$STORE&schema=$PG_SCHEMA"; else STORE="$STORE?schema=$PG_SCHEMA"; fi
    fi
    ;;
esac

PIDS=(); HARNESS_PID=
cleanup() {
  local status=$? p
  trap - EXIT INT TERM
  if [ -n "$HARNESS_PID" ]; then
    # the harness and the load generator it started (by parent id: only what this script started)
    for p in $(pgrep -P "$HARNESS_PID" 2>/dev/null); do pkill -TERM -P "$p" 2>/dev/null || true; kill -TERM "$p" 2>/dev/null || true; done
    kill -TERM "$HARNESS_PID" 2>/dev/null || true
  fi
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  if [ -n "$PG_SCHEMA" ] && [ "$PG_STARTED" = 1 ]; then node "$REPO/bench/lib/pg-admin.mjs" drop-schema "$PG_ADMIN_URL" "$PG_SCHEMA" >/dev/null 2>&1 || echo "bench: could not drop scratch schema $PG_SCHEMA" >&2; fi
  rm -rf "$TMP"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run a copy of the harness (it may be read-only), with the repo's undici beside it (ESM ignores NODE_PATH)
H=$TMP/harness
cp -R "$SHARED/." "$H"
chmod -R u+w "$H"
mkdir -p "$H/node_modules"
ln -s "$REPO/node_modules/undici" "$H/node_modules/undici"
export NODE_PATH=$REPO/node_modules

free_port() { node -e "const s=require('node:net').createServer().listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})"; }
# wait_for PID LOG PATTERN SECONDS: waits until LOG has a line matching PATTERN; fails if PID exits
wait_for() {
  local pid=$1 log=$2 pattern=$3 limit=$4 i
  for i in $(seq 1 $((limit * 10))); do
    grep -qE "$pattern" "$log" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

UP_PORT=$(free_port)
PORT=$UP_PORT REAL_SECRET=$SECRET node "$H/ref-upstream.mjs" >"$OUT/upstream.log" 2>&1 &
UP_PID=$!; PIDS+=("$UP_PID")
wait_for "$UP_PID" "$OUT/upstream.log" 'upstream on' 15 || { cat "$OUT/upstream.log" >&2; die "the reference upstream did not start"; }
UP_BASE=http://127.0.0.1:$UP_PORT

REF_PORT=$(free_port)
PORT=$REF_PORT UPSTREAM=$UP_BASE REAL_SECRET=$SECRET MODE=$REF_MODE node "$H/ref-proxy-undici.mjs" >"$OUT/ref-proxy.log" 2>&1 &
REF_PID=$!; PIDS+=("$REF_PID")
wait_for "$REF_PID" "$OUT/ref-proxy.log" 'undici proxy on' 15 || { cat "$OUT/ref-proxy.log" >&2; die "the reference pass-through did not start"; }

PROF_ARGS=()
if [ "${BENCH_CPU_PROF:-0}" = 1 ]; then mkdir -p "$OUT/cpu-prof"; PROF_ARGS=(--cpu-prof --cpu-prof-dir "$OUT/cpu-prof"); fi
if [ "$BENCH_FROM" = dist ]; then KL_MAIN=(--conditions=keyleash-dist packages/proxy/dist/cli/main.js); else KL_MAIN=(--import tsx packages/proxy/src/cli/main.ts); fi
KL_PIDS=(); KL_TARGETS=(); KL_URL=
for i in $(seq 1 "$INSTANCES"); do
  log=$OUT/keyleash-$i.log
  (cd "$REPO" && exec env KEYLEASH_ADMIN_TOKEN="$ADMIN_TOKEN" STRIPE_SECRET_KEY="$SECRET" KEYLEASH_LOG_LEVEL="${KEYLEASH_LOG_LEVEL:-info}" \
    node "${PROF_ARGS[@]}" "${KL_MAIN[@]}" serve --port 0 --store "$STORE" --upstream "api.stripe.com=$UP_BASE") >"$log" 2>&1 &
  pid=$!; PIDS+=("$pid"); KL_PIDS+=("$pid")
  if ! wait_for "$pid" "$log" 'keyleash listening on' 60; then
    echo "bench: keyleash instance $i did not start with --store $(sed -E 's#//[^@/]*@#//#' <<<"${STORE%%\?*}"):" >&2
    sed 's/^/  | /' "$log" >&2
    case "$STORE" in
      postgres://*|postgresql://*)
        echo "bench: SKIPPED: the PostgreSQL store is not available in this build (or the database is unreachable); nothing was measured." >&2
        exit 0 ;;
    esac
    die "keyleash did not start"
  fi
  PG_STARTED=$PG
  url=$(sed -nE 's/.*keyleash listening on (http:\/\/[^ ]+).*/\1/p' "$log" | head -1)
  [ -n "$KL_URL" ] || KL_URL=$url
  KL_TARGETS+=("${url#http://}")
done

node "$REPO/bench/lib/issue-keys.mjs" "$KL_URL" "$ADMIN_TOKEN" "$NKEYS" >"$OUT/keys.txt" || die "could not issue vault keys"
KEY=$(head -1 "$OUT/keys.txt")

# CLI start-up: what a user waits for on every management command (the proxy is local, the list short)
if [ "$CLI_BENCH" != 0 ]; then
  echo; echo "=== CLI latency: keyleash keys list (process start to exit) ==="
  export KEYLEASH_URL=$KL_URL KEYLEASH_ADMIN_TOKEN=$ADMIN_TOKEN
  CLI_RUNS=${BENCH_CLI_RUNS:-15}
  # the floor on this box: starting node itself
  node "$REPO/bench/cli-latency.mjs" --runs "$CLI_RUNS" --label "node -e 0 (floor)" -- node -e 0 | tee "$OUT/cli-latency.txt"
  (cd "$REPO" && node bench/cli-latency.mjs --runs "$CLI_RUNS" --label "source (node --import tsx)" -- node --import tsx packages/proxy/src/cli/main.ts keys list) | tee -a "$OUT/cli-latency.txt"
  if [ -f "$REPO/packages/proxy/dist/cli/main.js" ]; then
    (cd "$REPO" && node bench/cli-latency.mjs --runs "$CLI_RUNS" --label "built (plain node, as installed)" -- node --conditions=keyleash-dist packages/proxy/dist/cli/main.js keys list) | tee -a "$OUT/cli-latency.txt"
  else
    echo "built: not measured (run npx -y pnpm@10.34.9 build first)" | tee -a "$OUT/cli-latency.txt"
  fi
  unset KEYLEASH_URL KEYLEASH_ADMIN_TOKEN
  [ "$CLI_BENCH" = only ] && exit 0
fi

PX_BASE=$KL_URL
if [ "$BAL" != none ]; then
  (IFS=,; echo "${KL_TARGETS[*]}") >"$OUT/targets.txt"
  KEYS_ENV=(); [ "$NKEYS" -gt 1 ] && KEYS_ENV=(KEYS_FILE="$OUT/keys.txt")
  env PORT=0 TARGETS="$(cat "$OUT/targets.txt")" MODE="$BAL" "${KEYS_ENV[@]}" node "$REPO/bench/balancer.mjs" >"$OUT/balancer.log" 2>&1 &
  BAL_PID=$!; PIDS+=("$BAL_PID")
  wait_for "$BAL_PID" "$OUT/balancer.log" 'balancer listening on' 15 || { cat "$OUT/balancer.log" >&2; die "the balancer did not start"; }
  PX_BASE=http://127.0.0.1:$(sed -nE 's/.*balancer listening on ([0-9]+).*/\1/p' "$OUT/balancer.log" | head -1)
fi

STORE_KIND=${STORE%%:*}; [ "$PG" = 1 ] && STORE_KIND=postgres
LABEL="keyleash ($STORE_KIND, $INSTANCES instance(s), $NKEYS key(s), balancer $BAL)"
CPU_PIDS=$(IFS=,; echo "${KL_PIDS[*]}")
MAXC=$(tr , '\n' <<<"$CONNS" | sort -n | tail -1); MINC=$(tr , '\n' <<<"$CONNS" | sort -n | head -1)
# Before any figure: every instance answers WARM_REQUESTS / INSTANCES requests, so keyleash is
# measured with its code optimised, as the bare pass-through (a few functions, warm within its
# own warm-up seconds) is. This also opens every instance's PostgreSQL pool.
if [ "$WARM_REQUESTS" -gt 0 ]; then
  echo "bench: warming keyleash up with $WARM_REQUESTS requests ($INSTANCES instance(s))"
  node "$REPO/bench/lib/warm.mjs" "$PX_BASE/v1/payment_intents" "$KEY" "$MAXC" 300 "$WARM_REQUESTS" || die "warm-up through keyleash failed"
elif [ "$PG" = 1 ]; then
  node "$REPO/bench/lib/warm.mjs" "$PX_BASE/v1/payment_intents" "$KEY" "$MAXC" 2 || die "warm-up through keyleash failed"
fi
# a keyleash whose WAL checkpoints fell back onto the serving thread is not the one users run
if grep -l 'checkpoint worker failed' "$OUT"/keyleash-*.log >/dev/null 2>&1; then
  grep -h 'checkpoint worker failed' "$OUT"/keyleash-*.log | head -1 >&2
  die "keyleash runs without its checkpoint worker (a broken build?); the figures would not be representative"
fi
# With PostgreSQL, the server's CPU counts as proxy CPU: the postmaster and its children (the
# backends of keyleash's pool, and the WAL writer, checkpointer and autovacuum the load makes work).
# Counting only the backends listed once undercounted: keyleash's pool closes connections idle for
# 30 s and opens new ones later, which nobody counted (one run showed 159 us/request "with the
# backends" where keyleash alone used ~150). The harness counts a postmaster's live children and,
# through its reaped-children times, those that exited during a run.
if [ "$PG" = 1 ] && [ "${BENCH_PG_CPU:-1}" = 1 ]; then
  POSTMASTER=$(node "$REPO/bench/lib/pg-admin.mjs" postmaster "$PG_ADMIN_URL") || die "could not ask PostgreSQL for its server process"
  if [ -n "$POSTMASTER" ] && [ -r "/proc/$POSTMASTER/stat" ]; then
    echo "bench: counting the PostgreSQL server (postmaster $POSTMASTER and its processes) as proxy CPU; nothing else should use it meanwhile"
    CPU_PIDS="$CPU_PIDS,$POSTMASTER"
    LABEL="${LABEL%)}, CPU incl. the PostgreSQL server)"
  else
    echo "bench: note: the PostgreSQL server is not on this machine; proxy CPU is keyleash's only"
  fi
fi
echo "bench: upstream $UP_BASE; bare pass-through :$REF_PORT ($REF_MODE); $LABEL at $PX_BASE"
echo "bench: ${DUR}s x ${ROUNDS} rounds, conns $CONNS, warm-up ${WARM}s, loadgen $LOADGEN; output in $OUT"

ARGS=(--upstream "$UP_BASE/v1/payment_intents"
  -X POST -H 'Content-Type: application/x-www-form-urlencoded'
  -d 'amount=2000&currency=usd&payment_method_types[]=card'
  --upstream-header "Authorization: Bearer $SECRET"
  --proxy-header "Authorization: Bearer $KEY"
  --conns "$CONNS" --duration "$DUR" --rounds 1 --warmup "$WARM" --loadgen "$LOADGEN"
  --upstream-pid "$UP_PID")
[ -n "${BENCH_LOADGEN_CPUS:-}" ] && ARGS+=(--loadgen-cpus "$BENCH_LOADGEN_CPUS")
# shellcheck disable=SC2206
[ -n "${BENCH_ARGS:-}" ] && ARGS+=($BENCH_ARGS)

# runs the harness in the background (so INT/TERM reach the trap at once) and shows its output live
harness() { # OUTPUT_TXT ARGS...
  local txt=$1 rc=0 tail_pid
  shift
  : >"$txt"
  bash "$H/proxy-overhead.sh" "$@" >"$txt" 2>&1 &
  HARNESS_PID=$!
  tail -n +1 -f --pid="$HARNESS_PID" "$txt" &
  tail_pid=$!
  wait "$HARNESS_PID" || rc=$?
  wait "$tail_pid" 2>/dev/null || true
  HARNESS_PID=
  [ "$rc" = 0 ] || die "proxy-overhead.sh failed (exit $rc); see above"
}
# One harness round of each per round, bare first in odd rounds and keyleash first in even ones: a
# whole run of one then a whole run of the other once put the bare pass-through at 100 us/request
# in one run and 170 in the next, which moved the CPU ratio more than any change did.
mkdir -p "$OUT/bare" "$OUT/keyleash"
: >"$OUT/bare/raw.jsonl"; : >"$OUT/keyleash/raw.jsonl"
for round in $(seq 1 "$ROUNDS"); do
  order=(bare keyleash); [ $((round % 2)) = 0 ] && order=(keyleash bare)
  for which in "${order[@]}"; do
    if [ "$which" = bare ]; then
      echo; echo "=== round $round/$ROUNDS: bare undici pass-through (ceiling) ==="
      harness "$OUT/bare-$round.txt" "${ARGS[@]}" --proxy "http://127.0.0.1:$REF_PORT/v1/payment_intents" --proxy-pid "$REF_PID" --out "$OUT/bare/round-$round"
    else
      echo; echo "=== round $round/$ROUNDS: $LABEL ==="
      harness "$OUT/keyleash-$round.txt" "${ARGS[@]}" --proxy "$PX_BASE/v1/payment_intents" --proxy-pid "$CPU_PIDS" --out "$OUT/keyleash/round-$round"
    fi
    # each harness run numbers its one round 1; compare.mjs pairs rows by round
    sed "s/\"round\":1,/\"round\":$round,/" "$OUT/$which/round-$round/raw.jsonl" >>"$OUT/$which/raw.jsonl"
  done
done
[ "$BAL" != none ] && echo "note: proxy CPU us/req does not count the balancer (its hop is in the req/s and latency figures)."

node "$REPO/bench/lib/compare.mjs" "$OUT/bare/raw.jsonl" "$OUT/keyleash/raw.jsonl" "$MAXC" "$MINC" "$LABEL" | tee "$OUT/summary.txt"

if [ "${BENCH_CPU_PROF:-0}" = 1 ]; then
  for p in "${KL_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${KL_PIDS[@]}"; do for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; done
  echo "cpu profiles: $(ls "$OUT"/cpu-prof/*.cpuprofile 2>/dev/null | tr '\n' ' ')"
  [ -n "${BENCH_OUT:-}" ] || echo "note: set BENCH_OUT=DIR to keep the profiles (the temp dir is removed on exit)"
fi
