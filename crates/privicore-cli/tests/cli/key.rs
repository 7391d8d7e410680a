//! `privicore key generate`.

use crate::common::{Mock, key, noise, stdout};

#[test]
fn generates_distinct_hex_keys() {
    let a = key();
    let b = key();
    assert_eq!(a.len(), 64);
    assert!(
        a.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    assert_ne!(a, b);
}

#[test]
fn a_generated_key_works_as_the_vault_key() {
    let mock = Mock::start();
    mock.provision("key-user");
    let key = key();
    let file = mock.path("payload");
    std::fs::write(&file, noise(1000, 1)).expect("write");
    let token = stdout(mock.as_user("key-user", &key).arg("store").arg(&file));
    let back = mock
        .as_user("key-user", &key)
        .args(["retrieve", token.trim()])
        .output()
        .expect("runs");
    assert!(back.status.success());
    assert_eq!(back.stdout, noise(1000, 1));
}
