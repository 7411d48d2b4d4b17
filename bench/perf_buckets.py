#!/usr/bin/env python3
"""Sums a `perf report --stdio --no-children --sort dso,symbol` profile into
buckets (where a request's CPU goes), for comparing profiles before and
after a change.

    perf report -i perf.data --stdio --no-children --sort dso,symbol -g none \
        --percent-limit 0 | python3 bench/perf_buckets.py
"""
import re
import sys

BUCKETS = [
    ("kernel: scheduler, futex, wake-ups", r"\[k\].*(finish_task_switch|schedule|spin_unlock|futex|try_to_wake|wake_up|select_task|enqueue|dequeue|update_curr|irqentry_exit|psi_|ttwu|pick_next|switch_mm|__switch_to|native_sched|cpuacct|update_load)"),
    ("kernel: network", r"\[k\].*(tcp|ip_|sock|skb|net_|__dev_queue|loopback|inet|epoll|ep_)"),
    ("kernel: files (WAL, database)", r"\[k\].*(ext4|jbd2|block_|filemap|folio|copy_to_iter|copy_from_iter|vfs_|generic_perform|pwrite|pread|fcntl|posix_lock|locks_)"),
    ("kernel: other", r"\[k\]"),
    ("SQLite", r"(sqlite3|wal[A-Z]|pcache|btree|vdbe|Vdbe|pager|unixRead|unixWrite|unixLock|unixFile|sqlite)"),
    ("crypto (aws-lc)", r"(aws_lc|ecp_nistz|beeu|sha256|sha512|bn_|BN_|ecdsa|EC_|p256|gcm|aes|hmac|HMAC)"),
    ("malloc / free", r"(malloc|_int_free|cfree|free@|unlink_chunk|consolidate|realloc|calloc|tcache|arena)"),
    ("memcpy / memset", r"(memmove|memcpy|memset|memcmp|strlen)"),
    ("libc: locks, syscalls", r"(pthread_|__lll_|syscall|__libc_|epoll_wait|__GI_)"),
]


def main():
    totals = {name: 0.0 for name, _ in BUCKETS}
    totals["Tessera, Rust libraries (tokio, hyper, sqlx, serde …)"] = 0.0
    for line in sys.stdin:
        m = re.match(r"\s*([\d.]+)%\s+(.*)$", line)
        if not m:
            continue
        pct, rest = float(m.group(1)), m.group(2)
        for name, pattern in BUCKETS:
            if re.search(pattern, rest):
                totals[name] += pct
                break
        else:
            totals["Tessera, Rust libraries (tokio, hyper, sqlx, serde …)"] += pct
    for name, pct in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"{pct:6.1f}%  {name}")


if __name__ == "__main__":
    main()
