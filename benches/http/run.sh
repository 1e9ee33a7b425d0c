#!/usr/bin/env bash
# HTTP load benchmark of the demo server, beside an axum-login peer built from crates.io.
#
#   benches/http/run.sh            # build, then 6 phases x every target, about 4 minutes
#
# Targets: the demo server on SQLite with the session cache off and on (5 s), the axum-login
# peer (benches/http/peers/axum-login) on SQLite, and the demo server on PostgreSQL when
# PORTCULLIS_BENCH_POSTGRES_URL is set (a scratch database is created there and dropped).
# Every server starts on a fresh SQLite file in a temporary directory (the demo server with
# --rate-limit off --insecure-cookies --log-level warn); 32 users are registered and each signed
# in once, and one more session is signed out. Then, phase by phase, each target in turn
# (so that a change in the machine's load falls on every target alike), with 32 keep-alive
# connections for 10 s after 1 s of warm-up (portcullis-loadgen):
#
#   health             GET /health
#   protected          GET /protected, each connection with its own valid session (the demo's
#                      bearer token, the peer's session cookie)
#   protected_invalid  GET /protected with the signed-out session (401 expected)
#   login_1conn        one connection logging in for 3 s: what one login costs on that server
#   login              POST login with the right password (argon2id): the login flood
#   flood              the login flood again, with 4 probe connections on GET /health paced at
#                      20 requests/s each (flood_probe): /health latency while logins use the CPU
#
# Login limit: cores / argon2id verify time, the verify time being the median of the
# portcullis-password criterion bench, run in the build step (argon2id_m19456_t2_p1/verify).
# The peer hashes with its own argon2 build: its limit is cores / its login_1conn time.
# Peak RSS: VmHWM of the server process, reset before each phase (echo 5 > /proc/PID/clear_refs).
# The load average is recorded around every phase: the machine should be otherwise idle.
#
# Writes $CARGO_TARGET_DIR/bench-http/results-<timestamp>.json (every report, RSS, load,
# machine) and prints a markdown table and the targets met or not (report.py).
#
# Environment: BENCH_DURATION (10), BENCH_WARMUP (1), BENCH_CONNECTIONS (32),
# BENCH_TARGETS (space-separated subset of: portcullis-cache-off portcullis-cache-on
# axum-login portcullis-postgres), BENCH_PHASES (a subset of the phases, in order: re-run the
# login phases on a quieter machine with BENCH_PHASES='login_1conn login flood'),
# BENCH_NO_BUILD=1 (use the binaries already built),
# PORTCULLIS_BENCH_POSTGRES_URL (postgres://user@host:port/db to create the scratch db from).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
duration=${BENCH_DURATION:-10}
warmup=${BENCH_WARMUP:-1}
connections=${BENCH_CONNECTIONS:-32}
users=$connections
password='bench password: portcullis 1843'
targets=${BENCH_TARGETS:-portcullis-cache-off portcullis-cache-on axum-login}
if [ -n "${PORTCULLIS_BENCH_POSTGRES_URL:-}" ] && [ -z "${BENCH_TARGETS:-}" ]; then
  targets="$targets portcullis-postgres"
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out_root="$CARGO_TARGET_DIR/bench-http"
out="$out_root/run-$stamp"
mkdir -p "$out"
work=$(mktemp -d /tmp/bench-http.XXXXXX)
pids=()
pg_db=""

cleanup() {
  local p
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  if [ -n "$pg_db" ]; then
    psql "$PORTCULLIS_BENCH_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $pg_db" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# ---- build -----------------------------------------------------------------------------------
if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
  log "building the demo server and the load driver (release)"
  (cd "$root" && cargo build --release --locked -p server -p portcullis-loadgen)
  log "building the axum-login peer from crates.io (release)"
  cargo build --release --locked --manifest-path "$here/peers/axum-login/Cargo.toml"
  (cd "$root" && cargo bench --locked -p portcullis-password --bench hashing --no-run)
fi
# The argon2id verify time, measured now (criterion; the executable built above).
hash_bench=$(ls -t "$CARGO_TARGET_DIR"/release/deps/hashing-* 2>/dev/null | grep -v '\.d$' | head -n 1 || true)
if [ -n "$hash_bench" ]; then
  log "timing argon2id verification (portcullis-password criterion bench)"
  bench_load_start=$(loadavg)
  (cd "$root/crates/password" && "$hash_bench" --bench 'argon2id_m19456_t2_p1/verify') \
    >"$out/criterion-hashing.txt" 2>&1 || log "criterion bench failed; the limit falls back to login_1conn"
  printf '{"loadavg_start": "%s", "loadavg_end": "%s"}\n' "$bench_load_start" "$(loadavg)" >"$out/criterion-load.json"
  cp "$CARGO_TARGET_DIR/criterion/argon2id_m19456_t2_p1/verify/new/estimates.json" \
    "$out/criterion-estimates.json" 2>/dev/null || true
fi
bin="$CARGO_TARGET_DIR/release"
loadgen="$bin/portcullis-loadgen"
for binary in server portcullis-loadgen axum-login-peer; do
  [ -x "$bin/$binary" ] || { echo "missing $bin/$binary (run without BENCH_NO_BUILD)" >&2; exit 1; }
done
estimates="$CARGO_TARGET_DIR/criterion/argon2id_m19456_t2_p1/verify/new/estimates.json"
if [ -f "$estimates" ] && [ -z "$(find "$estimates" -mmin -60)" ]; then
  log "note: $estimates is more than an hour old"
fi

# ---- helpers ---------------------------------------------------------------------------------
declare -A pid url kind auth_header login_path

wait_healthy() { # name
  local name=$1
  for _ in $(seq 1 300); do
    curl -fs "${url[$name]}/health" >/dev/null 2>&1 && return 0
    if ! kill -0 "${pid[$name]}" 2>/dev/null; then
      echo "$name exited; its log:" >&2
      cat "$work/$name/server.log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "$name did not answer /health in 30 s" >&2
  return 1
}

reset_peak() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null || true; }
# CPU ticks: the machine's busy and total (/proc/stat), one process's user + system.
machine_ticks() { awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9, $9}' /proc/stat; }
process_ticks() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12+$13}' || echo 0; }
peak_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# (The JSON bodies end without a newline: add one, or sed leaves the line unterminated.)
json_token() { { cat; echo; } | sed -n 's/.*"token":"\([^"]*\)".*/\1/p'; }
set_cookie() { tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p' | head -n 1; }

# Starts a target's server on a fresh database, registers the users and signs each in once
# (a session per connection), and signs one session out (the invalid token).
start_target() { # name
  local name=$1 port database
  local dir="$work/$name"
  mkdir -p "$dir" "$out/$name"
  case $name in
    portcullis-cache-off) port=3401 ;;
    portcullis-cache-on) port=3402 ;;
    axum-login) port=3403 ;;
    portcullis-postgres) port=3404 ;;
    *) echo "unknown target $name" >&2; exit 2 ;;
  esac
  url[$name]="http://127.0.0.1:$port"
  database="sqlite://$dir/bench.db?mode=rwc"
  case $name in
    axum-login)
      kind[$name]=peer
      auth_header[$name]='cookie: {line}'
      login_path[$name]=/login
      "$bin/axum-login-peer" --addr "127.0.0.1:$port" --database-url "sqlite://$dir/bench.db" \
        >"$dir/server.log" 2>&1 &
      ;;
    *)
      kind[$name]=portcullis
      auth_header[$name]='authorization: Bearer {line}'
      login_path[$name]=/auth/login
      local flags=(--addr "127.0.0.1:$port" --rate-limit off --insecure-cookies --log-level warn)
      if [ "$name" = portcullis-cache-on ]; then flags+=(--session-cache 5); fi
      if [ "$name" = portcullis-postgres ]; then
        pg_db="portcullis_bench_$$"
        psql "$PORTCULLIS_BENCH_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $pg_db" >/dev/null 2>&1
        psql "$PORTCULLIS_BENCH_POSTGRES_URL" -qc "CREATE DATABASE $pg_db" >/dev/null
        database="${PORTCULLIS_BENCH_POSTGRES_URL%/*}/$pg_db"
      fi
      "$bin/server" "${flags[@]}" --database-url "$database" >"$dir/server.log" 2>&1 &
      ;;
  esac
  pid[$name]=$!
  pids+=("$!")
  wait_healthy "$name"
  local base=${url[$name]} i email signed_out
  log "$name: pid ${pid[$name]} on $base; registering $users users"
  : >"$dir/tokens"
  for i in $(seq 0 $((users - 1))); do
    email="bench$i@example.com"
    if [ "${kind[$name]}" = portcullis ]; then
      curl -fs -X POST "$base/auth/register" -H 'content-type: application/json' \
        -d "{\"name\":\"Bench $i\",\"email\":\"$email\",\"password\":\"$password\"}" |
        json_token >>"$dir/tokens"
    else
      curl -fs -o /dev/null -X POST "$base/register" -H 'content-type: application/json' \
        -d "{\"email\":\"$email\",\"password\":\"$password\"}"
      curl -fs -o /dev/null -D - -X POST "$base/login" -H 'content-type: application/json' \
        -d "{\"email\":\"$email\",\"password\":\"$password\"}" | set_cookie >>"$dir/tokens"
    fi
  done
  if [ "${kind[$name]}" = portcullis ]; then
    signed_out=$(curl -fs -X POST "$base/auth/login" -H 'content-type: application/json' \
      -d "{\"email\":\"bench0@example.com\",\"password\":\"$password\"}" | json_token)
    curl -fs -o /dev/null -X POST "$base/auth/logout" -H "authorization: Bearer $signed_out"
  else
    signed_out=$(curl -fs -o /dev/null -D - -X POST "$base/login" -H 'content-type: application/json' \
      -d "{\"email\":\"bench0@example.com\",\"password\":\"$password\"}" | set_cookie)
    curl -fs -o /dev/null -X POST "$base/logout" -H "cookie: $signed_out"
  fi
  if [ "$(grep -c . "$dir/tokens")" -ne "$users" ] || [ -z "$signed_out" ]; then
    echo "$name: could not sign the users in; server log:" >&2
    cat "$dir/server.log" >&2
    exit 1
  fi
  printf '%s\n' "$signed_out" >"$dir/invalid"
  # A signed-in request works and a signed-out one does not, before measuring.
  local header=${auth_header[$name]} first
  first=$(head -n 1 "$dir/tokens")
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/protected" -H "${header/\{line\}/$first}")" = 200 ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/protected" -H "${header/\{line\}/$signed_out}")" = 401 ]
  printf '{"target": "%s", "kind": "%s", "database": "%s", "session_cache_s": %s, "pid": %s}\n' \
    "$name" "${kind[$name]}" "$(case $name in portcullis-postgres) echo postgres ;; *) echo sqlite ;; esac)" \
    "$([ "$name" = portcullis-cache-on ] && echo 5 || echo null)" "${pid[$name]}" >"$out/$name/target.json"
}

# Runs one phase against one target: loadgen, with the server's RSS and the load average around it.
phase() { # target phase
  local name=$1 phase=$2 base=${url[$1]} server=${pid[$1]} dir="$work/$1"
  local login_body="{\"email\":\"bench{conn}@example.com\",\"password\":\"$password\"}"
  local common=(--label "$phase" --connections "$connections" --duration "$duration" --warmup "$warmup"
    --json "$out/$name/$phase.json")
  local login=(--method POST --url "$base${login_path[$name]}" -H 'content-type: application/json'
    --body "$login_body")
  local expected=200 probe="" load_start rss_before ticks_start server_ticks_start
  load_start=$(loadavg)
  reset_peak "$server"
  rss_before=$(rss_kib "$server")
  ticks_start=$(machine_ticks)
  server_ticks_start=$(process_ticks "$server")
  case $phase in
    health) "$loadgen" "${common[@]}" --url "$base/health" ;;
    protected)
      "$loadgen" "${common[@]}" --url "$base/protected" -H "${auth_header[$name]}" --lines "$dir/tokens" ;;
    protected_invalid)
      expected=401
      "$loadgen" "${common[@]}" --url "$base/protected" -H "${auth_header[$name]}" --lines "$dir/invalid" ;;
    login_1conn)
      # One login at a time: what one login costs on this server (HTTP, database, hash).
      "$loadgen" "${login[@]}" --label "$phase" --connections 1 --duration 3 --warmup 0.5 \
        --json "$out/$name/$phase.json" ;;
    login) "$loadgen" "${common[@]}" "${login[@]}" ;;
    flood)
      # The login flood again, with paced probes on /health beside it.
      "$loadgen" --label flood_probe --connections 4 --rate 20 --duration "$duration" \
        --warmup "$warmup" --url "$base/health" --json "$out/$name/flood_probe.json" &
      probe=$!
      "$loadgen" "${common[@]}" "${login[@]}"
      wait "$probe"
      ;;
  esac
  local ticks_end server_ticks_end
  ticks_end=$(machine_ticks)
  server_ticks_end=$(process_ticks "$server")
  # busy/total/steal ticks of the machine over the phase, and the server's own ticks.
  printf '{"peak_rss_kib": %s, "rss_before_kib": %s, "rss_after_kib": %s, "expected_status": %s, "loadavg_start": "%s", "loadavg_end": "%s", "machine_ticks": [%s], "server_ticks": %s}\n' \
    "$(peak_kib "$server")" "$rss_before" "$(rss_kib "$server")" "$expected" "$load_start" "$(loadavg)" \
    "$(echo "$ticks_start $ticks_end" | awk '{print $4-$1", "$5-$2", "$6-$3}')" \
    "$((server_ticks_end - server_ticks_start))" >"$out/$name/$phase.server.json"
}

# ---- the run ---------------------------------------------------------------------------------
{
  printf '{"started": "%s", "loadavg_start": "%s", "cpus": %s, "cpu_model": "%s", "memory_kib": %s, "kernel": "%s", "rustc": "%s", "duration_s": %s, "warmup_s": %s, "connections": %s}\n' \
    "$(date -u +%FT%TZ)" "$(loadavg)" "$(nproc)" \
    "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" \
    "$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)" "$(uname -r)" "$(rustc --version)" \
    "$duration" "$warmup" "$connections"
} >"$out/machine.json"
log "load average before the run: $(loadavg) on $(nproc) cores"
for target in $targets; do
  start_target "$target"
done
# Phase by phase, every target in turn: a change in the machine's load between the first and
# the last minute of the run falls on every target alike.
for phase in ${BENCH_PHASES:-health protected protected_invalid login_1conn login flood}; do
  log "phase $phase: $targets"
  for target in $targets; do
    phase "$target" "$phase"
  done
done
printf '{"finished": "%s", "loadavg_end": "%s"}\n' "$(date -u +%FT%TZ)" "$(loadavg)" >"$out/end.json"
results="$out_root/results-$stamp.json"
python3 "$here/report.py" "$out" "$estimates" "$results"
log "results: $results (raw reports in $out)"
