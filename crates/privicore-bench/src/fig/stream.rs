//! Figure 3: a large payload stored and retrieved through the stream path, and the SDK's peak
//! memory while doing it.
//!
//! The mock runs as a separate process (the `privicore-mock` binary): it holds every payload
//! in memory, which must not count as the client's. Each side runs in a child process of its
//! own, one per round, so that its peak resident memory (`VmHWM`) is its own too.
//!
//! SDK: `vault.store_reader` then `vault.retrieve_to_writer` (AES-256-GCM on the way up and
//! down, in 64 KiB chunks). Baseline: the same protocol steps by hand, uploading and
//! downloading the same plaintext bytes as a raw stream, unencrypted. So the ratio includes
//! the encryption itself; figure 4 measures that alone.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::TryStreamExt;
use privicore::{StoreOptions, VaultKey};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::fig::{Ctx, client_runtime, store};
use crate::measure::{interleave, median};
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

/// What one side's child process reports.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct Side {
    store_s: f64,
    retrieve_s: f64,
    peak_rss_kib: u64,
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
    let rounds = ctx.pick(2, 3);
    let (sdk_user, raw_user, size) = ctx.runtime.block_on(async {
        let client = sdk::client(&mock.api, &mock.ws)?;
        let (sdk_user, _) = sdk::provision(&client, "stream-sdk").await?;
        let (raw_user, _) = sdk::provision(&client, "stream-raw").await?;
        let mut raw = Raw::login(&mock.api, &raw_user, sdk::PASSWORD).await?;
        raw.connect_acks(&mock.ws).await?;
        let size = match upload_cap(&raw, &Urls::new(&mock.api), wanted + OVERHEAD).await? {
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
    let pairs = ctx.runtime.block_on(interleave(
        rounds,
        async || side("stream-sdk", &sdk_user).await,
        async || side("stream-raw", &raw_user).await,
    ))?;

    let (sdk_rate, raw_rate) = pairs.medians(|s| s.mib_per_s(size));
    let peak =
        |sides: &[Side]| sides.iter().map(|s| s.peak_rss_kib).max().unwrap_or(0) as f64 / 1024.0;
    let (sdk_peak, raw_peak) = (peak(&pairs.sdk), peak(&pairs.baseline));
    let direction = |sides: &[Side], f: fn(&Side) -> f64| {
        size as f64 / MIB as f64 / median(sides.iter().map(f))
    };
    let detail = json!({
        "what": "store then retrieve of one payload through the stream path, each side in a child process per round, against the privicore-mock binary in another process",
        "payload_bytes": size,
        "payload_mib": size as f64 / MIB as f64,
        "rounds_per_side": rounds,
        "store_mib_per_s": {"sdk": direction(&pairs.sdk, |s| s.store_s), "baseline": direction(&pairs.baseline, |s| s.store_s)},
        "retrieve_mib_per_s": {"sdk": direction(&pairs.sdk, |s| s.retrieve_s), "baseline": direction(&pairs.baseline, |s| s.retrieve_s)},
        "sdk": pairs.sdk,
        "baseline": pairs.baseline,
        "notes": notes,
    });
    Ok(vec![
        Figure::throughput(
            "stream_roundtrip",
            "MiB/s",
            sdk_rate,
            raw_rate,
            Target::RatioAtMost { max: 1.25 },
        )
        .with_detail(detail.clone()),
        Figure::cost(
            "stream_peak_memory",
            "MiB",
            sdk_peak,
            raw_peak,
            Target::ValueBelow { max: 64.0 },
        )
        .with_detail(json!({
            "what": "peak resident memory (VmHWM) of the child process of each side, highest of its rounds; the mock's memory is not included",
            "payload_bytes": size,
            "sdk_kib": pairs.sdk.iter().map(|s| s.peak_rss_kib).collect::<Vec<_>>(),
            "baseline_kib": pairs.baseline.iter().map(|s| s.peak_rss_kib).collect::<Vec<_>>(),
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
        .stream_url
        .ok_or("the temporary token came without a stream URL")?;
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

/// The child's command line: `--child <side> --api URL --ws URL --user NAME --bytes N`.
struct ChildArgs {
    side: String,
    api: String,
    ws: String,
    user: String,
    bytes: u64,
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
        })
    }
}

/// `--child stream-sdk|stream-raw ...`: one round of one side; prints its [`Side`] as JSON.
pub fn child_main(args: &[String]) -> Result<()> {
    let args = ChildArgs::parse(args)?;
    // The same runtime as the parent's figures run on.
    let runtime = client_runtime()?;
    let (store_s, retrieve_s) = runtime.block_on(async {
        match args.side.as_str() {
            "stream-sdk" => sdk_side(&args).await,
            "stream-raw" => raw_side(&args).await,
            other => Err(format!("unknown child side `{other}`").into()),
        }
    })?;
    let side = Side {
        store_s,
        retrieve_s,
        peak_rss_kib: machine::peak_rss_kib().unwrap_or(0),
    };
    println!("{}", serde_json::to_string(&side)?);
    Ok(())
}

async fn sdk_side(args: &ChildArgs) -> Result<(f64, f64)> {
    let client = sdk::client(&args.api, &args.ws)?;
    let session = sdk::login(&client, &args.user).await?;
    let vault = session.vault(VaultKey::generate());
    let options = StoreOptions::new("stream");
    // Untimed warm-up, as on the baseline side: the WebSocket joined, a pooled connection.
    let warm = vault.store(b"warm-up", &options).await?;
    vault.delete(&warm).await?;

    let started = Instant::now();
    let token = vault
        .store_reader(Pattern::new(args.bytes), &options)
        .await?;
    let store_s = started.elapsed().as_secs_f64();

    let mut verify = Verify::default();
    let started = Instant::now();
    let written = vault.retrieve_to_writer(&token, &mut verify).await?;
    let retrieve_s = started.elapsed().as_secs_f64();
    if written != args.bytes || !verify.verified(args.bytes) {
        return Err("the SDK's round trip did not give the payload back".into());
    }
    // Frees the mock's copy before the next round.
    vault.delete(&token).await?;
    Ok((store_s, retrieve_s))
}

async fn raw_side(args: &ChildArgs) -> Result<(f64, f64)> {
    let mut raw = Raw::login(&args.api, &args.user, sdk::PASSWORD).await?;
    raw.connect_acks(&args.ws).await?;
    let urls = Urls::new(&args.api);
    let warm = store::store(&raw, &urls, &store::Baseline::new()?, b"warm-up").await?;
    raw.command(&urls.delete, &[("token", warm.as_str())])
        .await?;

    let started = Instant::now();
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
        .stream_url
        .ok_or("the temporary token came without a stream URL")?;
    raw.http
        .post(&url)
        .header(CONTENT_TYPE, "application/octet-stream")
        .body(reqwest::Body::wrap_stream(payload::chunks(
            args.bytes, CHUNK,
        )))
        .send()
        .await?
        .error_for_status()?;
    let token = store::configure(&raw, &urls, &temporary.token, args.bytes).await?;
    let store_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
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
    let mut download = raw
        .http
        .get(&link)
        .send()
        .await?
        .error_for_status()?
        .bytes_stream();
    let mut verify = Verify::default();
    while let Some(chunk) = download.try_next().await? {
        verify.check(&chunk);
    }
    let retrieve_s = started.elapsed().as_secs_f64();
    if !verify.verified(args.bytes) {
        return Err("the baseline's round trip did not give the payload back".into());
    }
    raw.command(&urls.delete, &[("token", token.as_str())])
        .await?;
    Ok((store_s, retrieve_s))
}
