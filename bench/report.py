#!/usr/bin/env python3
"""Markdown tables from a bench/run.sh results directory (results.jsonl)."""

import json
import sys
from pathlib import Path

out = Path(sys.argv[1])
rows = [json.loads(l) for l in (out / "results.jsonl").read_text().splitlines() if l.strip()]
machine = (out / "machine.txt").read_text() if (out / "machine.txt").exists() else ""

TARGETS = {  # per core of server CPU, SQLite, ES256 (issue 8)
    "refresh": 3000, "me": 20000, "client_credentials": 5000, "login": 35,
}


def f(v, nd=1):
    return "–" if v is None else (f"{v:,.{nd}f}" if isinstance(v, float) else f"{v:,}")


print(f"Results from `{out.name}`\n")
print("```\n" + machine.strip() + "\n```\n")

wrk = [r for r in rows if "rps" in r]
if wrk:
    print("| server | backend | scenario | conns | requests | req/s | p50 ms | p99 ms | p99.9 ms "
          "| errors | server CPU s | CPU s / 1000 req | **req per server CPU s** | PG backends CPU s | req per CPU s incl. PG "
          "| idle RSS MiB | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in wrk:
        name = r["scenario"]
        if r.get("delay_ms"):
            name += f" (paced {r['delay_ms']} ms/conn)"
        print(f"| {r['server']} | {r['backend']} | {name} | {r['conns']} | {r['requests']:,} "
              f"| {f(r['rps'])} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['p999_ms']:.2f} "
              f"| {r['errors']} | {r['server_cpu_s']:.2f} | {f(r['cpu_s_per_1000'], 3)} "
              f"| **{f(r['per_core_rps'])}** | {f(r.get('db_cpu_s'), 2)} | {f(r.get('per_core_rps_incl_db'))} "
              f"| {r['idle_rss_mib']} | {r['peak_rss_mib']} |")
    print()
    rot = [r for r in wrk if "server_rotated" in r]
    if rot:
        print("Refresh runs, the server's own counters: " + "; ".join(
            f"{r['server']}/{r['backend']}/{r['scenario']}: rotated {r['server_rotated']:,}"
            + (f", grace replays {r['server_grace_replays']}" if "server_grace_replays" in r else "")
            for r in rot) + ".\n")

argon = [r for r in rows if r.get("scenario") == "argon2_raw"]
if argon:
    print("| raw Argon2id (m KiB, t, p) | threads | hashes | wall s | CPU s | hashes/s | hashes per CPU s | CPU ms/hash |")
    print("|---|---|---|---|---|---|---|---|")
    for r in argon:
        print(f"| {r['m_kib']}, {r['t']}, {r['p']} | {r['threads']} | {r['hashes']} | {r['wall_s']:.1f} "
              f"| {r['cpu_s']:.2f} | {r['per_s']:.1f} | {r['per_cpu_s']:.1f} | {r['ms_cpu_per_hash']:.2f} |")
    print()


def best(server, backend, scenario):
    c = [r for r in wrk if r["server"] == server and r["backend"] == backend and r["scenario"] == scenario]
    return c[-1] if c else None


if wrk or argon:
    print("| target (per server CPU second, SQLite, ES256) | target | measured | met? |")
    print("|---|---|---|---|")
for sc, tgt in TARGETS.items():
    r = best("tessera", "sqlite", sc)
    if r:
        v = r["per_core_rps"]
        ok = v is not None and v >= tgt and r["errors"] == 0
        print(f"| {sc} | {tgt:,}/s | {f(v)}/s | {'yes' if ok else 'NO'} |")
raw1 = [r for r in argon if r["threads"] == 1]
for backend in ("sqlite", "postgres"):
    lr = best("tessera", backend, "login")
    if lr and raw1 and lr["per_core_rps"]:
        print(f"| login ({backend}) as a share of the raw Argon2id rate per CPU second "
              f"({raw1[-1]['per_cpu_s']:.1f}/s) | – | {lr['per_core_rps'] / raw1[-1]['per_cpu_s'] * 100:.0f}% | – |")
lat = [r for r in wrk if r["server"] == "tessera" and r["backend"] == "sqlite" and r.get("delay_ms")]
for r in lat:
    print(f"| refresh p99 at ~50% of peak ({r['rps']:.0f}/s) | < 10 ms | {r['p99_ms']:.2f} ms "
          f"| {'yes' if r['p99_ms'] < 10 and r['errors'] == 0 else 'NO'} |")
idle = [r["idle_rss_mib"] for r in wrk if r["server"] == "tessera" and "fresh_idle_rss_mib" not in r]
if idle:
    print(f"| idle RSS (fresh server) | < 30 MB | {max(idle)} MiB (max over runs) | {'yes' if max(idle) * 1.048576 < 30 else 'NO'} |")
for r in [r for r in wrk if "live_sessions" in r]:
    worst = max(r["idle_rss_mib"], r["peak_rss_mib"])
    print(f"| RSS at {r['live_sessions']:,} live sessions ({r['backend']}) | < 100 MB "
          f"| idle {r['idle_rss_mib']} MiB, peak {r['peak_rss_mib']} MiB during a refresh run over them "
          f"| {'yes' if worst * 1.048576 < 100 else 'NO'} |")
print()

peer = [r for r in wrk if r["server"] in ("oidc-provider", "glewlwyd")]
if peer:
    print("| scenario | Tessera per CPU s (backend) | peer | peer per CPU s (backend) | ratio |")
    print("|---|---|---|---|---|")
    for p in peer:
        for backend in ("sqlite", "postgres"):
            t = best("tessera", backend, p["scenario"])
            if t and t["per_core_rps"] and p["per_core_rps"]:
                print(f"| {p['scenario']} | {f(t['per_core_rps'])} ({backend}) | {p['server']} "
                      f"| {f(p['per_core_rps'])} ({p['backend']}) | {t['per_core_rps'] / p['per_core_rps']:.1f}× |")
    print()

soak = [r for r in rows if r.get("scenario") == "soak"]
if soak:
    print("| soak (no scraper) | backend | s | /v1/me | refreshes | registrations + logins | errors "
          "| anonymous RSS, first third → last third (MiB) | growth | RSS start → end (MiB) | verdict |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in soak:
        print(f"| soak | {r['backend']} | {r['duration_s']} | {r['me_requests']:,} | {r['refresh_requests']:,} "
              f"| {r['churn_registrations']} + {r['churn_logins']} | {r['errors']} "
              f"| {r['anon_first_third_mib']} → {r['anon_last_third_mib']} | {r['anon_growth']:+.1%} "
              f"| {r['rss_start_mib']} → {r['rss_end_mib']} | {r['verdict']} |")
    print("\nRSS samples every 10 s: `soak-<backend>.csv` beside this file.\n")

scale = [r for r in rows if str(r.get("scenario", "")).startswith("scale_")]
if scale:
    print("| scale (issue 22) | backend | live sessions | seeded in s | starts ms | restart after the runs ms "
          "| WAL after the runs MiB | RSS +2 s MiB | idle CPU s (PG backends) | refresh hot per CPU s "
          "| refresh wide per CPU s | peak RSS MiB | RSS after 8 logins MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for idle in [r for r in scale if r["scenario"] == "scale_idle"]:
        same = [r for r in scale if r["backend"] == idle["backend"] and r.get("live_sessions") == idle["live_sessions"]]
        get = lambda sc: next((r for r in reversed(same) if r["scenario"] == sc), None)
        hot, wide, rst = get("scale_refresh_hot"), get("scale_refresh_wide"), get("scale_restart")
        def rate(r):
            if not r:
                return "–"
            s = f(r["per_core_rps"])
            return s + (f" ({f(r['per_core_rps_incl_db'])} incl. PG)" if r.get("per_core_rps_incl_db") else "")
        db_cpu = f" ({idle['idle_db_cpu_s']})" if idle.get("idle_db_cpu_s") is not None else ""
        peak = max([r["peak_rss_mib"] for r in (hot, wide) if r] or [idle["peak_rss_mib"]])
        print(f"| {idle['idle_s']} s idle | {idle['backend']} | {idle['live_sessions']:,} | {idle['seed_s']} "
              f"| {', '.join(str(s) for s in idle['start_ms'])} | {rst['restart_ms'] if rst else '–'} "
              f"| {rst['wal_after_runs_mib'] if rst and idle['backend'] == 'sqlite' else '–'} "
              f"| {idle['idle_rss_mib']} | {idle['idle_cpu_s']}{db_cpu} | {rate(hot)} | {rate(wide)} | {peak} "
              f"| {(wide or {}).get('rss_after_logins_mib', '–')} |")
    print()
    for v in [r for r in scale if r["scenario"] == "scale_verdict"]:
        print(f"- {v['backend']}: {v['verdict']} ({v['big']:,} against {v['small']:,} sessions; "
              + ", ".join(f"{k} {v[k]}" for k in v if k.endswith("_fall") or k.startswith(("start_ms_max", "restart_ms")))
              + f"; peak RSS {v['peak_rss_mib']} MiB)")
    print()
