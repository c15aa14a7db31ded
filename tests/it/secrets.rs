//! Secrets at rest: private signing keys and the secret pepper are sealed (AES-256-GCM) under a
//! master key; a server beyond loopback will not start without one; `keys rewrap` changes it.

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;

use crate::harness::{Tessera, basic, token_request};

/// The DER of the id-ecPublicKey OID, which every P-256 PKCS#8 private key holds.
const EC_KEY_OID: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// rsaEncryption, which every RSA PKCS#8 private key holds.
const RSA_KEY_OID: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];

fn database_bytes(t: &Tessera) -> Vec<u8> {
    let mut all = std::fs::read(t.data_dir().join("tessera.sqlite")).unwrap();
    all.extend(std::fs::read(t.data_dir().join("tessera.sqlite-wal")).unwrap_or_default());
    all
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn on_loopback_a_master_key_is_generated_0600_and_no_private_key_is_stored_in_the_clear() {
    let t = Tessera::new();
    let (id, secret) = t.create_client("svc", &[]);
    let server = t.serve(&[]);
    assert_eq!(
        token_request(
            &server,
            Some(&basic(&id, &secret)),
            "grant_type=client_credentials"
        )
        .status,
        200
    );
    let file = t.data_dir().join("master.key");
    let meta = std::fs::metadata(&file).expect("master.key in the data directory");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .unwrap()
            .len(),
        32
    );
    let db = database_bytes(&t);
    assert!(
        !contains(&db, EC_KEY_OID),
        "an EC private key is in the clear"
    );
    assert!(
        !contains(&db, RSA_KEY_OID),
        "an RSA private key is in the clear"
    );
    drop(server);
}

#[test]
fn beyond_loopback_the_server_refuses_to_start_without_a_master_key() {
    let t = Tessera::new();
    let out = t
        .command()
        .args(["serve", "--bind", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("without a master key"), "{err}");
    assert!(
        !t.data_dir().join("master.key").exists(),
        "nothing generated"
    );

    // With one configured it starts, and generates nothing.
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    let mut child = t
        .command()
        .args(["serve", "--bind", "0.0.0.0:0"])
        .env("TESSERA_MASTER_KEY", &key)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("tessera listening on") {
                let _ = tx.send(line);
            }
        }
    });
    let started = rx.recv_timeout(Duration::from_secs(60));
    let _ = child.kill();
    let _ = child.wait();
    assert!(started.is_ok(), "serves with a configured master key");
    assert!(!t.data_dir().join("master.key").exists());
}

#[test]
fn keys_rewrap_moves_every_secret_to_a_new_master_key_and_tokens_keep_verifying() {
    let t = Tessera::new();
    let (id, secret) = t.create_client("svc", &[]);
    let server = t.serve(&[]);
    let token = token_request(
        &server,
        Some(&basic(&id, &secret)),
        "grant_type=client_credentials",
    )
    .json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let first_issuer = server.base.clone();
    assert!(server.stop());
    let old = std::fs::read_to_string(t.data_dir().join("master.key")).unwrap();

    let out = t.cli_json(&["keys", "rewrap"]);
    assert!(
        out["rewrapped"].as_u64().unwrap() >= 5,
        "4 keys and the pepper: {out}"
    );
    let new = std::fs::read_to_string(t.data_dir().join("master.key")).unwrap();
    assert_ne!(old, new);

    // The same keys and pepper under the new master key: old tokens verify, old secrets work.
    let server = t.serve(&[]);
    let (_, claims) = crate::jwt::verify_with(
        &crate::jwt::jwks(&server),
        &token,
        &first_issuer,
        &first_issuer,
    );
    assert_eq!(claims["client_id"], id.as_str());
    assert_eq!(
        token_request(
            &server,
            Some(&basic(&id, &secret)),
            "grant_type=client_credentials"
        )
        .status,
        200
    );
    assert!(server.stop());

    // The old key opens nothing any more: the server says so instead of starting.
    let out = t
        .command()
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("TESSERA_MASTER_KEY", old.trim())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("master key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A configured key is changed only to one the operator gives.
    let out = t
        .command()
        .args(["keys", "rewrap"])
        .env("TESSERA_MASTER_KEY", new.trim())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--new-key-file"));
    let next_file = t.data_dir().join("next.key");
    std::fs::write(
        &next_file,
        base64::engine::general_purpose::STANDARD.encode([42u8; 32]),
    )
    .unwrap();
    let out = t
        .command()
        .args([
            "keys",
            "rewrap",
            "--new-key-file",
            next_file.to_str().unwrap(),
        ])
        .env("TESSERA_MASTER_KEY", new.trim())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = t.serve(&[("TESSERA_MASTER_KEY_FILE", next_file.to_str().unwrap())]);
    assert_eq!(
        token_request(
            &server,
            Some(&basic(&id, &secret)),
            "grant_type=client_credentials"
        )
        .status,
        200
    );
}
