# shellcheck shell=bash
# The `scale` scenario of bench/run.sh (issue 22), sourced by it: the server
# with a million live sessions against the same with 10,000.
#
# For each size (BENCH_SCALE_SIZES, default "10000 $BENCH_SCALE_SESSIONS",
# the latter 1000000), on its own fresh database:
#   1. a fresh server; one account registered and logged in over HTTP (the
#      real user id; the login's token checked against its stored row, so a
#      change of token format or hash stops the run); server stopped;
#   2. bench/seed.py writes the sessions straight into the database (SQLite:
#      one transaction; PostgreSQL: COPY), spread over BENCH_SCALE_USERS
#      accounts (1000, clones of the real one, same password hash);
#   3. BENCH_SCALE_STARTS (3) starts, each timed from the exec of
#      `tessera serve` to the first 200 from /readyz (polled every 5 ms);
#      one seeded token refreshed over HTTP and its access token used on
#      /v1/me (the seeded rows are accepted); idle RSS 2 s after start; server CPU (and PostgreSQL's)
#      and RSS over BENCH_SCALE_IDLE_S (60: two maintenance ticks) idle
#      seconds; RSS sampled every 5 s from the last start to the stop
#      (scale-rss-<backend>-<sessions>.csv);
#   4. two refresh runs of BENCH_SCALE_DURATION (30) seconds, the default
#      maintenance interval, so each run holds exactly one maintenance tick:
#      "hot", BENCH_SESSIONS (64) sessions drawn at random from all of them
#      and rotated over and over, and "wide", BENCH_SCALE_POOL (8192) other
#      random sessions, each rotated about once every pool's worth of
#      requests (at 10,000 sessions that pool is most of the table);
#      peak RSS (VmHWM) and the server's rotation counters as refresh_run
#      checks them; then 8 logins (4 at a time) of a seeded account (the
#      cloned rows log in) and RSS after them: the server keeps one Argon2
#      buffer (19 MiB at the default cost) per argon2_workers (2) once used;
#   5. the server stopped and started again, timed (a restart after load:
#      SQLite reads back any WAL the stop left; its size is recorded).
# Two databases rather than one topped up: each size starts from the same
# state (no audit rows or WAL left by the smaller size's runs).
# Verdicts per backend (issue 22): refreshes per server CPU second at the
# largest size within 10 % of the smallest's (both runs; PostgreSQL also
# counting its backends' CPU), RSS < 64 MiB on SQLite (idle and the run's
# peak), every start (and the restart after the runs) < 1 s.
# Records: results.jsonl (scenarios scale_idle, scale_refresh_hot,
# scale_refresh_wide, scale_restart, scale_verdict), lines in summary.txt.

SCALE_SIZES=${BENCH_SCALE_SIZES:-"10000 ${BENCH_SCALE_SESSIONS:-1000000}"}
SCALE_USERS=${BENCH_SCALE_USERS:-1000}
SCALE_POOL=${BENCH_SCALE_POOL:-8192}
SCALE_STARTS=${BENCH_SCALE_STARTS:-3}
SCALE_IDLE_S=${BENCH_SCALE_IDLE_S:-60}
SCALE_DURATION=${BENCH_SCALE_DURATION:-30}

# scale_launch: `tessera serve` on the existing $CFG, timed to ready.
scale_launch() {
    local out=$WORK/start-$RANDOM.ms
    python3 "$HERE/seed.py" launch "$out" "$(TURL)/readyz" "$BIN" serve --config "$CFG" \
        >>"$WORK/scale-server-$DB.log" 2>&1 &
    SERVER_PID=$!
    local i
    for ((i = 0; i < 700; i++)); do
        [[ -s $out ]] && break
        kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 20 "$WORK/scale-server-$DB.log" >&2; echo "server died" >&2; exit 1; }
        sleep 0.1
    done
    START_MS=$(cat "$out" 2>/dev/null || echo timeout)
    [[ $START_MS != timeout ]] || { echo "server not ready within 60 s" >&2; exit 1; }
    START_T=$(date +%s.%N)
}

# scale_perf_rename <run> <sessions>: BENCH_PERF=1's profile of a run, named
# by size (run_wrk names it by scenario alone).
scale_perf_rename() {
    local f ext
    for ext in data txt; do
        f=$OUT/perf-tessera-$DB-$1.$ext
        if [[ -e $f ]]; then mv "$f" "$OUT/perf-tessera-$DB-$1-$2.$ext"; fi
    done
}

# scale_annotate <json>: merges fields into the last record of results.jsonl.
scale_annotate() {
    python3 - "$OUT/results.jsonl" "$1" <<'PY'
import json, sys
path, extra = sys.argv[1], json.loads(sys.argv[2])
lines = open(path).read().splitlines()
r = json.loads(lines[-1])
r.update(extra)
lines[-1] = json.dumps(r)
open(path, "w").write("\n".join(lines) + "\n")
PY
}

scale_one() {
    local n=$1
    log "scale: $DB with $n seeded sessions over $SCALE_USERS users"
    # 1. One real account and login on a fresh database.
    start_tessera
    local fresh_idle=$IDLE_RSS_KB
    python3 "$HERE/setup.py" users "$(TURL)" 1 "$PASSWORD" "$WORK/emails.txt"
    python3 "$HERE/setup.py" logins "$(TURL)" "$WORK/emails.txt" 1 "$PASSWORD" \
        "$WORK/access.txt" "$WORK/refresh.txt"
    local uid
    uid=$(curl -sf "$(TURL)/v1/me" -H "Authorization: Bearer $(head -n1 "$WORK/access.txt")" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    stop_server
    local target=$DATA/tessera.db
    [[ $DB == postgres ]] && target=$PG_URL
    local owner
    owner=$(python3 "$HERE/seed.py" check-format "$DB" "$target" "$(head -n1 "$WORK/refresh.txt")")
    [[ $owner == "$uid" ]] || { echo "the login's session belongs to $owner, not $uid" >&2; exit 1; }

    # 2. The fast path.
    local t0 t1 seed_s db_bytes
    t0=$(date +%s.%N)
    python3 "$HERE/seed.py" seed "$DB" "$target" "$uid" "$n" "$SCALE_USERS" \
        "$((SESSIONS + SCALE_POOL))" "$WORK/scale-pool.txt" "$WORK/scale-check.txt"
    t1=$(date +%s.%N)
    seed_s=$(python3 -c "print(round($t1 - $t0, 1))")
    if [[ $DB == postgres ]]; then
        db_bytes=$(psql -tAq "$PG_ADMIN_URL" -c "SELECT pg_database_size('$PG_DB')")
    else
        db_bytes=$(stat -c %s "$target")
    fi
    log "seeded $n sessions in $seed_s s; database $((db_bytes / 1048576)) MiB"

    # 3. Starts, acceptance, idle.
    local starts=() i
    for ((i = 1; i <= SCALE_STARTS; i++)); do
        scale_launch
        starts+=("$START_MS")
        log "start $i: ready in $START_MS ms"
        if ((i < SCALE_STARTS)); then stop_server; fi
    done
    local csv=$OUT/scale-rss-$DB-$n.csv sampler
    echo "t_s,vm_rss_kib,rss_anon_kib,rss_file_kib,vm_hwm_kib" >"$csv"
    (
        while kill -0 "$SERVER_PID" 2>/dev/null; do
            printf '%s,%s,%s,%s,%s\n' "$(python3 -c "print(round($(date +%s.%N) - $START_T, 1))")" \
                "$(status_kb "$SERVER_PID" VmRSS)" "$(status_kb "$SERVER_PID" RssAnon)" \
                "$(status_kb "$SERVER_PID" RssFile)" "$(status_kb "$SERVER_PID" VmHWM)" >>"$csv" 2>/dev/null || true
            sleep 5
        done
    ) &
    sampler=$!
    local start_json
    start_json=$(IFS=,; echo "[${starts[*]}]")
    python3 "$HERE/seed.py" verify "$(TURL)" "$WORK/scale-check.txt" >&2
    sleep 2
    IDLE_RSS_KB=$(status_kb "$SERVER_PID" VmRSS)
    local idle_anon idle_file c0 c1 since
    idle_anon=$(status_kb "$SERVER_PID" RssAnon)
    idle_file=$(status_kb "$SERVER_PID" RssFile)
    log "idle RSS 2 s after ready: $((IDLE_RSS_KB / 1024)) MiB (anon $((idle_anon / 1024)), file $((idle_file / 1024)))"
    local common
    common=$(python3 -c "import json,sys; print(json.dumps({
        'live_sessions': $n + 1, 'users': $SCALE_USERS, 'seed_s': $seed_s, 'db_mib': round($db_bytes / 1048576, 1),
        'start_ms': $start_json, 'start_ms_max': max($start_json),
        'fresh_idle_rss_mib': round($fresh_idle / 1024, 1), 'idle_rss_anon_mib': round($idle_anon / 1024, 1),
        'idle_rss_file_mib': round($idle_file / 1024, 1)}))")
    if ((SCALE_IDLE_S > 0)); then
        # PostgreSQL: its backends' CPU too (the count behind the sessions
        # gauge runs there, in parallel workers not counted here).
        local -A db0=()
        local pid db_ticks=0 t
        if [[ $DB == postgres ]]; then
            for pid in $(pg_pids); do db0[$pid]=$(cpu_ticks "$pid" 2>/dev/null || echo 0); done
        fi
        c0=$(cpu_ticks "$SERVER_PID")
        sleep "$SCALE_IDLE_S"
        c1=$(cpu_ticks "$SERVER_PID")
        if [[ $DB == postgres ]]; then
            for pid in $(pg_pids); do
                t=$(cpu_ticks "$pid" 2>/dev/null || echo 0)
                db_ticks=$((db_ticks + t - ${db0[$pid]:-0}))
            done
        fi
        python3 - "$common" <<PY | tee -a "$OUT/summary.txt"
import json, sys
r = {"scenario": "scale_idle", "server": "tessera", "backend": "$DB", "idle_s": $SCALE_IDLE_S,
     "idle_cpu_s": round(($c1 - $c0) / $TICK, 2), "idle_db_cpu_s": round($db_ticks / $TICK, 2) if "$DB" == "postgres" else None,
     "active_sessions_gauge": $(metric tessera_active_sessions),
     "idle_rss_mib": round($IDLE_RSS_KB / 1024, 1),
     "rss_after_idle_mib": round($(status_kb "$SERVER_PID" VmRSS) / 1024, 1),
     "peak_rss_mib": round($(status_kb "$SERVER_PID" VmHWM) / 1024, 1)}
r.update(json.loads(sys.argv[1]))
open("$OUT/results.jsonl", "a").write(json.dumps(r) + "\n")
print(f"tessera  $DB idle with {r['live_sessions']:,} sessions: starts {r['start_ms']} ms; "
      f"RSS {r['idle_rss_mib']} MiB at +2 s, {r['rss_after_idle_mib']} MiB after {r['idle_s']} s idle "
      f"(server CPU {r['idle_cpu_s']} s in it"
      + (f", PostgreSQL backends {r['idle_db_cpu_s']} s" if r["idle_db_cpu_s"] is not None else "")
      + f"), peak {r['peak_rss_mib']} MiB; seeded in {r['seed_s']} s, "
      f"database {r['db_mib']} MiB; gauge tessera_active_sessions {r['active_sessions_gauge']:.0f}")
PY
    fi

    # 4. Refresh runs: hot, then wide (distinct sessions).
    head -n "$SESSIONS" "$WORK/scale-pool.txt" >"$WORK/refresh.txt"
    since=$(python3 -c "print(round($(date +%s.%N) - $START_T, 1))")
    refresh_run scale_refresh_hot "$CONNS" "$SCALE_DURATION" 0
    scale_perf_rename scale_refresh_hot "$n"
    scale_annotate "$(python3 -c "import json,sys; r = json.loads(sys.argv[1]); r.update(pool=$SESSIONS, since_start_s=$since); print(json.dumps(r))" "$common")"
    tail -n +"$((SESSIONS + 1))" "$WORK/scale-pool.txt" >"$WORK/refresh.txt"
    since=$(python3 -c "print(round($(date +%s.%N) - $START_T, 1))")
    refresh_run scale_refresh_wide "$CONNS" "$SCALE_DURATION" 0
    scale_perf_rename scale_refresh_wide "$n"
    python3 "$HERE/seed.py" logins "$(TURL)" "$WORK/scale-check.txt" "$PASSWORD" 8 >&2
    sleep 1
    scale_annotate "{\"rss_after_logins_mib\": $(($(status_kb "$SERVER_PID" VmRSS) / 1024)), \"peak_rss_after_logins_mib\": $(($(status_kb "$SERVER_PID" VmHWM) / 1024))}"
    scale_annotate "$(python3 -c "import json,sys; r = json.loads(sys.argv[1]); r.update(pool=$SCALE_POOL, since_start_s=$since); print(json.dumps(r))" "$common")"
    # 5. A restart after the load, timed too: SQLite reads back whatever WAL
    # the stop left behind before the first query.
    local wal_run=0 wal_stop=0
    [[ $DB == sqlite ]] && wal_run=$(stat -c %s "$target-wal" 2>/dev/null || echo 0)
    stop_server
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    [[ $DB == sqlite ]] && wal_stop=$(stat -c %s "$target-wal" 2>/dev/null || echo 0)
    scale_launch
    log "restart after the runs: ready in $START_MS ms (WAL $((wal_run / 1048576)) MiB after the runs, $((wal_stop / 1048576)) MiB after the stop)"
    python3 - "$common" <<PY | tee -a "$OUT/summary.txt"
import json, sys
c = json.loads(sys.argv[1])
r = {"scenario": "scale_restart", "server": "tessera", "backend": "$DB", "live_sessions": c["live_sessions"],
     "restart_ms": $START_MS, "wal_after_runs_mib": round($wal_run / 1048576, 1),
     "wal_after_stop_mib": round($wal_stop / 1048576, 1)}
open("$OUT/results.jsonl", "a").write(json.dumps(r) + "\n")
print(f"tessera  $DB restart after the runs with {r['live_sessions']:,} sessions: ready in {r['restart_ms']} ms"
      + (f" (WAL {r['wal_after_runs_mib']} MiB after the runs, {r['wal_after_stop_mib']} MiB left by the stop)"
         if "$DB" == "sqlite" else ""))
PY
    stop_server
}

# scale_verdicts: the issue's three checks on this backend, from the records.
scale_verdicts() {
    python3 - "$OUT/results.jsonl" "$DB" <<'PY' | tee -a "$OUT/summary.txt"
import json, sys
path, db = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(path) if l.strip()]
runs = [r for r in rows if r.get("backend") == db and r.get("scenario", "").startswith("scale_refresh_")]
if not runs:
    sys.exit(0)
sizes = sorted({r["live_sessions"] for r in runs})
small, big = sizes[0], sizes[-1]
def last(kind, n):
    c = [r for r in runs if r["scenario"] == kind and r["live_sessions"] == n]
    return c[-1] if c else None
out = {"scenario": "scale_verdict", "server": "tessera", "backend": db, "small": small, "big": big}
lines = [f"scale verdicts, {db}: {big:,} live sessions against {small:,}"]
ok_all = True
keys = ["per_core_rps"] + (["per_core_rps_incl_db"] if db == "postgres" else [])
for kind in ("scale_refresh_hot", "scale_refresh_wide"):
    a, b = last(kind, small), last(kind, big)
    if not (a and b):
        continue
    for k in keys:
        fall = 1 - b[k] / a[k]
        ok = fall < 0.10 and a["errors"] == 0 and b["errors"] == 0
        ok_all &= ok
        out[f"{kind}_{k}_fall"] = round(fall, 4)
        what = "per server CPU s" if k == "per_core_rps" else "per CPU s incl. PostgreSQL"
        lines.append(f"  refresh {kind[14:]:4} {what:26}: {a[k]:>8,.1f} -> {b[k]:>8,.1f}  "
                     f"change {-fall:+.1%} (fall < 10 %: {'yes' if ok else 'NO'}); "
                     f"req/s {a['rps']:,.0f} -> {b['rps']:,.0f}, errors {a['errors']}/{b['errors']}")
big_runs = [r for r in runs if r["live_sessions"] == big]
idle = max(r["idle_rss_mib"] for r in big_runs)
peak = max(r["peak_rss_mib"] for r in big_runs)
after = big_runs[-1]["rss_after_mib"]
out.update(idle_rss_mib=idle, peak_rss_mib=peak, rss_after_mib=after)
rss = (f"RSS at {big:,}: {idle} MiB 2 s after start, {after} MiB after the runs, "
       f"peak (VmHWM, start included) {peak} MiB")
logins = big_runs[-1].get("rss_after_logins_mib")
out["rss_after_logins_mib"] = logins
if db == "sqlite":
    ok = idle < 64 and peak < 64
    ok_all &= ok
    lines.append(f"  {rss} (< 64 MiB: {'yes' if ok else 'NO'})")
    if logins is not None:
        ok = logins < 64
        ok_all &= ok
        lines.append(f"  RSS at {big:,} after 8 logins (Argon2 buffers kept): {logins} MiB "
                     f"(< 64 MiB: {'yes' if ok else 'NO'})")
else:
    lines.append(f"  {rss}; after 8 logins {logins} MiB (no target on PostgreSQL)")
restarts = [r for r in rows if r.get("backend") == db and r.get("scenario") == "scale_restart"]
for n in sizes:
    st = max(max(r["start_ms"]) for r in runs if r["live_sessions"] == n)
    ok = st < 1000
    ok_all &= ok
    out[f"start_ms_max_{n}"] = st
    line = f"  start at {n:,}: slowest of {len(runs[0]['start_ms'])} starts {st} ms (< 1 s: {'yes' if ok else 'NO'})"
    rs = [r for r in restarts if r["live_sessions"] == n]
    if rs:
        rr = rs[-1]["restart_ms"]
        ok = rr < 1000
        ok_all &= ok
        out[f"restart_ms_{n}"] = rr
        line += f"; after the runs {rr} ms (< 1 s: {'yes' if ok else 'NO'})"
    lines.append(line)
out["verdict"] = "pass" if ok_all else "FAIL"
lines.append(f"  overall: {out['verdict']}")
open(path, "a").write(json.dumps(out) + "\n")
print("\n".join(lines))
PY
}

sc_scale() {
    local n sizes
    read -r -a sizes <<<"$SCALE_SIZES"
    for n in "${sizes[@]}"; do scale_one "$n"; done
    scale_verdicts
}
