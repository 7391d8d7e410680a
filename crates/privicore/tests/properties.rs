//! The fuzz targets' properties, as bounded property tests that run in CI (`fuzz/` runs the
//! same parsers under libFuzzer for longer):
//!
//! * the five parsers of server data never panic, whatever the input: command-id extraction,
//!   WebSocket frames, signed public keys, the GCM wire format (one-shot and streamed with any
//!   chunking), and response decoding into the generated types;
//! * encryption round trips for any size and any chunking, and any single flipped bit is
//!   refused;
//! * pagination over any page size and total yields every item exactly once, in order.

mod common;

use futures::TryStreamExt;
use privicore::api::types;
use privicore::{CipherError, Decryptor, Encryptor, SignedPublicKey, VaultKey, cipher, fuzzing};
use proptest::prelude::*;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // Shrinking a failure is worth a little time; an endless shrink is not.
        max_shrink_iters: 2048,
        ..ProptestConfig::default()
    }
}

/// JSON-ish text: mostly valid JSON of every shape, sometimes cut or corrupted.
fn json_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number)),
        ".{0,12}".prop_map(serde_json::Value::from),
        prop_oneof![
            Just("X-DPT-CAB-ID"),
            Just("X-DPT-CAB-REQUEST-ID"),
            Just("commandId"),
            Just("2"),
            Just("http://h:1/?auth=t"),
        ]
        .prop_map(serde_json::Value::from),
    ];
    let keys = prop_oneof![
        Just("data".to_string()),
        Just("type".to_string()),
        Just("id".to_string()),
        Just("command_status".to_string()),
        Just("output_type".to_string()),
        Just("body".to_string()),
        Just("status".to_string()),
        Just("commandId".to_string()),
        Just("items".to_string()),
        Just("meta".to_string()),
        Just("count".to_string()),
        Just("token".to_string()),
        Just("expiresAt".to_string()),
        "[a-zA-Z]{1,8}",
    ];
    let value = leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    });
    (value, 0u8..4, any::<usize>()).prop_map(|(value, mangle, at)| {
        let text = value.to_string();
        match mangle {
            // Cut somewhere (on a character boundary).
            0 if !text.is_empty() => {
                let mut cut = at % text.len();
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text[..cut].to_string()
            }
            // A stray character somewhere.
            1 if !text.is_empty() => {
                let mut at = at % text.len();
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                format!("{}}}{}", &text[..at], &text[at..])
            }
            _ => text,
        }
    })
}

/// Decodes `bytes` into every main response type; only the absence of panics matters.
fn decode_all(bytes: &[u8]) {
    macro_rules! decode {
        ($($t:ty),*) => {$(
            let _ = serde_json::from_slice::<$t>(bytes);
        )*};
    }
    decode!(
        types::CommandAccepted,
        types::RequestStatus,
        types::AuthorizationToken,
        types::TokenExpiry,
        types::ReauthorizeResponse,
        types::OAuthAccessToken,
        types::AuthorizationCode,
        types::OAuthApplicationConfiguration,
        types::OAuthApplicationList,
        types::OAuthApplicationScope,
        types::TemporaryDataToken,
        types::PermanentDataToken,
        types::DataTokenList,
        types::DeviceIdentifierResponse,
        types::DeviceConfiguration,
        types::PublicKey,
        types::ProfileId,
        types::HealthStatus,
        types::TransactionStatistics,
        types::PolicyTemplates,
        types::ApiError
    );
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn command_ids_never_panic_and_every_shape_gives_the_id(text in json_text(), id in ".{0,40}") {
        if let Ok(accepted) = serde_json::from_str::<types::CommandAccepted>(&text) {
            let _ = fuzzing::command_id(accepted);
        }
        let quoted = serde_json::Value::from(id.clone());
        for shape in [
            quoted.to_string(),
            serde_json::json!([quoted]).to_string(),
            serde_json::json!({"commandId": quoted}).to_string(),
        ] {
            let accepted: types::CommandAccepted = serde_json::from_str(&shape).expect("a valid shape");
            match fuzzing::command_id(accepted) {
                Ok(parsed) => prop_assert_eq!(parsed.as_str(), id.as_str()),
                Err(_) => prop_assert!(id.trim().is_empty(), "a non-empty id was refused"),
            }
        }
        let mut headers = reqwest::header::HeaderMap::new();
        if let Ok(value) = reqwest::header::HeaderValue::from_str(&id) {
            headers.insert("x-dpt-cab-request-id", value);
        }
        let _ = fuzzing::request_id(&headers);
    }

    #[test]
    fn websocket_frames_never_panic(text in json_text(), raw in ".{0,64}") {
        let _ = format!("{:?}", fuzzing::ws_frame(&text));
        let _ = format!("{:?}", fuzzing::ws_frame(&raw));
        let _ = format!("{:?}", fuzzing::request_status(&raw));
    }

    #[test]
    fn well_formed_acks_are_recognised(id in "[a-f0-9-]{1,36}", status in 1i64..4, body in ".{0,20}") {
        let frame = serde_json::json!({"data": {"type": "X-DPT-CAB-ID", "id": id, "command_status": status, "body": body}});
        let parsed = format!("{:?}", fuzzing::ws_frame(&frame.to_string()));
        prop_assert!(parsed.starts_with("CommandStatus"), "{}", parsed);
        prop_assert!(parsed.contains(&format!("status: {status}")), "{}", parsed);
        let join = fuzzing::join_frame(&id, "c");
        prop_assert_eq!(format!("{:?}", fuzzing::ws_frame(&join)), "Other");
    }

    #[test]
    fn data_answers_never_panic(output_type in any::<i64>(), body in ".{0,80}", url in "(https?://)?[a-z0-9.:]{0,20}/?[?&]auth=[^ ]{0,10}") {
        let _ = fuzzing::data_answer(output_type, &body);
        let _ = fuzzing::data_answer(1, &url);
    }

    #[test]
    fn responses_never_panic_the_decoders(text in json_text(), bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        decode_all(text.as_bytes());
        decode_all(&bytes);
    }

    #[test]
    fn signed_public_keys_never_panic_and_round_trip(
        text in ".{0,220}",
        hex in "[0-9a-fA-F]{200}",
        key in any::<[u8; 32]>(),
        flip in 0usize..200,
    ) {
        let _ = SignedPublicKey::parse(&text);
        let _ = SignedPublicKey::parse(&hex);
        let signed = SignedPublicKey::from_public_key(key);
        let parsed = SignedPublicKey::parse(signed.as_str()).expect("a key it made");
        prop_assert_eq!(parsed.public_key(), key);
        prop_assert_eq!(SignedPublicKey::parse(&signed.as_str().to_ascii_uppercase()).expect("upper case").public_key(), key);
        // Any other digit anywhere is refused.
        let mut altered = signed.as_str().as_bytes().to_vec();
        altered[flip] = if altered[flip] == b'0' { b'1' } else { b'0' };
        let altered = String::from_utf8(altered).expect("ascii");
        prop_assert!(SignedPublicKey::parse(&altered).is_err());
    }
}

/// `data` cut into pieces at the given points (any chunking, empty pieces included).
fn chunks<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    points.sort_unstable();
    let mut pieces = Vec::new();
    let mut start = 0;
    for point in points {
        pieces.push(&data[start..point]);
        start = point;
    }
    pieces.push(&data[start..]);
    pieces
}

/// Feeds `wire` to a streaming decryptor in the given pieces.
fn decrypt_streamed(key: &VaultKey, pieces: &[&[u8]]) -> Result<Vec<u8>, CipherError> {
    let mut decryptor = Decryptor::new(key);
    let mut out = Vec::new();
    for piece in pieces {
        out.extend_from_slice(decryptor.update_unverified(piece)?.provisional_bytes());
    }
    decryptor.finish()?;
    Ok(out)
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn the_gcm_parser_never_panics(wire in prop::collection::vec(any::<u8>(), 0..200), cuts in prop::collection::vec(any::<usize>(), 0..8)) {
        let key = VaultKey::from_bytes(&[7; 32]).expect("key");
        prop_assert!(cipher::decrypt(&key, &wire).is_err(), "random bytes are never authentic");
        prop_assert!(decrypt_streamed(&key, &chunks(&wire, &cuts)).is_err());
    }

    #[test]
    fn encryption_round_trips_for_any_size_and_chunking(
        len in prop_oneof![0usize..64, 0usize..4096, 0usize..40_000],
        seed in any::<u8>(),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        flip in any::<usize>(),
    ) {
        let key = VaultKey::generate();
        let data: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect();
        // Encrypt in pieces too.
        let mut encryptor = Encryptor::new(&key).expect("engine runs");
        let mut wire = encryptor.iv().to_vec();
        for piece in chunks(&data, &cuts) {
            wire.extend_from_slice(&encryptor.update(piece).expect("encrypts"));
        }
        wire.extend_from_slice(&encryptor.finish());
        prop_assert_eq!(wire.len(), len + cipher::OVERHEAD);
        prop_assert_eq!(cipher::decrypt(&key, &wire).expect("one-shot"), data.clone());
        let reversed: Vec<usize> = cuts.iter().map(|c| c.wrapping_mul(7)).collect();
        prop_assert_eq!(decrypt_streamed(&key, &chunks(&wire, &reversed)).expect("streamed"), data.clone());
        // One flipped bit anywhere (IV, ciphertext, tag) is refused.
        let bit = flip % (wire.len() * 8);
        wire[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(cipher::decrypt(&key, &wire).is_err());
        prop_assert!(decrypt_streamed(&key, &chunks(&wire, &cuts)).is_err());
    }

    #[test]
    fn pagination_yields_every_item_once_in_order(
        total in 0u64..600,
        per_page in 1u64..60,
        announce in any::<bool>(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = calls.clone();
        let stream = fuzzing::paged(per_page, move |page| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                let start = (page - 1) * per_page;
                let end = (start + per_page).min(total);
                let items: Vec<u64> = (start.min(end)..end).collect();
                // Some servers announce the total, some do not (then the list ends at the
                // first short page, which may be an extra, empty one).
                Ok((items, announce.then_some(total)))
            }
        });
        let got: Vec<u64> = runtime.block_on(stream.try_collect()).expect("no errors");
        prop_assert_eq!(got, (0..total).collect::<Vec<_>>());
        let pages = calls.load(std::sync::atomic::Ordering::SeqCst);
        let needed = total.div_ceil(per_page).max(1);
        prop_assert!(pages >= needed && pages <= needed + 1, "{} pages for {} items of {}", pages, total, per_page);
    }
}

/// Through the public API against the mock: listing with any page size returns every stored
/// token once, in order.
#[tokio::test]
async fn listing_through_the_api_returns_every_token_once() {
    let (_mock, client) = common::start().await;
    let session = common::provisioned(&client, "pages@test").await;
    let vault = session.vault(VaultKey::generate());
    let mut stored = Vec::new();
    for i in 0..23 {
        let token = vault
            .store(
                format!("p{i}").as_bytes(),
                &privicore::StoreOptions::new("pages"),
            )
            .await
            .expect("stored");
        stored.push(token.to_string());
    }
    for per_page in [1u64, 2, 5, 22, 23, 24, 100] {
        let listed: Vec<String> = session
            .data_tokens()
            .list()
            .context("pages")
            .per_page(per_page)
            .stream()
            .map_ok(|item| item.token)
            .try_collect()
            .await
            .expect("listed");
        assert_eq!(listed, stored, "per page {per_page}");
    }
}
