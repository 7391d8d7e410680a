//! A large file through `privicore store` and `privicore retrieve -o`, byte-identical, with
//! the peak memory of each process.
//!
//! 100 MiB in a release build (`cargo test --release -p privicore-cli large`); 16 MiB in a
//! debug build, where unoptimised AES would make 100 MiB take minutes.
//! `PRIVICORE_CLI_LARGE_MIB` overrides the size (`.ci/run` uses 256 in a release build).
//!
//! The peak bound does not grow with the payload: a CLI that streams holds a few buffers
//! whatever the size, so at 256 MiB a CLI that buffers the payload (or its ciphertext) is
//! caught by a margin of eight.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Mock, PASSWORD, key};

fn size_mib() -> u64 {
    std::env::var("PRIVICORE_CLI_LARGE_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) { 16 } else { 100 })
}

#[test]
fn a_large_file_round_trips_in_bounded_memory() {
    let mock = Mock::start();
    mock.provision("large-user");
    let key = key();
    let mib = size_mib();
    let size = mib << 20;
    let original = mock.path("large.bin");
    write_noise(&original, size);
    let back = mock.path("large.back");

    let store = measure(&mock, &key, &["store".as_ref(), original.as_os_str()]);
    assert!(store.ok, "store failed: {}", store.stderr);
    let token = store.stdout.trim().to_owned();
    let retrieve = measure(
        &mock,
        &key,
        &[
            "retrieve".as_ref(),
            token.as_ref(),
            "-o".as_ref(),
            back.as_os_str(),
        ],
    );
    assert!(retrieve.ok, "retrieve failed: {}", retrieve.stderr);
    assert!(
        same_contents(&original, &back),
        "the file came back different"
    );

    println!(
        "{mib} MiB: store {:.1} s, peak RSS {} MiB; retrieve {:.1} s, peak RSS {} MiB",
        store.took.as_secs_f64(),
        store.peak_kib / 1024,
        retrieve.took.as_secs_f64(),
        retrieve.peak_kib / 1024
    );
    // Streaming in both directions: the peak stays far below the payload size.
    let bound_kib = PEAK_BOUND_MIB * 1024;
    #[cfg(target_os = "linux")]
    {
        assert!(store.peak_kib > 0 && retrieve.peak_kib > 0, "no VmHWM read");
        assert!(
            store.peak_kib < bound_kib,
            "store peak {} KiB is over the {PEAK_BOUND_MIB} MiB bound",
            store.peak_kib
        );
        assert!(
            retrieve.peak_kib < bound_kib,
            "retrieve peak {} KiB is over the {PEAK_BOUND_MIB} MiB bound",
            retrieve.peak_kib
        );
        println!("both peaks are under the {PEAK_BOUND_MIB} MiB bound");
    }
    let _ = bound_kib;
}

/// The most either process may hold at its peak (`VmHWM`), whatever the payload size.
const PEAK_BOUND_MIB: u64 = 32;

struct Measured {
    ok: bool,
    stdout: String,
    stderr: String,
    took: Duration,
    /// The child's peak resident set (`VmHWM`), KiB; 0 where `/proc` is absent.
    peak_kib: u64,
}

/// Runs the binary, sampling its `VmHWM` until it exits (the high-water mark only grows, so
/// the last sample is the peak up to a few milliseconds before exit).
fn measure(mock: &Mock, key: &str, args: &[&std::ffi::OsStr]) -> Measured {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_privicore"))
        .args(args)
        .env("PRIVICORE_API_URL", mock.server.api_url())
        .env("PRIVICORE_WS_URL", mock.server.ws_url())
        .env("PRIVICORE_USERNAME", "large-user")
        .env("PRIVICORE_PASSWORD", PASSWORD)
        .env("PRIVICORE_VAULT_KEY", key)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0;
    // Drain the pipes on threads so the child never blocks on a full pipe.
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file)
            && let Some(kib) = vm_hwm(&text)
        {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(600), "too slow");
        std::thread::sleep(Duration::from_millis(5));
    };
    Measured {
        ok: status.success(),
        stdout: out.join().expect("stdout thread"),
        stderr: err.join().expect("stderr thread"),
        took: started.elapsed(),
        peak_kib,
    }
}

fn vm_hwm(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn write_noise(path: &Path, size: u64) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut left = size;
    let mut chunk = vec![0u8; 1 << 20];
    while left > 0 {
        for word in chunk.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes()[..word.len()]);
        }
        let n = left.min(chunk.len() as u64) as usize;
        file.write_all(&chunk[..n]).expect("write");
        left -= n as u64;
    }
    file.flush().expect("flush");
}

fn same_contents(a: &Path, b: &Path) -> bool {
    let mut a = std::io::BufReader::new(std::fs::File::open(a).expect("open"));
    let mut b = std::io::BufReader::new(std::fs::File::open(b).expect("open"));
    let (mut x, mut y) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = read_full(&mut a, &mut x);
        let m = read_full(&mut b, &mut y);
        if n != m || x[..n] != y[..m] {
            return false;
        }
        if n == 0 {
            return true;
        }
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> usize {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]).expect("read") {
            0 => break,
            n => filled += n,
        }
    }
    filled
}
