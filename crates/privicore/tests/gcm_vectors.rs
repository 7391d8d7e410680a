//! Independent AES-256-GCM test vectors on every engine this processor runs: Wycheproof's
//! `aes_gcm_test.json` and NIST CAVP's `gcmEncryptExtIV256.rsp` / `gcmDecrypt256.rsp` (see
//! the README beside each under `tests/vectors/`).
//!
//! The SDK's wire format has a 96-bit IV, a 128-bit tag and no associated data, and the
//! engines implement exactly that. Every other case is counted under its reason and the counts
//! are printed and compared with the totals of the files, so a case lost by the parser or the
//! selection fails the test instead of disappearing.

use std::collections::BTreeMap;
use std::path::PathBuf;

use privicore::cipher::{Engine, IV_LEN, decrypt_with};
use privicore::{CipherError, Encryptor, VaultKey};
use serde::Deserialize;

/// The engines to check: the portable one always, the wide one where the processor runs it.
fn engines() -> Vec<Engine> {
    let engines: Vec<Engine> = [Engine::Portable, Engine::Wide]
        .into_iter()
        .filter(|engine| engine.is_available())
        .collect();
    println!(
        "engines under test: {}",
        engines
            .iter()
            .map(|engine| engine.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    engines
}

fn vector_path(parts: &[&str]) -> PathBuf {
    let mut path = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    path.push("tests");
    path.push("vectors");
    path.extend(parts);
    path
}

fn unhex(text: &str) -> Vec<u8> {
    hex::decode(text).expect("the vector files hold valid hex")
}

/// What happened to the cases of one file on one engine.
#[derive(Default, Debug, PartialEq, Eq)]
struct Tally {
    valid_accepted: usize,
    invalid_refused: usize,
    /// Cases not run, by reason.
    skipped: BTreeMap<&'static str, usize>,
}

impl Tally {
    fn skip(&mut self, reason: &'static str) {
        *self.skipped.entry(reason).or_default() += 1;
    }

    fn run(&self) -> usize {
        self.valid_accepted + self.invalid_refused
    }

    fn total(&self) -> usize {
        self.run() + self.skipped.values().sum::<usize>()
    }

    fn report(&self, file: &str, engine: Engine) {
        let skipped: Vec<String> = self
            .skipped
            .iter()
            .map(|(reason, n)| format!("{n} {reason}"))
            .collect();
        println!(
            "{file} engine={engine}: {} cases, {} run: {} valid accepted, {} invalid refused; \
             skipped: {}",
            self.total(),
            self.run(),
            self.valid_accepted,
            self.invalid_refused,
            skipped.join(", ")
        );
    }
}

/// One case in the SDK's shape: encrypts `plaintext` with `iv` and expects `ciphertext || tag`,
/// then decrypts that back.
fn check_valid(engine: Engine, key: &[u8], iv: &[u8], plaintext: &[u8], ct_tag: &[u8], id: &str) {
    let key = VaultKey::from_bytes(key).expect("a 256-bit key");
    let iv: [u8; IV_LEN] = iv.try_into().expect("a 96-bit IV");
    let mut enc = Encryptor::with_engine_and_iv(engine, &key, iv).expect("engine runs");
    // Two calls, so that a case longer than one block also crosses a chunk boundary.
    let split = plaintext.len() / 3;
    let mut produced = enc.update(&plaintext[..split]).expect("short");
    produced.extend(enc.update(&plaintext[split..]).expect("short"));
    produced.extend(enc.finish());
    assert!(
        produced == ct_tag,
        "{id} on {engine}: ciphertext || tag differs from the vector"
    );

    let mut wire = iv.to_vec();
    wire.extend_from_slice(ct_tag);
    assert_eq!(
        decrypt_with(engine, &key, &wire).as_deref(),
        Ok(plaintext),
        "{id} on {engine}: the vector does not decrypt"
    );
}

/// One case that must be refused: `IV || ciphertext || tag` must not decrypt.
fn check_invalid(engine: Engine, key: &[u8], iv: &[u8], ct_tag: &[u8], id: &str) {
    let key = VaultKey::from_bytes(key).expect("a 256-bit key");
    let mut wire = iv.to_vec();
    wire.extend_from_slice(ct_tag);
    assert_eq!(
        decrypt_with(engine, &key, &wire).map(|p| p.len()),
        Err(CipherError::TagMismatch),
        "{id} on {engine}: an invalid case was accepted"
    );
}

// ---------------------------------------------------------------------------------------------
// Wycheproof

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WycheproofFile {
    number_of_tests: usize,
    test_groups: Vec<WycheproofGroup>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WycheproofGroup {
    key_size: u32,
    iv_size: u32,
    tag_size: u32,
    tests: Vec<WycheproofCase>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WycheproofCase {
    tc_id: u32,
    key: String,
    iv: String,
    aad: String,
    msg: String,
    ct: String,
    tag: String,
    result: String,
}

fn wycheproof(engine: Engine) -> Tally {
    let text = std::fs::read_to_string(vector_path(&["wycheproof", "aes_gcm_test.json"]))
        .expect("the Wycheproof file is committed");
    let file: WycheproofFile = serde_json::from_str(&text).expect("the Wycheproof file parses");
    let mut tally = Tally::default();
    for group in &file.test_groups {
        for case in &group.tests {
            if group.key_size != 256 {
                tally.skip("key not 256-bit");
            } else if group.iv_size != 96 {
                tally.skip("IV not 96-bit");
            } else if group.tag_size != 128 {
                tally.skip("tag not 128-bit");
            } else if !case.aad.is_empty() {
                // The wire format has no associated data, and neither do the engines.
                tally.skip("not applicable (AAD)");
            } else {
                let id = format!("wycheproof tcId {}", case.tc_id);
                let mut ct_tag = unhex(&case.ct);
                ct_tag.extend(unhex(&case.tag));
                let (key, iv) = (unhex(&case.key), unhex(&case.iv));
                match case.result.as_str() {
                    "valid" => {
                        check_valid(engine, &key, &iv, &unhex(&case.msg), &ct_tag, &id);
                        tally.valid_accepted += 1;
                    }
                    "invalid" => {
                        check_invalid(engine, &key, &iv, &ct_tag, &id);
                        tally.invalid_refused += 1;
                    }
                    other => panic!("{id}: result {other:?} is neither valid nor invalid"),
                }
            }
        }
    }
    assert_eq!(tally.total(), file.number_of_tests, "numberOfTests");
    tally
}

#[test]
fn wycheproof_aes_gcm_on_every_engine() {
    for engine in engines() {
        let tally = wycheproof(engine);
        tally.report("wycheproof aes_gcm_test.json", engine);
        // The file's totals, counted when it was added (tests/vectors/wycheproof/README.md):
        // 316 cases, of which 66 have a 256-bit key, a 96-bit IV and a 128-bit tag; 18 of
        // those carry associated data.
        assert_eq!(
            tally,
            Tally {
                valid_accepted: 21,
                invalid_refused: 27,
                skipped: BTreeMap::from([
                    ("IV not 96-bit", 39),
                    ("key not 256-bit", 211),
                    ("not applicable (AAD)", 18),
                ]),
            },
            "on {engine}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// NIST CAVP

/// One `Count = …` block of a `.rsp` file, with the `[Name = value]` parameters in force.
struct RspCase {
    iv_bits: u32,
    tag_bits: u32,
    aad_bits: u32,
    fields: BTreeMap<String, String>,
    fail: bool,
}

fn rsp_cases(name: &str) -> Vec<RspCase> {
    let text = std::fs::read_to_string(vector_path(&["nist", name])).expect("committed");
    let mut params: BTreeMap<String, u32> = BTreeMap::new();
    let mut cases: Vec<RspCase> = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(param) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let (name, value) = param.split_once(" = ").expect("[Name = value]");
            params.insert(name.to_owned(), value.parse().expect("a number"));
        } else if line.starts_with("Count = ") {
            let param = |name: &str| *params.get(name).expect("a parameter before the cases");
            cases.push(RspCase {
                iv_bits: param("IVlen"),
                tag_bits: param("Taglen"),
                aad_bits: param("AADlen"),
                fields: BTreeMap::new(),
                fail: false,
            });
        } else if let Some(case) = cases.last_mut() {
            if line == "FAIL" {
                case.fail = true;
            } else if let Some((name, value)) = line.split_once('=') {
                case.fields
                    .insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
    }
    cases
}

fn nist(name: &str, engine: Engine) -> Tally {
    let mut tally = Tally::default();
    for (index, case) in rsp_cases(name).iter().enumerate() {
        if case.iv_bits != 96 {
            tally.skip("IV not 96-bit");
        } else if case.tag_bits != 128 {
            tally.skip("tag not 128-bit");
        } else if case.aad_bits != 0 {
            tally.skip("not applicable (AAD)");
        } else {
            let field = |name: &str| unhex(case.fields.get(name).expect("a field of the case"));
            let id = format!("{name} case {index}");
            let mut ct_tag = field("CT");
            ct_tag.extend(field("Tag"));
            if case.fail {
                check_invalid(engine, &field("Key"), &field("IV"), &ct_tag, &id);
                tally.invalid_refused += 1;
            } else {
                let (key, iv) = (field("Key"), field("IV"));
                check_valid(engine, &key, &iv, &field("PT"), &ct_tag, &id);
                tally.valid_accepted += 1;
            }
        }
    }
    tally
}

#[test]
fn nist_cavp_gcm_256_on_every_engine() {
    for engine in engines() {
        // The files' totals, counted when they were added (tests/vectors/nist/README.md): 7875
        // cases each; 375 have a 96-bit IV and a 128-bit tag, 300 of those with associated data.
        let skipped = BTreeMap::from([
            ("IV not 96-bit", 5250),
            ("not applicable (AAD)", 300),
            ("tag not 128-bit", 2250),
        ]);
        let encrypt = nist("gcmEncryptExtIV256.rsp", engine);
        encrypt.report("nist gcmEncryptExtIV256.rsp", engine);
        assert_eq!(
            encrypt,
            Tally {
                valid_accepted: 75,
                invalid_refused: 0,
                skipped: skipped.clone(),
            },
            "on {engine}"
        );
        let decrypt = nist("gcmDecrypt256.rsp", engine);
        decrypt.report("nist gcmDecrypt256.rsp", engine);
        assert_eq!(
            decrypt,
            Tally {
                valid_accepted: 42,
                invalid_refused: 33,
                skipped,
            },
            "on {engine}"
        );
    }
}
