//! The command line: client administration, bad arguments, configuration precedence.

use crate::harness::{Tessera, basic, token_request};

#[test]
fn clients_are_listed_shown_disabled_and_deleted() {
    let t = Tessera::new();
    let (id, _) = t.create_client("svc-a", &["--scope", "a b", "--role", "ROLE_CLI-1STPARTY"]);
    let generated = t.cli_json(&["client", "create", "--name", "Generated id"]);
    let gen_id = generated["client_id"].as_str().unwrap().to_owned();
    assert!(gen_id.starts_with("cli_") && gen_id.len() == 28, "{gen_id}");

    let list = t.cli_json(&["client", "list"]);
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [gen_id.as_str(), "svc-a"]);
    assert!(
        !list.to_string().contains("tsec_"),
        "list never shows secrets"
    );

    let shown = t.cli_json(&["client", "show", &id]);
    assert_eq!(shown["scope"], "a b");
    assert_eq!(shown["roles"], serde_json::json!(["ROLE_CLI-1STPARTY"]));
    assert_eq!(shown["enabled"], true);
    assert_eq!(t.cli_json(&["client", "disable", &id])["enabled"], false);
    assert_eq!(t.cli_json(&["client", "show", &id])["enabled"], false);
    assert_eq!(t.cli_json(&["client", "delete", &id])["deleted"], true);
    let gone = t.cli(&["client", "show", &id], None);
    assert_eq!(gone.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&gone.stderr).trim(),
        "error: no client with id svc-a"
    );
}

#[test]
fn bad_arguments_give_one_line_and_a_nonzero_exit() {
    let t = Tessera::new();
    t.create_client("taken", &[]);
    let cases: &[(&[&str], &str)] = &[
        (
            &["client", "create", "--name", "x", "--id", "taken"],
            "already exists",
        ),
        (
            &["client", "create", "--name", "x", "--scope", "a\"b"],
            "scope",
        ),
        (
            &["client", "create", "--name", "x", "--role", "BAD ROLE"],
            "role",
        ),
        (
            &["client", "create", "--name", "x", "--grant", "password"],
            "grant_type",
        ),
        (
            &[
                "client",
                "create",
                "--name",
                "x",
                "--auth-method",
                "private_key_jwt",
            ],
            "auth_method",
        ),
        (
            &["client", "create", "--name", "x", "--alg", "HS256"],
            "alg",
        ),
        (&["client", "create", "--name", "x", "--ttl", "0"], "ttl"),
        (
            &[
                "client",
                "create",
                "--name",
                "x",
                "--scope",
                "a",
                "--default-scope",
                "b",
            ],
            "default scopes",
        ),
        (
            &["client", "create", "--name", "x", "--id", "has space"],
            "client_id",
        ),
        (&["client", "delete", "ghost"], "no client"),
        (&["client", "disable", "ghost"], "no client"),
    ];
    for (args, fragment) in cases {
        let out = t.cli(args, None);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(
            err.trim().lines().count(),
            1,
            "{args:?}: one line, got {err}"
        );
        assert!(
            err.starts_with("error: ") && err.contains(fragment),
            "{args:?}: {err}"
        );
    }
    let out = t.cli(&["client", "create"], None);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a missing required flag is a usage error"
    );
    let out = t.cli(&["serve", "--bind", "nowhere"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("server.bind"));
}

#[test]
fn configuration_comes_from_flag_environment_and_file() {
    let t = Tessera::new();
    let other = tempfile::tempdir().unwrap();
    let config = t.data_dir().join("tessera.toml");
    std::fs::write(
        &config,
        "[tokens]\ndefault_ttl_seconds = 90\n[keys]\nalgorithms = [\"ES256\"]\n[dialects.semear]\nenabled = false\n",
    )
    .unwrap();
    // The file (found in the working directory) sets the lifetime; the environment moves the
    // database, the flag (set by the harness) moves it back.
    let (id, secret) = t.create_client("cfg", &[]);
    let mut cmd = t.command();
    let out = cmd
        .env("TESSERA_DATA_DIR", other.path())
        .args(["client", "list"])
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "--data-dir beats TESSERA_DATA_DIR"
    );

    let server = t.serve(&[("TESSERA_SERVER__ISSUER", "https://id.example.test")]);
    let reply = token_request(
        &server,
        Some(&basic(&id, &secret)),
        "grant_type=client_credentials",
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["expires_in"], 90, "from tessera.toml");
    let jwks = crate::jwt::jwks(&server);
    assert_eq!(
        jwks.keys.len(),
        2,
        "keys.algorithms from tessera.toml, and RS256 for ID tokens"
    );
    let (_, claims) = crate::jwt::verify_with(
        &jwks,
        reply.json()["access_token"].as_str().unwrap(),
        "https://id.example.test",
        "https://id.example.test",
    );
    assert_eq!(
        claims["iss"], "https://id.example.test",
        "issuer from the environment"
    );
    let meta = crate::harness::send(
        crate::harness::agent().get(&server.url("/.well-known/oauth-authorization-server")),
        None,
    )
    .json();
    assert_eq!(
        meta["token_endpoint"],
        "https://id.example.test/oauth2/token"
    );
}

/// `client update` changes only what it names, through the registration invariants, keeps the
/// secret, and the running server follows within the refresh interval.
#[test]
#[allow(clippy::disallowed_methods)] // The test waits for the cache to follow.
fn a_client_is_updated_in_place_and_the_server_follows() {
    let t = Tessera::new();
    let (id, secret) = t.create_client(
        "web",
        &[
            "--scope",
            "read",
            "--grant",
            "client_credentials",
            "--grant",
            "authorization_code",
            "--redirect-uri",
            "https://app.example/cb",
        ],
    );
    let server = t.serve(&[]);
    let ask = |scope: &str| {
        token_request(
            &server,
            Some(&basic(&id, &secret)),
            &format!("grant_type=client_credentials&scope={scope}"),
        )
        .status
    };
    assert_eq!(ask("write"), 400, "not yet allowed");

    let updated = t.cli_json(&[
        "client",
        "update",
        &id,
        "--scope",
        "read write",
        "--add-redirect-uri",
        "https://app.example/cb2",
        "--resource",
        "https://api.example/",
    ]);
    assert_eq!(updated["scope"], "read write");
    assert_eq!(
        updated["redirect_uris"],
        serde_json::json!(["https://app.example/cb", "https://app.example/cb2"])
    );
    assert_eq!(
        updated["resources"],
        serde_json::json!(["https://api.example/"])
    );
    assert_eq!(updated["name"], "web", "what is not named stays");
    let start = std::time::Instant::now();
    while ask("write") != 200 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(2),
            "the server follows within the refresh interval, with the same secret"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let removed = t.cli_json(&[
        "client",
        "update",
        &id,
        "--remove-redirect-uri",
        "https://app.example/cb",
    ]);
    assert_eq!(
        removed["redirect_uris"],
        serde_json::json!(["https://app.example/cb2"])
    );

    // The invariants of registration hold: the code grant needs a redirect URI.
    let broken = t.cli(
        &[
            "client",
            "update",
            &id,
            "--remove-redirect-uri",
            "https://app.example/cb2",
        ],
        None,
    );
    assert_eq!(broken.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&broken.stderr).contains("redirect"),
        "{}",
        String::from_utf8_lossy(&broken.stderr)
    );
    let nothing = t.cli(&["client", "update", &id], None);
    assert_eq!(nothing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("nothing to change"));
    assert_eq!(
        t.cli_json(&["client", "update", &id, "--disable"])["enabled"],
        false
    );
    assert_eq!(
        t.cli_json(&["client", "update", &id, "--enable"])["enabled"],
        true
    );
    let ghost = t.cli(&["client", "update", "ghost", "--name", "X"], None);
    assert_eq!(ghost.status.code(), Some(1));
}

#[test]
fn a_rotated_secret_works_within_the_refresh_interval_and_the_old_one_only_during_the_grace_period()
{
    let t = Tessera::new();
    let (id, old) = t.create_client("rotating", &[]);
    let server = t.serve(&[]);
    let ask = |secret: &str| {
        token_request(
            &server,
            Some(&basic(&id, secret)),
            "grant_type=client_credentials",
        )
        .status
    };
    assert_eq!(ask(&old), 200, "the old secret is cached by the server");

    let rotated = t.cli_json(&["client", "rotate-secret", &id, "--grace", "2s"]);
    let new = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    // Every node follows the store within cache.refresh_interval_ms (200 ms in these tests).
    let start = std::time::Instant::now();
    while ask(&new) != 200 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(2),
            "the new secret works within the refresh interval"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(ask(&old), 200, "the old one during the grace period");
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert_eq!(ask(&old), 401, "and not after it");
    assert_eq!(ask(&new), 200);

    let out = t.cli(&["client", "rotate-secret", &id, "--grace", "soon"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !server.log().contains(&new) && !server.log().contains(&old),
        "secrets never logged"
    );
}

#[test]
fn users_are_created_listed_and_disabled() {
    let t = Tessera::new();
    let created = t.cli_json(&[
        "user",
        "create",
        "--logon",
        "A123321B",
        "--email",
        "ana@example.com",
        "--name",
        "Ana Souza",
    ]);
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("usr_"), "{id}");
    assert_eq!(created["status"], "active");
    t.cli_json(&[
        "user",
        "create",
        "--logon",
        "B7",
        "--email",
        "bo@example.com",
        "--name",
        "Bo",
        "--id",
        "5ef904d4b91ac90414895f3c",
    ]);
    let list = t.cli_json(&["user", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(t.cli_json(&["user", "disable", &id])["status"], "disabled");

    for (args, fragment) in [
        (
            vec![
                "user",
                "create",
                "--logon",
                "A123321B",
                "--email",
                "x@example.com",
                "--name",
                "X",
            ],
            "already exists",
        ),
        (
            vec![
                "user",
                "create",
                "--logon",
                "bad logon",
                "--email",
                "x@example.com",
                "--name",
                "X",
            ],
            "logon",
        ),
        (
            vec![
                "user",
                "create",
                "--logon",
                "C1",
                "--email",
                "not-an-email",
                "--name",
                "X",
            ],
            "e-mail",
        ),
        (vec!["user", "disable", "ghost"], "no user"),
    ] {
        let out = t.cli(&args, None);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains(fragment),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn users_get_passwords_profiles_and_locks_from_the_cli() {
    let t = Tessera::new();
    let out = t.cli(
        &[
            "user",
            "create",
            "--logon",
            "ana",
            "--email",
            "ana@example.com",
            "--name",
            "Ana Souza",
            "--given-name",
            "Ana",
            "--family-name",
            "Souza",
            "--locale",
            "pt-BR",
            "--email-verified",
            "--password-stdin",
        ],
        Some("first password\n"),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(created["has_password"], true);
    assert_eq!(created["given_name"], "Ana");
    assert_eq!(created["family_name"], "Souza");
    assert_eq!(created["locale"], "pt-BR");
    assert_eq!(created["email_verified"], true);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("argon2"),
        "the hash is never printed"
    );
    let id = created["id"].as_str().unwrap().to_owned();

    let out = t.cli(&["user", "set-password", &id], Some("second password"));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = t.cli(&["user", "set-password", &id], Some("short"));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 8 characters"));

    assert_eq!(t.cli_json(&["user", "lock", &id])["status"], "locked");
    let unlocked = t.cli_json(&["user", "unlock", &id]);
    assert_eq!(
        (
            &unlocked["status"],
            &unlocked["failed_sign_ins"],
            &unlocked["locked_until"]
        ),
        (
            &serde_json::json!("active"),
            &serde_json::json!(0),
            &serde_json::Value::Null
        )
    );

    let out = t.cli(
        &[
            "client",
            "create",
            "--name",
            "web",
            "--grant",
            "authorization_code",
        ],
        None,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        err.matches("needs at least one redirect URI").count(),
        1,
        "said once: {err}"
    );

    // The database file and its write-ahead log, whatever has been checkpointed.
    let mut db = std::fs::read(t.data_dir().join("tessera.sqlite")).unwrap();
    db.extend(std::fs::read(t.data_dir().join("tessera.sqlite-wal")).unwrap_or_default());
    let db = String::from_utf8_lossy(&db);
    assert!(db.contains("$argon2id$"), "stored as argon2id");
    assert!(
        !db.contains("first password") && !db.contains("second password"),
        "never stored in clear"
    );
}
