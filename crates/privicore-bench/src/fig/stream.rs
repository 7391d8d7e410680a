//! Figure 3: a large payload stored and retrieved through the stream path, and the SDK's peak
//! memory while doing it.
//!
//! The mock runs as a separate process (the `privicore-mock` binary): it holds every payload
//! in memory, which must not count as the client's. Each side runs in a child process of its
//! own, one per round, so that its peak resident memory (`VmHWM`) is its own too.
//!
//! SDK: `vault.store_reader` then `vault.retrieve_to_writer_unverified` (AES-256-GCM on the way up and
//! down, in 64 KiB chunks). Baseline (`stream_roundtrip`): the same protocol steps by hand,
//! uploading and downloading the same plaintext bytes as a raw stream, unencrypted; so that
//! ratio includes the encryption itself (figure 4 measures it alone). A second baseline
//! (`stream_roundtrip_encrypting_baseline`) does the same work as the SDK the simplest way:
//! `aes-gcm` on the whole payload in memory, one upload, one download into memory. Its
//! memory grows with the payload; the SDK's must not.

use std::time::{Duration, Instant};

use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes256Gcm, KeyInit};
use bytes::Bytes;
use futures::TryStreamExt;
use privicore::cipher::{IV_LEN, TAG_LEN};
use privicore::{StoreOptions, VaultKey};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::fig::{Ctx, client_runtime, store};
use crate::measure::{Pairs, median};
use crate::mock::Child;
use crate::payload::{self, Pattern, Verify};
use crate::raw::{Ack, Raw, Temporary, Urls};
use crate::report::{Figure, Target};
use crate::{Result, machine, sdk};

const MIB: u64 = 1024 * 1024;
/// What encryption adds to a payload: the IV and the tag.
const OVERHEAD: u64 = privicore::cipher::OVERHEAD as u64;
/// The baseline's upload chunk: the SDK encrypts and sends 64 KiB at a time.
const CHUNK: usize = privicore::cipher::STREAM_CHUNK_LEN;
/// The child-process sides: the SDK, raw streaming, aes-gcm in memory.
const SIDES: [&str; 3] = ["stream-sdk", "stream-raw", "stream-raw-gcm"];

/// What one side's child process reports.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct Side {
    store_s: f64,
    retrieve_s: f64,
    /// CPU seconds (user + system) of this side's process, and of the mock process, during
    /// each phase: where the time went, and how much of the two cores was left idle.
    store_cpu_s: Cpu,
    retrieve_cpu_s: Cpu,
    peak_rss_kib: u64,
}

/// CPU seconds used during one phase.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
struct Cpu {
    client: f64,
    mock: f64,
}

/// A phase's wall time and CPU time, measured from [`Phase::start`] to [`Phase::end`].
struct Phase<'a> {
    started: Instant,
    client: f64,
    mock: f64,
    mock_pid: &'a str,
}

impl<'a> Phase<'a> {
    fn start(mock_pid: &'a str) -> Self {
        Self {
            client: machine::cpu_seconds("self").unwrap_or(0.0),
            mock: machine::cpu_seconds(mock_pid).unwrap_or(0.0),
            mock_pid,
            started: Instant::now(),
        }
    }

    fn end(self) -> (f64, Cpu) {
        let wall = self.started.elapsed().as_secs_f64();
        let cpu = Cpu {
            client: machine::cpu_seconds("self").unwrap_or(0.0) - self.client,
            mock: machine::cpu_seconds(self.mock_pid).unwrap_or(0.0) - self.mock,
        };
        (wall, cpu)
    }
}

/// What one side measured, before its peak memory is known.
struct Timings {
    store: (f64, Cpu),
    retrieve: (f64, Cpu),
}

impl Side {
    fn mib_per_s(&self, size: u64) -> f64 {
        2.0 * size as f64 / MIB as f64 / (self.store_s + self.retrieve_s)
    }
}

/// Measures the figure.
pub fn run(ctx: &Ctx) -> Result<Vec<Figure>> {
    let mut notes: Vec<String> = Vec::new();
    let mock = match ctx.paths.mock_binary() {
        Some(binary) => Child::spawn(&binary, &[])?,
        None => {
            notes.push("target/release/privicore-mock was not built; the same mock library ran as a child of this binary (--serve-mock)".into());
            Child::spawn(&ctx.paths.exe, &["--serve-mock"])?
        }
    };
    let wanted = ctx.pick(64 * MIB, 1024 * MIB);
    // A multiple of the three sides, so that each side runs first, second and third alike.
    let rounds = ctx.pick(3, 9);
    let (sdk_user, raw_user, size) = ctx.runtime.block_on(async {
        let client = sdk::client(&mock.api, &mock.ws)?;
        let (sdk_user, _) = sdk::provision(&client, "stream-sdk").await?;
        let (raw_user, _) = sdk::provision(&client, "stream-raw").await?;
        let mut raw = Raw::login(&mock.api, &raw_user, sdk::PASSWORD).await?;
        raw.connect_acks(&mock.ws).await?;
        // Only the full size can be over a mock's upload cap (it was 256 MiB for a while);
        // probing costs a few seconds when there is none, so quick mode does not.
        let cap = if ctx.quick {
            None
        } else {
            upload_cap(&raw, &Urls::new(&mock.api), wanted + OVERHEAD).await?
        };
        let size = match cap {
            Some(cap) => {
                notes.push(format!(
                    "the mock caps uploads at {cap} bytes ({} MiB): the payload is that less the {OVERHEAD} bytes of IV and tag, not the {} MiB asked for",
                    cap / MIB,
                    wanted / MIB
                ));
                cap.saturating_sub(OVERHEAD)
            }
            None => wanted,
        };
        Result::Ok((sdk_user, raw_user, size))
    })?;
    for note in &notes {
        eprintln!("privicore-bench: note: {note}");
    }

    let side = async |name: &str, user: &str| -> Result<Side> {
        let output = tokio::process::Command::new(&ctx.paths.exe)
            .args(["--child", name, "--api", &mock.api, "--ws", &mock.ws])
            .args(["--user", user, "--bytes", &size.to_string()])
            .args(["--mock-pid", &mock.pid().to_string()])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .output()
            .await?;
        if !output.status.success() {
            return Err(format!("the {name} child failed ({})", output.status).into());
        }
        let text = String::from_utf8_lossy(&output.stdout);
        let line = text.lines().last().unwrap_or_default();
        Ok(serde_json::from_str(line)
            .map_err(|e| format!("the {name} child printed `{line}`: {e}"))?)
    };
    // Three sides in rotation (the order shifts by one every round): the SDK, the raw
    // transfer the issue asks for, and a hand-written encrypting equivalent.
    let users = [&sdk_user, &raw_user, &raw_user];
    let mut samples: [Vec<Side>; 3] = Default::default();
    ctx.runtime.block_on(async {
        for round in 0..rounds {
            for k in 0..SIDES.len() {
                let i = (k + round) % SIDES.len();
                samples[i].push(side(SIDES[i], users[i]).await?);
            }
        }
        Result::Ok(())
    })?;
    let [sdk, raw, gcm] = samples;

    let rates = |sides: &[Side]| -> Vec<f64> { sides.iter().map(|s| s.mib_per_s(size)).collect() };
    let against_raw = Pairs {
        sdk: rates(&sdk),
        baseline: rates(&raw),
    };
    let against_gcm = Pairs {
        sdk: rates(&sdk),
        baseline: rates(&gcm),
    };
    let peak =
        |sides: &[Side]| sides.iter().map(|s| s.peak_rss_kib).max().unwrap_or(0) as f64 / 1024.0;
    let direction = |sides: &[Side], f: fn(&Side) -> f64| {
        size as f64 / MIB as f64 / median(sides.iter().map(f))
    };
    let directions = json!({
        "store_mib_per_s": {
            "sdk": direction(&sdk, |s| s.store_s),
            "raw": direction(&raw, |s| s.store_s),
            "aes_gcm_in_memory": direction(&gcm, |s| s.store_s),
        },
        "retrieve_mib_per_s": {
            "sdk": direction(&sdk, |s| s.retrieve_s),
            "raw": direction(&raw, |s| s.retrieve_s),
            "aes_gcm_in_memory": direction(&gcm, |s| s.retrieve_s),
        },
    });
    // Median CPU seconds per phase, and what the two cores had left: 2 x wall - used.
    let cpu = |sides: &[Side], wall: fn(&Side) -> f64, cpu: fn(&Side) -> Cpu| {
        let client = median(sides.iter().map(|s| cpu(s).client));
        let mock = median(sides.iter().map(|s| cpu(s).mock));
        let idle = median(
            sides
                .iter()
                .map(|s| 2.0 * wall(s) - cpu(s).client - cpu(s).mock),
        );
        json!({ "client": client, "mock": mock, "idle_of_two_cores": idle })
    };
    let cpu_s = json!({
        "store": {
            "sdk": cpu(&sdk, |s| s.store_s, |s| s.store_cpu_s),
            "raw": cpu(&raw, |s| s.store_s, |s| s.store_cpu_s),
        },
        "retrieve": {
            "sdk": cpu(&sdk, |s| s.retrieve_s, |s| s.retrieve_cpu_s),
            "raw": cpu(&raw, |s| s.retrieve_s, |s| s.retrieve_cpu_s),
        },
    });
    let detail = |what: &str| {
        json!({
            "what": what,
            "cpu_s_median": cpu_s,
            "payload_bytes": size,
            "payload_mib": size as f64 / MIB as f64,
            "rounds_per_side": rounds,
            "directions": directions,
            "sdk": sdk,
            "raw": raw,
            "aes_gcm_in_memory": gcm,
            "notes": notes,
        })
    };
    Ok(vec![
        Figure::rates(
            "stream_roundtrip",
            "MiB/s",
            &against_raw,
            Target::RatioAtMost { max: 1.25 },
        )
        // The headline figure: both ratios on its line, so neither can be picked afterwards.
        .showing_ratio_of_medians()
        .with_detail(detail("store then retrieve through the stream path: the SDK (encrypting, 64 KiB chunks) vs the same protocol steps by hand streaming the same plaintext unencrypted; each side in a child process per round, the privicore-mock binary in another")),
        Figure::rates(
            "stream_roundtrip_encrypting_baseline",
            "MiB/s",
            &against_gcm,
            Target::None,
        )
        .with_detail(detail("as stream_roundtrip, against a hand-written equivalent that encrypts: the whole payload in memory with aes-gcm, uploaded as one body, downloaded into memory and decrypted in place")),
        Figure::cost(
            "stream_peak_memory",
            "MiB",
            peak(&sdk),
            peak(&raw),
            Target::ValueBelow { max: 64.0 },
        )
        .with_detail(json!({
            "what": "peak resident memory (VmHWM) of each side's child process, highest of its rounds, against the raw streaming baseline; the mock's memory is not included",
            "payload_bytes": size,
            "sdk_kib": sdk.iter().map(|s| s.peak_rss_kib).collect::<Vec<_>>(),
            "raw_kib": raw.iter().map(|s| s.peak_rss_kib).collect::<Vec<_>>(),
            "aes_gcm_in_memory_kib": gcm.iter().map(|s| s.peak_rss_kib).collect::<Vec<_>>(),
        })),
    ])
}

/// The mock's upload limit, if `declared` bytes is over it.
///
/// A reservation's upload is announced with `Content-Length: declared` and a body that never
/// comes: a mock with a limit refuses at once (`422 stream.too_large`, naming the limit); one
/// without keeps waiting for the body, and the probe gives up after a few seconds.
async fn upload_cap(raw: &Raw, urls: &Urls, declared: u64) -> Result<Option<u64>> {
    let id = raw
        .command(&urls.reserve, &[("context", "probe"), ("ttl", "5")])
        .await?;
    let temporary: Temporary = raw
        .get(&format!("{}{id}", urls.temporary))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let url = temporary
        .stream
        .ok_or("the temporary token came without a stream URI")?;
    let never = futures::stream::pending::<std::io::Result<Bytes>>();
    let send = raw
        .http
        .post(&url)
        .header(CONTENT_TYPE, "application/octet-stream")
        .header(CONTENT_LENGTH, declared)
        .body(reqwest::Body::wrap_stream(never))
        .send();
    let Ok(Ok(response)) = tokio::time::timeout(Duration::from_secs(3), send).await else {
        return Ok(None);
    };
    if response.status() != reqwest::StatusCode::UNPROCESSABLE_ENTITY {
        return Ok(None);
    }
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if body["reason"] != "stream.too_large" {
        return Ok(None);
    }
    // "the upload is larger than N bytes"
    let cap = body["message"]
        .as_str()
        .and_then(|m| m.split_whitespace().find_map(|w| w.parse::<u64>().ok()))
        .ok_or("the mock refused the size without naming its limit")?;
    Ok(Some(cap))
}

/// The child's command line:
/// `--child <side> --api URL --ws URL --user NAME --bytes N --mock-pid PID`.
struct ChildArgs {
    side: String,
    api: String,
    ws: String,
    user: String,
    bytes: u64,
    mock_pid: String,
}

impl ChildArgs {
    fn parse(args: &[String]) -> Result<Self> {
        let side = args.first().ok_or("--child needs a side")?.clone();
        let value = |name: &str| -> Result<String> {
            let at = args
                .iter()
                .position(|a| a == name)
                .ok_or_else(|| format!("--child needs {name}"))?;
            Ok(args
                .get(at + 1)
                .ok_or_else(|| format!("{name} needs a value"))?
                .clone())
        };
        Ok(Self {
            side,
            api: value("--api")?,
            ws: value("--ws")?,
            user: value("--user")?,
            bytes: value("--bytes")?
                .parse()
                .map_err(|_| "--bytes needs a number")?,
            mock_pid: value("--mock-pid")?,
        })
    }
}

/// `--child stream-sdk|stream-raw ...`: one round of one side; prints its [`Side`] as JSON.
pub fn child_main(args: &[String]) -> Result<()> {
    let args = ChildArgs::parse(args)?;
    // The same runtime as the parent's figures run on.
    let runtime = client_runtime()?;
    let timings = runtime.block_on(async {
        match args.side.as_str() {
            "stream-sdk" => sdk_side(&args).await,
            "stream-raw" => raw_side(&args, false).await,
            "stream-raw-gcm" => raw_side(&args, true).await,
            other => Err(format!("unknown child side `{other}`").into()),
        }
    })?;
    let side = Side {
        store_s: timings.store.0,
        retrieve_s: timings.retrieve.0,
        store_cpu_s: timings.store.1,
        retrieve_cpu_s: timings.retrieve.1,
        peak_rss_kib: machine::peak_rss_kib().unwrap_or(0),
    };
    println!("{}", serde_json::to_string(&side)?);
    Ok(())
}

async fn sdk_side(args: &ChildArgs) -> Result<Timings> {
    let client = sdk::client(&args.api, &args.ws)?;
    let session = sdk::login(&client, &args.user).await?;
    let vault = session.vault(VaultKey::generate());
    let options = StoreOptions::new("stream");
    // Untimed warm-up, as on the baseline side: the WebSocket joined, a pooled connection.
    let warm = vault.store(b"warm-up", &options).await?;
    vault.delete(&warm).await?;

    let phase = Phase::start(&args.mock_pid);
    let token = vault
        .store_reader(Pattern::new(args.bytes), &options)
        .await?;
    let store = phase.end();

    let mut verify = Verify::default();
    let phase = Phase::start(&args.mock_pid);
    let written = vault
        .retrieve_to_writer_unverified(&token, &mut verify)
        .await?;
    let retrieve = phase.end();
    if written != args.bytes || !verify.verified(args.bytes) {
        return Err("the SDK's round trip did not give the payload back".into());
    }
    // Frees the mock's copy before the next round.
    vault.delete(&token).await?;
    Ok(Timings { store, retrieve })
}

/// One round by hand: streaming the plaintext as it is (`encrypt` false), or the simplest
/// encrypting equivalent (`encrypt` true): `aes-gcm` on the whole payload in memory.
async fn raw_side(args: &ChildArgs, encrypt: bool) -> Result<Timings> {
    let mut raw = Raw::login(&args.api, &args.user, sdk::PASSWORD).await?;
    raw.connect_acks(&args.ws).await?;
    let urls = Urls::new(&args.api);
    let warm = store::store(&raw, &urls, &store::Baseline::new()?, b"warm-up").await?;
    raw.command(&urls.delete, &[("token", warm.as_str())])
        .await?;
    let gcm = if encrypt { Some(new_gcm()?) } else { None };
    let size = usize::try_from(args.bytes).map_err(|_| "the payload does not fit in memory")?;

    let phase = Phase::start(&args.mock_pid);
    let id = raw
        .command(&urls.reserve, &[("context", "stream"), ("ttl", "5")])
        .await?;
    let temporary: Temporary = raw
        .get(&format!("{}{id}", urls.temporary))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let url = temporary
        .stream
        .ok_or("the temporary token came without a stream URI")?;
    let body = match &gcm {
        None => reqwest::Body::wrap_stream(payload::chunks(args.bytes, CHUNK)),
        Some(gcm) => reqwest::Body::from(seal(gcm, size)?),
    };
    raw.http
        .post(&url)
        .header(CONTENT_TYPE, "application/octet-stream")
        .body(body)
        .send()
        .await?
        .error_for_status()?;
    let token = store::configure(&raw, &urls, &temporary.token, args.bytes).await?;
    let store = phase.end();

    let phase = Phase::start(&args.mock_pid);
    let response = raw
        .post(&urls.request_data)
        .form(&[("token", token.as_str())])
        .send()
        .await?
        .error_for_status()?;
    let request_id = response
        .headers()
        .get("x-dpt-cab-request-id")
        .and_then(|v| v.to_str().ok())
        .ok_or("request-data answered without x-dpt-cab-request-id")?
        .to_owned();
    let link = match raw.ack(&request_id).await? {
        Ack::Data {
            output_type: 1,
            body,
        } => body,
        other => return Err(format!("expected a download link, got {other:?}").into()),
    };
    let download = raw.http.get(&link).send().await?.error_for_status()?;
    let verified = match &gcm {
        None => {
            let mut chunks = download.bytes_stream();
            let mut verify = Verify::default();
            while let Some(chunk) = chunks.try_next().await? {
                verify.check(&chunk);
            }
            verify.verified(args.bytes)
        }
        Some(gcm) => {
            let declared = download.content_length().unwrap_or(0);
            let mut wire = Vec::with_capacity(usize::try_from(declared).unwrap_or(0));
            let mut chunks = download.bytes_stream();
            while let Some(chunk) = chunks.try_next().await? {
                wire.extend_from_slice(&chunk);
            }
            let plaintext = open(gcm, &mut wire)?;
            plaintext.len() == size && payload::matches(0, plaintext)
        }
    };
    let retrieve = phase.end();
    if !verified {
        return Err("the baseline's round trip did not give the payload back".into());
    }
    raw.command(&urls.delete, &[("token", token.as_str())])
        .await?;
    Ok(Timings { store, retrieve })
}

fn new_gcm() -> Result<Aes256Gcm> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| format!("no random key: {e}"))?;
    Ok(Aes256Gcm::new_from_slice(&key).map_err(|_| "a 32-byte key")?)
}

/// `IV || ciphertext || tag` of `size` payload bytes, built and encrypted in one buffer.
fn seal(gcm: &Aes256Gcm, size: usize) -> Result<Vec<u8>> {
    let mut iv = [0u8; IV_LEN];
    getrandom::fill(&mut iv).map_err(|e| format!("no random IV: {e}"))?;
    let mut wire = Vec::with_capacity(size + IV_LEN + TAG_LEN);
    wire.extend_from_slice(&iv);
    wire.resize(IV_LEN + size, 0);
    payload::fill(0, &mut wire[IV_LEN..]);
    let tag = gcm
        .encrypt_inout_detached(&iv.into(), &[], (&mut wire[IV_LEN..]).into())
        .map_err(|_| "aes-gcm refused the payload")?;
    wire.extend_from_slice(&tag);
    Ok(wire)
}

/// Decrypts `IV || ciphertext || tag` in place; returns the plaintext.
fn open<'a>(gcm: &Aes256Gcm, wire: &'a mut [u8]) -> Result<&'a [u8]> {
    if wire.len() < IV_LEN + TAG_LEN {
        return Err("the download is shorter than an IV and a tag".into());
    }
    let (head, tag) = wire.split_at_mut(wire.len() - TAG_LEN);
    let (iv, body) = head.split_at_mut(IV_LEN);
    let iv: [u8; IV_LEN] = (&*iv).try_into().map_err(|_| "a 12-byte IV")?;
    let tag: [u8; TAG_LEN] = (&*tag).try_into().map_err(|_| "a 16-byte tag")?;
    gcm.decrypt_inout_detached(&iv.into(), &[], body.into(), &tag.into())
        .map_err(|_| "aes-gcm: the download is not authentic")?;
    Ok(body)
}
