//! Prints the raw Argon2id verification rate at the given parameters, on one
//! thread and on `workers` threads, as hashes per second of wall time and per
//! CPU second of this process.
//!
//! Usage: argon2-rate [memory_kib iterations parallelism workers seconds]
//! (defaults: Tessera's defaults 19456 2 1, 2 workers, 10 s).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::time::{Duration, Instant};

fn cpu_seconds() -> f64 {
    // utime + stime of this process, in clock ticks (USER_HZ = 100 on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}

fn run(argon: &Argon2<'static>, hash: &str, threads: usize, secs: f64) -> (u64, f64, f64) {
    let (c0, t0) = (cpu_seconds(), Instant::now());
    let deadline = t0 + Duration::from_secs_f64(secs);
    let total: u64 = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let parsed = PasswordHash::new(hash).expect("hash parses");
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        assert!(argon
                            .verify_password(b"correct horse battery staple", &parsed)
                            .is_ok());
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().expect("thread")).sum()
    });
    (total, t0.elapsed().as_secs_f64(), cpu_seconds() - c0)
}

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, d: f64| a.get(i).and_then(|v| v.parse().ok()).unwrap_or(d);
    let (m, t, p) = (arg(0, 19456.0) as u32, arg(1, 2.0) as u32, arg(2, 1.0) as u32);
    let workers = arg(3, 2.0) as usize;
    let secs = arg(4, 10.0);
    let params = Params::new(m, t, p, None).expect("params");
    let argon: Argon2<'static> = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = SaltString::encode_b64(b"0123456789abcdef").expect("salt");
    let hash = argon
        .hash_password(b"correct horse battery staple", &salt)
        .expect("hash")
        .to_string();
    for threads in [1, workers] {
        let (n, wall, cpu) = run(&argon, &hash, threads, secs);
        println!(
            "{{\"m_kib\":{m},\"t\":{t},\"p\":{p},\"threads\":{threads},\"hashes\":{n},\
             \"wall_s\":{wall:.3},\"cpu_s\":{cpu:.3},\"per_s\":{:.2},\"per_cpu_s\":{:.2},\
             \"ms_cpu_per_hash\":{:.2}}}",
            n as f64 / wall,
            n as f64 / cpu,
            cpu * 1000.0 / n as f64
        );
    }
}
