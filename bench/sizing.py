#!/usr/bin/env python3
"""The README's cost model from recorded runs: CPU milliseconds per 1,000
logins, refreshes, code exchanges and `GET /v1/me` calls on each backend
(PostgreSQL: Tessera's CPU plus the database's), and memory and disk per
100,000 live sessions (from the `scale` runs: what 990,000 more sessions
added, scaled to 100,000).

    python3 bench/sizing.py <results dir> [<results dir> ...]   # Markdown on stdout
"""
import json
import sys

SCENARIOS = [
    ("login", "login (Argon2id, m=19 MiB, t=2)"),
    ("refresh", "refresh (`POST /v1/auth/refresh`)"),
    ("oauth_refresh", "refresh at `/oauth2/token` (client authenticated)"),
    ("code_exchange", "code exchange (PKCE, ID token)"),
    ("client_credentials", "client credentials"),
    ("me", "`GET /v1/me` (Bearer)"),
]


def rows(dirs):
    out = []
    for d in dirs:
        with open(f"{d}/results.jsonl") as f:
            out += [json.loads(l) for l in f if l.strip()]
    return out


def cpu_ms_per_1000(r):
    cpu = r["server_cpu_s"] + (r.get("db_cpu_s") or 0)
    return cpu / r["requests"] * 1e6 if r.get("requests") else None


def main():
    data = [r for r in rows(sys.argv[1:]) if r.get("server") == "tessera"]
    print("| per 1,000 requests | SQLite: CPU ms | PostgreSQL: CPU ms (Tessera + database) |")
    print("|---|---|---|")
    for sc, label in SCENARIOS:
        cells = []
        for backend in ("sqlite", "postgres"):
            runs = [r for r in data if r["scenario"] == sc and r["backend"] == backend]
            if not runs:
                cells.append("–")
                continue
            r = runs[-1]
            ms = cpu_ms_per_1000(r)
            if backend == "postgres" and r.get("db_cpu_s") is not None:
                own = r["server_cpu_s"] / r["requests"] * 1e6
                cells.append(f"{ms:,.0f} ({own:,.0f} + {ms - own:,.0f})")
            else:
                cells.append(f"{ms:,.0f}")
        print(f"| {label} | {cells[0]} | {cells[1]} |")
    print()
    print("| per 100,000 live sessions | SQLite | PostgreSQL |")
    print("|---|---|---|")
    mem, disk = [], []
    for backend in ("sqlite", "postgres"):
        idle = {}
        size = {}
        for r in data:
            if r["backend"] == backend and r.get("live_sessions") and r["scenario"].startswith("scale_refresh"):
                idle[r["live_sessions"]] = r.get("idle_rss_mib")
                size[r["live_sessions"]] = r.get("db_mib")
        if len(idle) >= 2:
            lo, hi = min(idle), max(idle)
            per = (hi - lo) / 100_000
            mem.append(f"{(idle[hi] - idle[lo]) / per:+.1f} MiB of server RSS "
                       f"({idle[lo]} MiB at {lo:,}, {idle[hi]} MiB at {hi:,})")
            disk.append(f"{(size[hi] - size[lo]) / per:.1f} MiB of database "
                        f"({size[hi]} MiB at {hi:,})" if size[hi] and size[lo] else "–")
        else:
            mem.append("–")
            disk.append("–")
    print(f"| memory | {mem[0]} | {mem[1]} |")
    print(f"| disk | {disk[0]} | {disk[1]} |")


if __name__ == "__main__":
    main()
