# shellcheck shell=bash
# The glewlwyd peer of bench/run.sh (sourced by it; uses its globals: HERE,
# WORK, OUT, PEER_PORT, CLIENT_SECRET, PASSWORD, SESSIONS, SERVER_PID,
# IDLE_RSS_KB, and its functions log, wait_http, status_kb, run_wrk).
#
# glewlwyd 2.7.5 from Debian's archive (an OAuth2/OpenID Connect server in C:
# ulfius/libmicrohttpd, hoel over SQLite, rhonabwy for JOSE), run in the
# foreground from a private config file (bench/glewlwyd/glewlwyd.conf.in) on
# 127.0.0.1:$PEER_PORT with a fresh SQLite database made from the package's
# init.sqlite3.sql, then configured through its admin REST API
# (bench/glewlwyd/setup.py configure). See bench/glewlwyd/README.md.
#
# Knobs: BENCH_GLEW_JOURNAL (wal | delete, default wal: the database file's
# journal mode, WAL like Tessera's SQLite; glewlwyd sets no pragma of its own,
# so synchronous stays SQLite's FULL), BENCH_GLEW_PBKDF2 (the client module's
# PBKDF2 iterations for client secrets, default 1; glewlwyd's own default is
# 150000, see the README), BENCH_GLEW_DB_DIR (where the database file goes,
# default the run's work directory under /tmp, on disk here like Tessera's;
# /dev/shm takes the fsyncs out, for comparison only).

GLEW_DIR=$HERE/glewlwyd
GLEW_INIT_SQL=/usr/share/doc/glewlwyd/database/init.sqlite3.sql.gz

ensure_glewlwyd() {
    if ! command -v glewlwyd >/dev/null || [[ ! -f $GLEW_INIT_SQL ]]; then
        log "installing glewlwyd (Debian)"
        # The package's postinst asks how to configure it and, answered
        # "Personalized" (the default), runs dbconfig and fails without a
        # database server: answer "No configuration". It does not start a
        # service where no init system runs; this harness starts its own.
        echo 'glewlwyd glewlwyd/config_type select No configuration' | debconf-set-selections
        DEBIAN_FRONTEND=noninteractive apt-get install -y glewlwyd >/dev/null ||
            { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y glewlwyd >/dev/null; }
    fi
    command -v sqlite3 >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y sqlite3 >/dev/null
    command -v openssl >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y openssl >/dev/null
}

glewlwyd_version() {
    dpkg-query -W -f='${Version}' glewlwyd 2>/dev/null || echo '?'
}

GURL() { echo "http://127.0.0.1:$PEER_PORT"; }
GAUTH() { echo "Basic $(printf 'bench:%s' "$CLIENT_SECRET" | base64 -w0)"; }

# start_glewlwyd: a fresh server, fresh database, configured; sets SERVER_PID,
# GLEW_DB (the database file) and GLEW_CONFIG (what setup.py read back).
start_glewlwyd() {
    local dir=$WORK/glewlwyd-$RANDOM journal=${BENCH_GLEW_JOURNAL:-wal}
    mkdir -p "$dir" "${BENCH_GLEW_DB_DIR:-$dir}"
    GLEW_DB=${BENCH_GLEW_DB_DIR:-$dir}/glewlwyd-$PEER_PORT-$RANDOM.db
    zcat "$GLEW_INIT_SQL" | sqlite3 "$GLEW_DB"
    if [[ $journal == wal ]]; then
        sqlite3 "$GLEW_DB" 'PRAGMA journal_mode=WAL;' >/dev/null
    fi
    sed -e "s|@PORT@|$PEER_PORT|g" -e "s|@DB@|$GLEW_DB|g" "$GLEW_DIR/glewlwyd.conf.in" >"$dir/glewlwyd.conf"
    # ES256 signing key (P-256), made for this run.
    openssl ecparam -name prime256v1 -genkey -noout -out "$dir/es256.key" 2>/dev/null
    openssl ec -in "$dir/es256.key" -pubout -out "$dir/es256.pub" 2>/dev/null
    glewlwyd -c "$dir/glewlwyd.conf" >"$dir/glewlwyd.log" 2>&1 &
    SERVER_PID=$!
    wait_http "$(GURL)/config"
    GLEW_CONFIG=$(python3 "$GLEW_DIR/setup.py" configure "$(GURL)" "$CLIENT_SECRET" "$PASSWORD" \
        "$dir/es256.key" "$dir/es256.pub" "$GLEW_DIR/oidc-plugin.json" "${BENCH_GLEW_PBKDF2:-1}")
    sleep 1
    IDLE_RSS_KB=$(status_kb "$SERVER_PID" VmRSS)
    log "glewlwyd pid $SERVER_PID (sqlite, journal $journal), idle RSS $((IDLE_RSS_KB / 1024)) MiB; $GLEW_CONFIG"
}

stop_glewlwyd() {
    stop_server
    # A database outside the work directory is not removed by run.sh's cleanup.
    if [[ -n ${BENCH_GLEW_DB_DIR:-} ]]; then rm -f "$GLEW_DB" "$GLEW_DB-wal" "$GLEW_DB-shm"; fi
}

# The settings recorded with each glewlwyd result.
glew_extra() {
    python3 - "$GLEW_CONFIG" "${BENCH_GLEW_JOURNAL:-wal}" "${BENCH_GLEW_PBKDF2:-1}" "$(glewlwyd_version)" \
        "$(dirname "$GLEW_DB")" "${1:-}" <<'PY'
import json, sys
cfg, journal, pbkdf2, version, db_dir, more = sys.argv[1:]
r = {"peer_version": version, "sqlite_journal": journal, "client_secret_pbkdf2_iterations": int(pbkdf2),
     "db_dir": db_dir,
     "access_ttl_s": json.loads(cfg)["access-token-duration"],
     "refresh_ttl_s": json.loads(cfg)["refresh-token-duration"],
     "refresh_one_use": json.loads(cfg)["refresh-token-one-use"], "signing": "ES256"}
if more:
    r.update(json.loads(more))
print(json.dumps(r))
PY
}

sc_glewlwyd_client_credentials() {
    start_glewlwyd
    BENCH_METHOD=POST BENCH_PATH=/api/oidc/token BENCH_BODY='grant_type=client_credentials&scope=api' \
        BENCH_CTYPE=application/x-www-form-urlencoded BENCH_AUTH="$(GAUTH)" \
        run_wrk client_credentials glewlwyd sqlite "$(GURL)" static.lua "$CONNS" "$DURATION" "$(glew_extra)"
    stop_glewlwyd
}

sc_glewlwyd_refresh() {
    start_glewlwyd
    # Rotation is on: checked on a chain of its own before the timed run.
    local check
    check=$(python3 "$GLEW_DIR/setup.py" check-rotation "$(GURL)" "$CLIENT_SECRET" "$PASSWORD")
    log "glewlwyd rotation check: $check"
    python3 "$GLEW_DIR/setup.py" tokens "$(GURL)" "$CLIENT_SECRET" "$PASSWORD" "$SESSIONS" "$WORK/glew-refresh.txt"
    local before after
    before=$(python3 "$GLEW_DIR/setup.py" count "$GLEW_DB")
    BENCH_PEER=1 BENCH_TOKEN_PATH=/api/oidc/token BENCH_AUTH="$(GAUTH)" BENCH_TOKENS=$WORK/glew-refresh.txt \
        run_wrk refresh glewlwyd sqlite "$(GURL)" refresh.lua "$CONNS" "$DURATION" \
        "$(glew_extra "{\"rotation_check\": $check}")"
    after=$(python3 "$GLEW_DIR/setup.py" count "$GLEW_DB")
    # Every rotation inserts a refresh-token row and disables its parent: the
    # server-side count of rotations during the run, beside wrk's count.
    python3 - "$OUT/results.jsonl" "$before" "$after" "$SESSIONS" <<'PY'
import json, sys
path, before, after, sessions = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), int(sys.argv[4])
lines = open(path).read().splitlines()
r = json.loads(lines[-1])
r["server_rotated"] = after["refresh_rows"] - before["refresh_rows"]
r["server_enabled_chains_after"] = after["refresh_enabled"]
r["server_access_tokens_stored"] = after["access_rows"] - before["access_rows"]
lines[-1] = json.dumps(r)
open(path, "w").write("\n".join(lines) + "\n")
print(f"    glewlwyd database: rotated {r['server_rotated']} (wrk completed {r['requests']}), "
      f"enabled refresh tokens after {after['refresh_enabled']} "
      f"(before {before['refresh_enabled']}, sessions {sessions})")
PY
    stop_glewlwyd
}
