//! The real binary under a sign-in flood: 256 concurrent wrong passwords must leave the server's
//! memory (RSS, from /proc) within 100 MiB of where it started. Before the bounded hashing pool,
//! each attempt hashed on its own blocking thread and the server grew to 6.7 GiB.

mod common;

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// One sign-in over a plain HTTP/1.1 connection; returns the status code.
fn sign_in(addr: &str, email: &str, password: &str) -> u16 {
    let body = format!(r#"{{"email":"{email}","password":"{password}"}}"#);
    common::http_status(
        addr,
        "POST /api/login HTTP/1.1\r\nContent-Type: application/json",
        &body,
    )
}

#[test]
fn concurrent_wrong_sign_ins_leave_memory_flat() {
    // The per-address sign-in and connection limits would refuse most of the flood before
    // hashing; off, so the bounded hashing pool alone is what keeps memory flat.
    let server = common::start(&[
        ("FRONTDESK_LIMITS_SIGN_INS_PER_ADDRESS", "0"),
        ("FRONTDESK_LIMITS_CONNECTIONS_PER_ADDRESS", "0"),
    ]);
    let pid = server.child.id();
    // Where it started: no sign-in yet, so the hashing threads' memory counts as growth.
    let before = rss_kib(pid);
    // Sample the server's memory every few milliseconds while the flood lasts.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(rss_kib(pid));
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            peak
        })
    };
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(256));
    let threads: Vec<_> = (0..256)
        .map(|i| {
            let addr = server.addr.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                sign_in(&addr, &format!("stranger{i}@example.com"), "wrong-password")
            })
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let after = rss_kib(pid);
    let peak = sampler.join().unwrap().max(after).max(before);
    let refused = statuses.iter().filter(|&&s| s == 429).count();
    let wrong = statuses.iter().filter(|&&s| s == 401).count();
    assert_eq!(refused + wrong, 256, "every attempt answered: {statuses:?}");
    assert!(wrong >= 2, "some attempts were really checked");
    let grew_mib = (peak.saturating_sub(before)) / 1024;
    eprintln!(
        "RSS before {} MiB, peak {} MiB, after {} MiB; {wrong} checked, {refused} refused (429)",
        before / 1024,
        peak / 1024,
        after / 1024
    );
    assert!(
        grew_mib <= 100,
        "memory grew by {grew_mib} MiB under 256 concurrent sign-ins"
    );
}
