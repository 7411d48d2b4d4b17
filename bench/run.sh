#!/usr/bin/env bash
# Load benchmarks of Tessera (issue 8), and of a peer (oidc-provider).
#
#   bench/run.sh <scenario>
#
# Tessera scenarios (backend: BENCH_DB=sqlite|postgres, default sqlite):
#   login               POST /v1/auth/login, Argon2id at the server defaults
#   refresh             POST /v1/auth/refresh, every request a real rotation
#   me                  GET /v1/me (ES256 verify + session-liveness lookup)
#   me_dpop             GET /v1/me with DPoP-bound tokens: each request a fresh proof (its ES256
#                       signature, htm/htu/iat/ath, cnf.jkt, the jti into the replay cache) on
#                       top of what `me` does; proofs made ahead (bench/dpop_proofs.py, pip
#                       cryptography + PyJWT), BENCH_DPOP_PROOFS of them (default 400000)
#   client_credentials  POST /oauth2/token grant_type=client_credentials
#   oauth_refresh       POST /oauth2/token grant_type=refresh_token by a confidential client
#                       (client_secret_basic), as the peers are measured: the same rotation as
#                       `refresh` plus client authentication and the form; tokens from
#                       password-grant logins of that client in setup
#   code_exchange       POST /oauth2/token grant_type=authorization_code (OpenID Connect): a
#                       confidential first-party client (client_secret_basic) redeems a code
#                       with its PKCE verifier and gets an access token, an ID token and a
#                       refresh token (a new session). Codes are single-use and live 60 s, so
#                       they are made right before the run (bench/oidc_codes.py: one sign-in
#                       through the hosted page, then BENCH_CODES (default 40000) authorization
#                       requests with the SSO cookie); BENCH_DURATION defaults to 10 here.
#                       Running out of codes counts as errors: raise BENCH_CODES.
#   jwks                GET /.well-known/jwks.json
#   latency             refresh paced at BENCH_LOAD (default 50%) of a fresh peak run
#   rss                 idle RSS, then RSS with 100k live sessions (+ a refresh run over them)
#   argon2              raw Argon2id rate, same crate and parameters (bench/argon2-rate)
#   soak                BENCH_SOAK_S (default 600) of mixed load on a server nobody scrapes:
#                       refresh chains on 4 connections, GET /v1/me on 16, and a registration
#                       plus a login every 10 s; RSS (anonymous and file parts) sampled every
#                       10 s. Verdict: 0 errors, and the mean anonymous RSS of the last third
#                       within 10 % of the first third's.
#   scale               one million live sessions against 10,000 (issue 22; bench/scale.sh):
#                       sessions written straight into the database by bench/seed.py (SQLite
#                       one transaction, PostgreSQL COPY) over 1000 accounts; time to ready
#                       (3 starts, and a restart after the runs), idle RSS and CPU, refresh
#                       runs of 30 s over random sessions (64 hot, BENCH_SCALE_POOL=8192
#                       wide), RSS after 8 logins; verdicts: refresh per CPU s falls < 10 %,
#                       RSS < 64 MiB (SQLite), start < 1 s. BENCH_DB unset: both backends.
#                       BENCH_SCALE_SESSIONS (1000000), BENCH_SCALE_SIZES ("10000 1000000")
# Peer scenarios (oidc-provider in bench/peer, in-memory adapter):
#   peer_jwks  peer_client_credentials  peer_refresh   (peer = all three)
# glewlwyd peer (Debian's glewlwyd, SQLite; bench/glewlwyd, see its README.md):
#   glewlwyd_client_credentials  glewlwyd_refresh   (glewlwyd = both)
# Suites:
#   tessera   jwks, client_credentials, me, refresh, oauth_refresh, code_exchange, login and
#             latency on BENCH_DB
# Several scenarios may be named at once: bench/run.sh me refresh
#   all       argon2, then tessera on sqlite and on postgres, rss on sqlite, then peer,
#             then glewlwyd (BENCH_DB set: that backend only)
#
# Knobs: BENCH_DURATION (s, 15), BENCH_CONNS (32), BENCH_THREADS (wrk threads, 2),
# BENCH_LOGIN_CONNS (8), BENCH_SESSIONS (sessions for refresh/me, 64),
# BENCH_NO_BUILD=1 (use the existing target/release/tessera), BENCH_OUT (results dir),
# BENCH_PORT (18080), BENCH_PG_DB (tessera_bench: two runs at once need two),
# BENCH_SRC (source tree to build and measure, default this checkout; honours CARGO_TARGET_DIR),
# BENCH_BIN (a prebuilt tessera binary to measure instead of building),
# BENCH_KEEP_LOGS=1 (keep each Tessera server's log, gzipped, in the results dir),
# BENCH_PERF=1 (profile the server with `perf record -e cpu-clock` during each timed run;
# for finding costs, not for the recorded numbers).
# glewlwyd peer: BENCH_GLEW_JOURNAL (wal), BENCH_GLEW_PBKDF2 (1), see bench/glewlwyd/glewlwyd.sh.
#
# Every wrk run reports: requests/s, p50/p99/p99.9 latency, errors (every
# non-2xx response and every socket error), server CPU seconds (utime+stime
# of the server process from /proc/<pid>/stat, before and after the timed run:
# setup traffic and the load generator are not counted), requests per server
# CPU second ("per core"), CPU seconds per 1000 requests, idle RSS (VmRSS
# after start) and peak RSS (VmHWM). Results: $BENCH_OUT/results.jsonl and a
# Markdown table in $BENCH_OUT/results.md.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
DURATION=${BENCH_DURATION:-15}
CONNS=${BENCH_CONNS:-32}
THREADS=${BENCH_THREADS:-2}
LOGIN_CONNS=${BENCH_LOGIN_CONNS:-8}
SESSIONS=${BENCH_SESSIONS:-64}
PORT=${BENCH_PORT:-18080}
PEER_PORT=${BENCH_PEER_PORT:-18090}
PG_ADMIN_URL=${BENCH_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
# The benchmark database (dropped and created anew for every server start).
PG_DB=${BENCH_PG_DB:-tessera_bench}
PG_URL=postgres://postgres@127.0.0.1:5432/$PG_DB
OUT=${BENCH_OUT:-$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)}
# The tree to build and measure (default: this checkout). BENCH_SRC lets a
# clean worktree of a given commit be measured with this harness.
SRC=${BENCH_SRC:-$ROOT}
TARGET_DIR=${CARGO_TARGET_DIR:-$SRC/target}
PASSWORD='bench password: correct horse battery staple'
CLIENT_SECRET=bench-client-secret-0123456789abcdef0123456789abcdef
TICK=$(getconf CLK_TCK)
export BENCH_WRK_DIR=$HERE/wrk BENCH_THREADS=$THREADS

mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/tessera-bench.XXXXXX)
SERVER_PID=
cleanup() {
    if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# ---------------------------------------------------------------- tools
ensure_tools() {
    if ! command -v wrk >/dev/null; then
        log "installing wrk (Debian)"
        apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
    fi
    command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 1; }
}

ensure_tessera() {
    if [[ -n ${BENCH_BIN:-} ]]; then
        BIN=$WORK/tessera
        cp "$BENCH_BIN" "$BIN"
        return
    fi
    if [[ ${BENCH_NO_BUILD:-0} != 1 ]]; then
        log "cargo build --release -p tessera"
        (cd "$SRC" && cargo build --release -p tessera >&2)
    fi
    [[ -x $TARGET_DIR/release/tessera ]] || { echo "no $TARGET_DIR/release/tessera (build it, or unset BENCH_NO_BUILD)" >&2; exit 1; }
    # A private copy: a shared target directory may be rebuilt during the run.
    BIN=$WORK/tessera
    cp "$TARGET_DIR/release/tessera" "$BIN"
}

ensure_peer() {
    command -v node >/dev/null || { echo "node is required for the peer" >&2; exit 1; }
    if [[ ! -d $HERE/peer/node_modules/oidc-provider ]]; then
        log "npm ci (bench/peer)"
        (cd "$HERE/peer" && npm ci --no-audit --no-fund >&2)
    fi
}

# ---------------------------------------------------------------- process facts
cpu_ticks() { # utime + stime of a process (all threads), in clock ticks
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

pg_pids() { # backends connected to the benchmark database
    psql -tAq "$PG_ADMIN_URL" -c "SELECT pid FROM pg_stat_activity WHERE datname = '$PG_DB'"
}

wait_http() { python3 "$HERE/setup.py" wait "$1"; }

# ---------------------------------------------------------------- Tessera server
# start_tessera [extra toml lines...]: a fresh server (fresh database) on $PORT.
start_tessera() {
    local dir=$WORK/tessera-$RANDOM
    mkdir -p "$dir"
    CFG=$dir/tessera.toml
    DATA=$dir/data
    local secret
    secret=$("$BIN" gen-secret | tr -d '[:space:]')
    {
        echo "listen = \"127.0.0.1:$PORT\""
        echo "data_dir = \"$DATA\""
        echo "secret = \"$secret\""
        if [[ $DB == postgres ]]; then echo "database_url = \"$PG_URL\""; fi
        # Raised for the benchmark: every request comes from 127.0.0.1, so the
        # per-IP limits would otherwise refuse the load (0 disables a rate limit).
        echo "login_max_failures = 1000000"
        echo "login_ip_max_failures = 1000000"
        echo "register_rate_per_minute = 0"
        echo "refresh_rate_per_minute = 0"
        for line in "$@"; do echo "$line"; done
    } >"$CFG"
    if [[ $DB == postgres ]]; then
        psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null
        psql -q "$PG_ADMIN_URL" -c "CREATE DATABASE $PG_DB" >/dev/null
    fi
    "$BIN" migrate --config "$CFG" >/dev/null 2>&1
    echo "$CLIENT_SECRET" | "$BIN" clients create --id bench --secret-stdin --scope api \
        --grant client_credentials --config "$CFG" >/dev/null
    "$BIN" serve --config "$CFG" >"$dir/server.log" 2>&1 &
    SERVER_PID=$!
    wait_http "http://127.0.0.1:$PORT/readyz"
    sleep 1
    IDLE_RSS_KB=$(status_kb "$SERVER_PID" VmRSS)
    log "tessera pid $SERVER_PID ($DB), idle RSS $((IDLE_RSS_KB / 1024)) MiB"
}

stop_server() {
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
        # BENCH_KEEP_LOGS=1: the server's own log, kept beside the results.
        local log
        if [[ ${BENCH_KEEP_LOGS:-0} == 1 ]]; then
            for log in "$WORK"/tessera-*/server.log; do
                [[ -f $log ]] && gzip -c "$log" >"$OUT/server-$(basename "$(dirname "$log")").log.gz"
            done
        fi
    fi
}

start_peer() {
    local dir=$WORK/peer-$RANDOM
    mkdir -p "$dir"
    (cd "$HERE/peer" && NODE_ENV=production exec node server.mjs "$PEER_PORT" "$CLIENT_SECRET") >"$dir/peer.log" 2>&1 &
    SERVER_PID=$!
    wait_http "http://127.0.0.1:$PEER_PORT/jwks"
    sleep 1
    IDLE_RSS_KB=$(status_kb "$SERVER_PID" VmRSS)
    log "peer pid $SERVER_PID, idle RSS $((IDLE_RSS_KB / 1024)) MiB"
}

# ---------------------------------------------------------------- one timed run
# run_wrk <name> <server> <backend> <url> <script> [conns] [duration] [extra json]
run_wrk() {
    local name=$1 server=$2 backend=$3 url=$4 script=$5 conns=${6:-$CONNS} dur=${7:-$DURATION} extra=${8:-}
    local threads=$THREADS
    ((conns < threads)) && threads=$conns
    local load0 t0 t1 wall0 wall1 out
    load0=$(cut -d' ' -f1 /proc/loadavg)
    # PostgreSQL: the CPU of the backends serving this database is reported
    # beside the server's (it is in-process work on SQLite).
    local -A db0=()
    local pid
    if [[ $backend == postgres ]]; then
        for pid in $(pg_pids); do db0[$pid]=$(cpu_ticks "$pid" 2>/dev/null || echo 0); done
    fi
    t0=$(cpu_ticks "$SERVER_PID")
    wall0=$(date +%s.%N)
    local perf_pid=
    if [[ ${BENCH_PERF:-0} == 1 ]]; then
        # Profiling runs only (perf's own sampling costs the server a little):
        # software cpu-clock samples, as hardware counters may be unavailable.
        perf record -q -e cpu-clock -F 999 -g -p "$SERVER_PID" -o "$OUT/perf-$server-$backend-$name.data" \
            -- sleep "$dur" >/dev/null 2>&1 &
        perf_pid=$!
    fi
    out=$(BENCH_THREADS=$threads wrk -t"$threads" -c"$conns" -d"${dur}s" --timeout 10s \
        -s "$HERE/wrk/$script" "$url")
    if [[ -n $perf_pid ]]; then
        wait "$perf_pid" || true
        perf report -i "$OUT/perf-$server-$backend-$name.data" --stdio --no-children \
            --sort symbol -g none --percent-limit 0.7 2>/dev/null \
            | grep -v '^$' >"$OUT/perf-$server-$backend-$name.txt" || true
        log "profile: $OUT/perf-$server-$backend-$name.txt"
    fi
    wall1=$(date +%s.%N)
    t1=$(cpu_ticks "$SERVER_PID")
    local db_ticks=0 t
    if [[ $backend == postgres ]]; then
        for pid in $(pg_pids); do
            t=$(cpu_ticks "$pid" 2>/dev/null || echo 0)
            db_ticks=$((db_ticks + t - ${db0[$pid]:-0}))
        done
    fi
    local hwm rss
    hwm=$(status_kb "$SERVER_PID" VmHWM)
    rss=$(status_kb "$SERVER_PID" VmRSS)
    local json
    json=$(grep '^WRKJSON ' <<<"$out" | sed 's/^WRKJSON //')
    [[ -n $json ]] || { echo "$out" >&2; echo "wrk gave no summary" >&2; exit 1; }
    python3 - "$json" <<PY >>"$OUT/results.jsonl"
import json, sys
w = json.loads(sys.argv[1])
cpu = ($t1 - $t0) / $TICK
secs = w["duration_us"] / 1e6
r = {
  "scenario": "$name", "server": "$server", "backend": "$backend",
  "conns": $conns, "wrk_threads": $threads, "duration_s": round(secs, 2),
  "requests": w["requests"], "rps": round(w["requests"] / secs, 1),
  "p50_ms": w["p50_us"] / 1000, "p90_ms": w["p90_us"] / 1000, "p99_ms": w["p99_us"] / 1000,
  "p999_ms": w["p999_us"] / 1000, "max_ms": w["max_us"] / 1000,
  "errors": w["errors"], "non2xx": w["non2xx"], "socket_errors": w["socket_errors"],
  "error_codes": w["codes"],
  "server_cpu_s": round(cpu, 2),
  "per_core_rps": round(w["requests"] / cpu, 1) if cpu > 0 else None,
  "cpu_s_per_1000": round(cpu / w["requests"] * 1000, 4) if w["requests"] else None,
  "server_cores_busy": round(cpu / secs, 2),
  "db_cpu_s": round($db_ticks / $TICK, 2) if "$backend" == "postgres" else None,
  "per_core_rps_incl_db": round(w["requests"] / (cpu + $db_ticks / $TICK), 1) if "$backend" == "postgres" else None,
  "idle_rss_mib": round($IDLE_RSS_KB / 1024, 1), "peak_rss_mib": round($hwm / 1024, 1),
  "rss_after_mib": round($rss / 1024, 1), "loadavg_before": $load0,
}
extra = """$extra"""
if extra.strip():
    r.update(json.loads(extra))
print(json.dumps(r))
PY
    local last
    last=$(tail -n1 "$OUT/results.jsonl")
    python3 - "$last" <<'PY' | tee -a "$OUT/summary.txt"
import json, sys
r = json.loads(sys.argv[1])
print(f"{r['server']:8} {r['backend']:8} {r['scenario']:20} {r['rps']:>9.1f} req/s  "
      f"p50 {r['p50_ms']:.2f} p99 {r['p99_ms']:.2f} p99.9 {r['p999_ms']:.2f} ms  errors {r['errors']}  "
      f"cpu {r['server_cpu_s']} s  per-core {r['per_core_rps']}/s  "
      f"idle {r['idle_rss_mib']} MiB peak {r['peak_rss_mib']} MiB")
PY
}

metric() { # metric <name-and-labels>: a counter from /metrics (0 if absent)
    curl -s "http://127.0.0.1:$PORT/metrics" | awk -v k="$1" '$1 == k { print $2; f=1 } END { if (!f) print 0 }'
}

# ---------------------------------------------------------------- Tessera scenarios
TURL() { echo "http://127.0.0.1:$PORT"; }

setup_sessions() { # accounts, then $1 logins: $WORK/access.txt, $WORK/refresh.txt
    python3 "$HERE/setup.py" users "$(TURL)" 16 "$PASSWORD" "$WORK/emails.txt"
    python3 "$HERE/setup.py" logins "$(TURL)" "$WORK/emails.txt" "$1" "$PASSWORD" \
        "$WORK/access.txt" "$WORK/refresh.txt"
}

sc_jwks() {
    start_tessera
    BENCH_METHOD=GET BENCH_PATH=/.well-known/jwks.json \
        run_wrk jwks tessera "$DB" "$(TURL)" static.lua
    stop_server
}

sc_client_credentials() {
    start_tessera
    BENCH_METHOD=POST BENCH_PATH=/oauth2/token BENCH_BODY='grant_type=client_credentials' \
        BENCH_CTYPE=application/x-www-form-urlencoded \
        BENCH_AUTH="Basic $(printf 'bench:%s' "$CLIENT_SECRET" | base64 -w0)" \
        run_wrk client_credentials tessera "$DB" "$(TURL)" static.lua
    stop_server
}

sc_code_exchange() {
    local dur=${BENCH_DURATION:-10} redirect=http://127.0.0.1:9/cb
    start_tessera
    echo "$CLIENT_SECRET" | "$BIN" clients create --id bench-web --secret-stdin --first-party \
        --redirect-uri "$redirect" --grant authorization_code --grant refresh_token \
        --config "$CFG" >/dev/null
    python3 "$HERE/setup.py" users "$(TURL)" 1 "$PASSWORD" "$WORK/emails.txt"
    python3 "$HERE/oidc_codes.py" "$(TURL)" bench-web "$redirect" "$(head -n1 "$WORK/emails.txt")" \
        "$PASSWORD" "${BENCH_CODES:-40000}" "$WORK/codes.txt"
    BENCH_TOKENS=$WORK/codes.txt BENCH_REDIRECT_URI=http%3A%2F%2F127.0.0.1%3A9%2Fcb \
        BENCH_AUTH="Basic $(printf 'bench-web:%s' "$CLIENT_SECRET" | base64 -w0)" \
        run_wrk code_exchange tessera "$DB" "$(TURL)" code_exchange.lua "$CONNS" "$dur"
    stop_server
}

sc_me() {
    start_tessera
    setup_sessions "$SESSIONS"
    BENCH_TOKENS=$WORK/access.txt run_wrk me tessera "$DB" "$(TURL)" me.lua
    stop_server
}

sc_me_dpop() {
    python3 -c 'import jwt, cryptography' 2>/dev/null ||
        python3 -m pip install -q pyjwt cryptography >/dev/null
    # Proofs are made before the run: allow them two minutes of age.
    start_tessera 'dpop_iat_window = "120s"'
    python3 "$HERE/setup.py" users "$(TURL)" 16 "$PASSWORD" "$WORK/emails.txt"
    python3 "$HERE/dpop_proofs.py" "$(TURL)" "$WORK/emails.txt" "$PASSWORD" "$SESSIONS" \
        "${BENCH_DPOP_PROOFS:-400000}" "$WORK/dpop.txt"
    BENCH_TOKENS=$WORK/dpop.txt run_wrk me_dpop tessera "$DB" "$(TURL)" me_dpop.lua
    stop_server
}

# refresh_run <name> [conns] [duration] [delay_ms]: one run on a running server
# with fresh sessions; checks the server's own rotation counters.
refresh_run() {
    local name=$1 conns=${2:-$CONNS} dur=${3:-$DURATION} delay=${4:-0}
    local rot0 gr0 rot1 gr1
    rot0=$(metric 'tessera_refreshes_total{outcome="rotated"}')
    gr0=$(metric 'tessera_refreshes_total{outcome="grace_replay"}')
    # Rotation counters are read after the run; the extra JSON is filled in below.
    BENCH_DELAY_MS=$delay BENCH_TOKENS=$WORK/refresh.txt \
        run_wrk "$name" tessera "$DB" "$(TURL)" refresh.lua "$conns" "$dur" \
        "{\"delay_ms\": $delay}"
    rot1=$(metric 'tessera_refreshes_total{outcome="rotated"}')
    gr1=$(metric 'tessera_refreshes_total{outcome="grace_replay"}')
    python3 - "$OUT/results.jsonl" "$rot0" "$rot1" "$gr0" "$gr1" <<'PY'
import json, sys
path, rot0, rot1, gr0, gr1 = sys.argv[1], *map(float, sys.argv[2:])
lines = open(path).read().splitlines()
r = json.loads(lines[-1])
r["server_rotated"] = int(rot1 - rot0)
r["server_grace_replays"] = int(gr1 - gr0)
lines[-1] = json.dumps(r)
open(path, "w").write("\n".join(lines) + "\n")
print(f"    server counters: rotated {r['server_rotated']}, grace replays {r['server_grace_replays']} "
      f"(wrk completed {r['requests']} requests)")
PY
}

sc_oauth_refresh() {
    start_tessera
    echo "$CLIENT_SECRET" | "$BIN" clients create --id bench-app --secret-stdin \
        --grant password --grant refresh_token --config "$CFG" >/dev/null
    python3 "$HERE/setup.py" users "$(TURL)" 16 "$PASSWORD" "$WORK/emails.txt"
    python3 "$HERE/setup.py" client-logins "$(TURL)" "$WORK/emails.txt" "$SESSIONS" "$PASSWORD" \
        bench-app "$CLIENT_SECRET" "$WORK/refresh.txt"
    BENCH_PEER=1 BENCH_TOKEN_PATH=/oauth2/token \
        BENCH_AUTH="Basic $(printf 'bench-app:%s' "$CLIENT_SECRET" | base64 -w0)" \
        refresh_run oauth_refresh
    stop_server
}

sc_refresh() {
    start_tessera
    setup_sessions "$SESSIONS"
    refresh_run refresh
    stop_server
}

sc_latency() {
    # Peak first (fresh sessions), then the same server paced at BENCH_LOAD of it.
    local load=${BENCH_LOAD:-0.5} conns=16
    start_tessera
    setup_sessions "$SESSIONS"
    refresh_run refresh_peak_for_latency "$conns"
    local peak
    peak=$(tail -n1 "$OUT/results.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rps"])')
    # Fresh sessions for the paced run (the first run's tokens were rotated away).
    python3 "$HERE/setup.py" logins "$(TURL)" "$WORK/emails.txt" "$SESSIONS" "$PASSWORD" \
        "$WORK/access.txt" "$WORK/refresh.txt"
    local delay
    delay=$(python3 -c "print(max(1, round($conns * 1000 / ($peak * $load))))")
    log "peak $peak/s with $conns connections; pacing each at one request per ${delay} ms"
    refresh_run "refresh_at_$(python3 -c "print(int($load*100))")pct" "$conns" "$DURATION" "$delay"
    stop_server
}

sc_login() {
    start_tessera
    python3 "$HERE/setup.py" users "$(TURL)" 64 "$PASSWORD" "$WORK/emails.txt"
    BENCH_TOKENS=$WORK/emails.txt BENCH_PASSWORD=$PASSWORD \
        run_wrk login tessera "$DB" "$(TURL)" login.lua "$LOGIN_CONNS"
    stop_server
}

sc_rss() {
    # Idle RSS of a fresh server, then 100k live sessions inserted in the
    # database (same token format and hash as the server's), a restart, idle
    # RSS again, and a refresh run whose pool is all 100k sessions.
    local n=${BENCH_RSS_SESSIONS:-100000}
    start_tessera
    python3 "$HERE/setup.py" users "$(TURL)" 1 "$PASSWORD" "$WORK/emails.txt"
    python3 "$HERE/setup.py" logins "$(TURL)" "$WORK/emails.txt" 1 "$PASSWORD" \
        "$WORK/access.txt" "$WORK/refresh.txt"
    local uid
    uid=$(curl -sf "$(TURL)/v1/me" -H "Authorization: Bearer $(head -n1 "$WORK/access.txt")" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    local fresh_idle=$IDLE_RSS_KB
    stop_server
    if [[ $DB == postgres ]]; then
        python3 "$HERE/setup.py" bulk-sessions postgres "$PG_URL" "$uid" "$n" "$WORK/refresh.txt"
    else
        python3 "$HERE/setup.py" bulk-sessions sqlite "$DATA/tessera.db" "$uid" "$n" "$WORK/refresh.txt"
    fi
    # Restart on the same data (start_tessera would make a new database).
    "$BIN" serve --config "$CFG" >"$WORK/rss-server.log" 2>&1 &
    SERVER_PID=$!
    wait_http "http://127.0.0.1:$PORT/readyz"
    sleep 1
    IDLE_RSS_KB=$(status_kb "$SERVER_PID" VmRSS)
    log "idle RSS: fresh $((fresh_idle / 1024)) MiB; with $n sessions $((IDLE_RSS_KB / 1024)) MiB"
    refresh_run "refresh_over_${n}_sessions" "$CONNS" "$DURATION" 0
    python3 - "$OUT/results.jsonl" "$fresh_idle" "$n" <<'PY'
import json, sys
path, fresh, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lines = open(path).read().splitlines()
r = json.loads(lines[-1])
r["fresh_idle_rss_mib"] = round(fresh / 1024, 1)
r["live_sessions"] = n + 1
lines[-1] = json.dumps(r)
open(path, "w").write("\n".join(lines) + "\n")
PY
    stop_server
}

sc_argon2() {
    local dir=$HERE/argon2-rate
    log "building bench/argon2-rate"
    (cd "$dir" && CARGO_TARGET_DIR=$dir/target cargo build --release -q >&2)
    local m=19456 t=2 p=1
    log "raw Argon2id m=$m t=$t p=$p, 1 and 2 threads, ${DURATION}s each"
    "$dir/target/release/argon2-rate" "$m" "$t" "$p" 2 "$DURATION" | while read -r line; do
        python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r["scenario"]="argon2_raw"; r["server"]="argon2-rate"; print(json.dumps(r))' "$line"
    done | tee -a "$OUT/results.jsonl" | tee -a "$OUT/summary.txt"
}

# soak: mixed load for BENCH_SOAK_S seconds against a server that nobody
# scrapes (no GET /metrics during the run), RSS sampled every 10 s.
sc_soak() {
    local dur=${BENCH_SOAK_S:-600} extra=()
    # Access tokens for /v1/me must outlive the run (the default is 15 min).
    if ((dur > 780)); then extra+=("access_token_ttl = \"$((dur + 120))s\""); fi
    start_tessera "${extra[@]}"
    setup_sessions "$SESSIONS"
    local csv=$OUT/soak-$DB.csv
    echo "t_s,vm_rss_kib,rss_anon_kib,rss_file_kib,rss_shmem_kib" >"$csv"
    local t_start
    t_start=$(date +%s)
    (
        while kill -0 "$SERVER_PID" 2>/dev/null; do
            printf '%s,%s,%s,%s,%s\n' "$(($(date +%s) - t_start))" \
                "$(status_kb "$SERVER_PID" VmRSS)" "$(status_kb "$SERVER_PID" RssAnon)" \
                "$(status_kb "$SERVER_PID" RssFile)" "$(status_kb "$SERVER_PID" RssShmem)" >>"$csv"
            sleep 10
        done
    ) &
    local sampler=$!
    python3 "$HERE/setup.py" churn "$(TURL)" "$PASSWORD" "$dur" "$WORK/churn.json" &
    local churn=$!
    # Refresh chains on 4 connections, over 8 sessions: with exactly one token
    # per connection the Lua pool runs dry at wrk's first request (seen: every
    # later request then sends no token), so it holds two per connection, as
    # the refresh scenario's 64 sessions on 32 connections do.
    head -n 8 "$WORK/refresh.txt" >"$WORK/soak-refresh.txt"
    (BENCH_TOKENS=$WORK/soak-refresh.txt BENCH_THREADS=1 wrk -t1 -c4 -d"${dur}s" --timeout 10s \
        -s "$HERE/wrk/refresh.lua" "$(TURL)" >"$WORK/soak-refresh.out") &
    local wr=$!
    BENCH_TOKENS=$WORK/access.txt BENCH_THREADS=1 wrk -t1 -c16 -d"${dur}s" --timeout 10s \
        -s "$HERE/wrk/me.lua" "$(TURL)" >"$WORK/soak-me.out"
    wait "$wr" "$churn"
    sleep 1
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    python3 - "$OUT/results.jsonl" "$csv" "$DB" "$dur" "$WORK/soak-me.out" "$WORK/soak-refresh.out" \
        "$WORK/churn.json" <<'PY' | tee -a "$OUT/summary.txt"
import csv, json, sys
out, path, db, dur, me_out, rf_out, churn = sys.argv[1:]
rows = [r for r in csv.DictReader(open(path)) if r["rss_anon_kib"]]
def wrk(p):
    line = next(l for l in open(p) if l.startswith("WRKJSON "))
    return json.loads(line[len("WRKJSON "):])
me, rf, ch = wrk(me_out), wrk(rf_out), json.load(open(churn))
third = max(1, len(rows) // 3)
first = sum(int(r["rss_anon_kib"]) for r in rows[:third]) / third
last = sum(int(r["rss_anon_kib"]) for r in rows[-third:]) / third
errors = me["errors"] + rf["errors"] + ch["errors"]
growth = (last - first) / first if first else None
r = {
  "scenario": "soak", "server": "tessera", "backend": db, "duration_s": int(dur),
  "me_requests": me["requests"], "refresh_requests": rf["requests"],
  "churn_registrations": ch["registrations"], "churn_logins": ch["logins"],
  "errors": errors, "error_codes": {"me": me["codes"], "refresh": rf["codes"], "churn": ch["codes"]},
  "samples": len(rows),
  "anon_first_third_mib": round(first / 1024, 1), "anon_last_third_mib": round(last / 1024, 1),
  "anon_growth": round(growth, 4) if growth is not None else None,
  "rss_start_mib": round(int(rows[0]["vm_rss_kib"]) / 1024, 1),
  "rss_end_mib": round(int(rows[-1]["vm_rss_kib"]) / 1024, 1),
  "file_end_mib": round(int(rows[-1]["rss_file_kib"]) / 1024, 1),
  "verdict": "pass" if errors == 0 and growth is not None and abs(growth) <= 0.10 else "FAIL",
}
open(out, "a").write(json.dumps(r) + "\n")
print(f"soak {db} {dur}s: me {me['requests']:,}, refresh {rf['requests']:,}, "
      f"churn {ch['registrations']}+{ch['logins']}, errors {errors}; anonymous RSS "
      f"{r['anon_first_third_mib']} -> {r['anon_last_third_mib']} MiB ({r['anon_growth']:+.1%}); "
      f"RSS {r['rss_start_mib']} -> {r['rss_end_mib']} MiB: {r['verdict']}")
PY
    stop_server
}

# The scale scenario (its own file).
# shellcheck source=bench/scale.sh
source "$HERE/scale.sh"

# ---------------------------------------------------------------- peer scenarios
PURL() { echo "http://127.0.0.1:$PEER_PORT"; }
PAUTH() { echo "Basic $(printf 'bench:%s' "$CLIENT_SECRET" | base64 -w0)"; }

sc_peer_jwks() {
    start_peer
    BENCH_METHOD=GET BENCH_PATH=/jwks run_wrk jwks oidc-provider memory "$(PURL)" static.lua
    stop_server
}

sc_peer_client_credentials() {
    start_peer
    BENCH_METHOD=POST BENCH_PATH=/token BENCH_BODY='grant_type=client_credentials' \
        BENCH_CTYPE=application/x-www-form-urlencoded BENCH_AUTH="$(PAUTH)" \
        run_wrk client_credentials oidc-provider memory "$(PURL)" static.lua
    stop_server
}

sc_peer_refresh() {
    start_peer
    python3 "$HERE/setup.py" peer-tokens "$(PURL)" "$CLIENT_SECRET" "$SESSIONS" "$WORK/peer-refresh.txt"
    BENCH_PEER=1 BENCH_AUTH="$(PAUTH)" BENCH_TOKENS=$WORK/peer-refresh.txt \
        run_wrk refresh oidc-provider memory "$(PURL)" refresh.lua
    stop_server
}

# ---------------------------------------------------------------- glewlwyd peer
# shellcheck source=bench/glewlwyd/glewlwyd.sh
source "$HERE/glewlwyd/glewlwyd.sh"

# ---------------------------------------------------------------- main
machine() {
    {
        echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
        echo "nproc: $(nproc)"
        echo "cpu: $(lscpu | sed -n 's/^Model name: *//p')"
        echo "rustc: $(rustc --version)"
        [[ -n ${BENCH_BIN:-} ]] && echo "tessera binary: $BENCH_BIN (prebuilt; the source line below is the harness's tree)"
        echo "tessera source: $SRC, commit $(git -C "$SRC" rev-parse --short HEAD)$(git -C "$SRC" diff --quiet HEAD -- crates Cargo.lock || echo ' (+ uncommitted changes in crates/)')"
        echo "wrk: $(wrk -v 2>&1 | head -n1)"
        echo "node: $(node --version 2>/dev/null), oidc-provider $(node -p "require('$HERE/peer/node_modules/oidc-provider/package.json').version" 2>/dev/null || echo '?')"
        echo "glewlwyd: $(glewlwyd_version) (Debian package)"
        echo "postgres: $(psql "$PG_ADMIN_URL" -tAc 'show server_version' 2>/dev/null || echo '?')"
        echo "command: bench/run.sh $*  (BENCH_DURATION=$DURATION BENCH_CONNS=$CONNS BENCH_THREADS=$THREADS BENCH_DB=${BENCH_DB:-})"
        echo "loadavg at start: $(cat /proc/loadavg)"
    } | tee -a "$OUT/machine.txt" >&2
}

tessera_suite() {
    sc_jwks; sc_client_credentials; sc_me; sc_refresh; sc_oauth_refresh; sc_code_exchange
    sc_login; sc_latency
}

main() {
    [[ $# -ge 1 ]] || { sed -n '2,/^set -euo pipefail$/{/^set -euo/!p;}' "$0"; exit 2; }
    ensure_tools
    machine "$@"
    DB=${BENCH_DB:-sqlite}
    local sc
    for sc in "$@"; do
        case $sc in
            login | refresh | oauth_refresh | me | me_dpop | client_credentials | code_exchange | jwks | latency | rss | soak)
                ensure_tessera; "sc_$sc" ;;
            argon2) sc_argon2 ;;
            peer_jwks | peer_client_credentials | peer_refresh)
                ensure_peer; "sc_$sc" ;;
            peer) ensure_peer; sc_peer_jwks; sc_peer_client_credentials; sc_peer_refresh ;;
            glewlwyd_client_credentials | glewlwyd_refresh)
                ensure_glewlwyd; "sc_$sc" ;;
            glewlwyd) ensure_glewlwyd; sc_glewlwyd_client_credentials; sc_glewlwyd_refresh ;;
            tessera) ensure_tessera; tessera_suite ;;
            scale)
                ensure_tessera
                for DB in ${BENCH_DB:-sqlite postgres}; do sc_scale; done
                DB=${BENCH_DB:-sqlite}
                ;;
            all)
                ensure_tessera; ensure_peer; ensure_glewlwyd
                sc_argon2
                for DB in ${BENCH_DB:-sqlite postgres}; do tessera_suite; done
                DB=${BENCH_DB:-sqlite}; sc_rss
                sc_peer_jwks; sc_peer_client_credentials; sc_peer_refresh
                sc_glewlwyd_client_credentials; sc_glewlwyd_refresh
                ;;
            *) echo "unknown scenario: $sc" >&2; exit 2 ;;
        esac
        # Built once per invocation.
        BENCH_NO_BUILD=1
    done
    python3 "$HERE/report.py" "$OUT" >"$OUT/results.md"
    log "results: $OUT/results.md"
}

main "$@"
