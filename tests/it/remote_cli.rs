//! The command line against a running server (`--server URL --token-file F`): the same
//! commands, through the admin API, from a machine without the database.

use crate::admin::admin_token;
use crate::harness::{Tessera, basic, token_request};

#[test]
fn the_command_line_manages_a_remote_server_through_its_admin_api() {
    let t = Tessera::new();
    let (ops, ops_secret) = t.create_client(
        "ops",
        &["--role", "ROLE_TESSERA-ADMIN", "--scope", "tessera:admin"],
    );
    t.create_client(
        "web",
        &[
            "--grant",
            "authorization_code",
            "--redirect-uri",
            "http://127.0.0.1:9/cb",
            "--scope",
            "openid",
        ],
    );
    let server = t.serve(&[("TESSERA_ADMIN__BIND", "127.0.0.1:0")]);
    let admin = server.admin_base.clone().expect("the admin listener");
    // Elsewhere: another machine's empty data directory; only the API knows these clients.
    let elsewhere = Tessera::new();
    let token_file = elsewhere.data_dir().join("admin.token");
    std::fs::write(&token_file, admin_token(&server, &ops, &ops_secret) + "\n").unwrap();
    let token_file = token_file.to_str().unwrap().to_owned();
    let remote = |args: &[&str]| {
        let mut all = vec![
            "--server",
            admin.as_str(),
            "--token-file",
            token_file.as_str(),
        ];
        all.extend_from_slice(args);
        elsewhere.cli_json(&all)
    };

    let listed = remote(&["client", "list"]);
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ops", "web"]);
    let updated = remote(&[
        "client",
        "update",
        "web",
        "--add-redirect-uri",
        "http://127.0.0.1:9/new",
    ]);
    assert_eq!(
        updated["redirect_uris"],
        serde_json::json!(["http://127.0.0.1:9/cb", "http://127.0.0.1:9/new"])
    );
    // A client created remotely gets a token at once.
    let created = remote(&[
        "client", "create", "--name", "Batch", "--id", "batch", "--scope", "read",
    ]);
    let secret = created["client_secret"].as_str().unwrap();
    let issued = token_request(
        &server,
        Some(&basic("batch", secret)),
        "grant_type=client_credentials",
    );
    assert_eq!(issued.status, 200);
    let rotated = remote(&["client", "rotate-secret", "batch", "--grace", "1h"]);
    assert_ne!(rotated["client_secret"].as_str().unwrap(), secret);
    assert_eq!(remote(&["client", "disable", "batch"])["enabled"], false);

    // Users and keys too.
    let mut args = vec![
        "--server",
        admin.as_str(),
        "--token-file",
        token_file.as_str(),
        "user",
        "create",
        "--logon",
        "remote-user",
        "--email",
        "r@example.com",
        "--name",
        "Remote User",
        "--password-stdin",
    ];
    let out = elsewhere.cli(&args, Some("a long enough password\n"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let user: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(user["has_password"], true);
    let id = user["id"].as_str().unwrap().to_owned();
    assert_eq!(remote(&["user", "lock", &id])["status"], "locked");
    assert_eq!(remote(&["user", "list"]).as_array().unwrap().len(), 1);
    assert!(!remote(&["keys", "list"]).as_array().unwrap().is_empty());

    // The audit trail, one event per line, names the acting admin client.
    let mut tail = Vec::new();
    for _ in 0..40 {
        args.truncate(4);
        args.extend_from_slice(&["audit", "tail", "-n", "50"]);
        let out = elsewhere.cli(&args, None);
        assert!(out.status.success());
        tail = out.stdout;
        if String::from_utf8_lossy(&tail).contains("status locked") {
            break;
        }
        #[allow(clippy::disallowed_methods)] // The trail is written a few milliseconds behind.
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let tail = String::from_utf8_lossy(&tail);
    assert!(tail.contains("status locked by admin client ops"), "{tail}");

    // Refusals are errors with the server's reason; local-only commands say so.
    std::fs::write(&token_file, "not-a-token").unwrap();
    let refused = elsewhere.cli(
        &[
            "--server",
            &admin,
            "--token-file",
            &token_file,
            "client",
            "list",
        ],
        None,
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("401"));
    let no_file = elsewhere.cli(&["--server", &admin, "client", "list"], None);
    assert_eq!(no_file.status.code(), Some(2));
    let local_only = elsewhere.cli(
        &["--server", &admin, "--token-file", &token_file, "migrate"],
        None,
    );
    assert!(!local_only.status.success());
}
