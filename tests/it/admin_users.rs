//! Users and the audit trail over the admin API: the full lifecycle of a user (created over
//! HTTP, signing in at once, changed with `If-Match`, its password set, locked, unlocked,
//! signed out, disabled) and every change in the audit trail with the acting admin client.

use serde_json::json;

use crate::admin::{admin_token, call};
use crate::harness::{Tessera, agent, send};
use crate::oidc::{Browser, authorize_url, code_from, pkce, sign_in};

#[test]
#[allow(clippy::disallowed_methods)] // The test waits for the audit trail to be written.
fn users_live_their_whole_lifecycle_over_the_admin_api_and_every_change_is_audited() {
    let t = Tessera::new();
    let (ops, ops_secret) = t.create_client(
        "ops",
        &["--role", "ROLE_TESSERA-ADMIN", "--scope", "tessera:admin"],
    );
    let (reader, reader_secret) = t.create_client(
        "reader",
        &[
            "--role",
            "ROLE_TESSERA-ADMIN",
            "--scope",
            "tessera:admin.read",
        ],
    );
    let (web, _) = t.create_client(
        "web",
        &[
            "--role",
            "ROLE_CLI-1STPARTY",
            "--grant",
            "authorization_code",
            "--redirect-uri",
            crate::oidc::REDIRECT,
            "--scope",
            "openid profile",
        ],
    );
    let server = t.serve(&[("TESSERA_ADMIN__BIND", "127.0.0.1:0")]);
    let ops_token = admin_token(&server, &ops, &ops_secret);
    let reader_token = admin_token(&server, &reader, &reader_secret);
    let public = send(agent().get(&server.url("/admin/v1/users")), None);
    assert_eq!(public.status, 404);

    // Created over HTTP, with a password: it signs in at once.
    let created = call(
        &server,
        "POST",
        "/admin/v1/users",
        Some(&ops_token),
        &[],
        Some(json!({
            "logon": "bia",
            "email": "bia@example.com",
            "name": "Bia Lima",
            "password": "first password 1",
            "given_name": "Bia",
            "address": {"locality": "Recife", "country": "BR"},
        })),
    );
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    let user = created.json();
    let id = user["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("usr_"), "{id}");
    assert_eq!(
        created.header("location"),
        Some(format!("/admin/v1/users/{id}").as_str())
    );
    assert_eq!(user["has_password"], true);
    assert!(user.get("password").is_none());
    assert_eq!(user["address"]["formatted"], "Recife\nBR");
    let url = authorize_url(&server, &web, "openid", Some(&pkce("admin-users")));
    let mut browser = Browser::new();
    code_from(
        &server,
        &sign_in(&mut browser, &url, "bia", "first password 1"),
    );

    // Bad input is a problem naming the field; a taken logon a conflict; a reader may not write.
    let bad = call(
        &server,
        "POST",
        "/admin/v1/users",
        Some(&ops_token),
        &[],
        Some(json!({"logon": "x", "email": "not-an-address", "name": "X"})),
    );
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["type"], "urn:tessera:problem:invalid-user");
    assert!(bad.json()["detail"].as_str().unwrap().contains("email"));
    let unknown = call(
        &server,
        "POST",
        "/admin/v1/users",
        Some(&ops_token),
        &[],
        Some(json!({"logon": "y", "email": "y@example.com", "name": "Y", "role": "admin"})),
    );
    assert_eq!(unknown.status, 400, "unknown fields are refused");
    let taken = call(
        &server,
        "POST",
        "/admin/v1/users",
        Some(&ops_token),
        &[],
        Some(json!({"logon": "bia", "email": "b2@example.com", "name": "B2"})),
    );
    assert_eq!(taken.status, 409);
    let anonymous = call(
        &server,
        "POST",
        "/admin/v1/users",
        None,
        &[],
        Some(json!("not even an object")),
    );
    assert_eq!(anonymous.status, 401, "no token: 401 whatever the body");
    let refused = call(
        &server,
        "POST",
        "/admin/v1/users",
        Some(&reader_token),
        &[],
        Some(json!({"logon": "z", "email": "z@example.com", "name": "Z"})),
    );
    assert_eq!(refused.status, 403);

    // Shown with an ETag; a PATCH needs it, and a stale one is 412.
    let path = format!("/admin/v1/users/{id}");
    let shown = call(&server, "GET", &path, Some(&reader_token), &[], None);
    assert_eq!(shown.status, 200);
    let etag = shown.header("etag").unwrap().to_owned();
    let no_match = call(
        &server,
        "PATCH",
        &path,
        Some(&ops_token),
        &[],
        Some(json!({"name": "B"})),
    );
    assert_eq!(no_match.status, 428);
    let patched = call(
        &server,
        "PATCH",
        &path,
        Some(&ops_token),
        &[("If-Match", &etag)],
        Some(json!({"name": "Beatriz Lima", "given_name": null, "email_verified": true})),
    );
    assert_eq!(
        patched.status,
        200,
        "{}",
        String::from_utf8_lossy(&patched.body)
    );
    assert_eq!(patched.json()["name"], "Beatriz Lima");
    assert_eq!(patched.json()["given_name"], serde_json::Value::Null);
    assert_eq!(patched.json()["email_verified"], true);
    assert_ne!(patched.header("etag"), Some(etag.as_str()));
    let stale = call(
        &server,
        "PATCH",
        &path,
        Some(&ops_token),
        &[("If-Match", &etag)],
        Some(json!({"name": "Overwritten"})),
    );
    assert_eq!(stale.status, 412);
    assert_eq!(stale.json()["type"], "urn:tessera:problem:stale");
    let verified_without_phone = call(
        &server,
        "PATCH",
        &path,
        Some(&ops_token),
        &[("If-Match", patched.header("etag").unwrap())],
        Some(json!({"phone_number_verified": true})),
    );
    assert_eq!(verified_without_phone.status, 400);

    // Listed, filtered by status and paginated.
    let listed = call(
        &server,
        "GET",
        "/admin/v1/users?status=active&limit=10",
        Some(&reader_token),
        &[],
        None,
    );
    assert_eq!(listed.status, 200);
    assert_eq!(listed.json()["users"].as_array().unwrap().len(), 1);
    assert_eq!(listed.json()["users"][0]["name"], "Beatriz Lima");

    // A new password: the old one no longer signs in, the new one does.
    let short = call(
        &server,
        "PUT",
        &format!("{path}/password"),
        Some(&ops_token),
        &[],
        Some(json!({"password": "short"})),
    );
    assert_eq!(short.status, 400);
    let set = call(
        &server,
        "PUT",
        &format!("{path}/password"),
        Some(&ops_token),
        &[],
        Some(json!({"password": "second password 2"})),
    );
    assert_eq!(set.status, 200);
    let old = sign_in(&mut Browser::new(), &url, "bia", "first password 1");
    assert_eq!(old.status, 401, "the page again, with an error");
    let mut browser = Browser::new();
    code_from(
        &server,
        &sign_in(&mut browser, &url, "bia", "second password 2"),
    );

    // Sign-out ends the session just opened; a lock refuses sign-in; unlock restores it.
    let out = call(
        &server,
        "POST",
        &format!("{path}/sign-out"),
        Some(&ops_token),
        &[],
        None,
    );
    assert_eq!(out.status, 200);
    assert!(out.json()["sessions_ended"].as_u64().unwrap() >= 1);
    let after = browser.get(&format!("{url}&prompt=none"));
    let location = after.header("location").unwrap_or_default();
    assert!(location.contains("error=login_required"), "{location}");
    let locked = call(
        &server,
        "POST",
        &format!("{path}/lock"),
        Some(&ops_token),
        &[],
        None,
    );
    assert_eq!(locked.status, 200);
    assert_eq!(locked.json()["status"], "locked");
    let refused = sign_in(&mut Browser::new(), &url, "bia", "second password 2");
    assert!(
        !matches!(refused.status, 302 | 303),
        "the page again, not a code: {}",
        refused.status
    );
    let unlocked = call(
        &server,
        "POST",
        &format!("{path}/unlock"),
        Some(&ops_token),
        &[],
        None,
    );
    assert_eq!(unlocked.json()["status"], "active");
    code_from(
        &server,
        &sign_in(&mut Browser::new(), &url, "bia", "second password 2"),
    );
    let disabled = call(
        &server,
        "POST",
        &format!("{path}/disable"),
        Some(&ops_token),
        &[],
        None,
    );
    assert_eq!(disabled.json()["status"], "disabled");
    let missing = call(
        &server,
        "POST",
        "/admin/v1/users/usr_nobody/lock",
        Some(&ops_token),
        &[],
        None,
    );
    assert_eq!(missing.status, 404);

    // The audit trail: every change, naming the acting admin client, filterable by user and
    // kind, and paginated both ways.
    // (The trail is written in batches, a few milliseconds behind.)
    let mut events = Vec::new();
    for _ in 0..50 {
        let trail = call(
            &server,
            "GET",
            &format!("/admin/v1/audit?user={id}&limit=100"),
            Some(&reader_token),
            &[],
            None,
        );
        assert_eq!(trail.status, 200);
        events = trail.json()["events"].as_array().unwrap().clone();
        let changed = events
            .iter()
            .filter(|e| e["kind"] == "user.changed")
            .count();
        if changed >= 7 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"user.created"), "{kinds:?}");
    assert!(kinds.contains(&"user.signed_in"), "{kinds:?}");
    let changes: Vec<&str> = events
        .iter()
        .filter(|e| e["kind"] == "user.changed")
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    // Profile, password, sign-out, lock, unlock, disable and the sessions the disable ended.
    assert_eq!(changes.len(), 7, "{changes:?}");
    assert!(
        changes.contains(&"2 sessions ended by admin client ops"),
        "{changes:?}"
    );
    assert!(
        changes.iter().all(|d| d.ends_with("by admin client ops")),
        "{changes:?}"
    );
    let ids: Vec<u64> = events.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first");
    let created_only = call(
        &server,
        "GET",
        &format!("/admin/v1/audit?kind=user.created&user={id}"),
        Some(&reader_token),
        &[],
        None,
    );
    assert_eq!(created_only.json()["events"].as_array().unwrap().len(), 1);
    let first_two = call(
        &server,
        "GET",
        &format!("/admin/v1/audit?user={id}&after=0&limit=2"),
        Some(&reader_token),
        &[],
        None,
    );
    let page = first_two.json();
    assert_eq!(page["events"].as_array().unwrap().len(), 2);
    assert_eq!(page["first"].as_u64(), Some(ids[0]));
    let next = call(
        &server,
        "GET",
        &format!("/admin/v1/audit?user={id}&after={}&limit=2", page["last"]),
        Some(&reader_token),
        &[],
        None,
    );
    assert_eq!(next.json()["first"].as_u64(), Some(ids[2]));
    let back = call(
        &server,
        "GET",
        &format!("/admin/v1/audit?user={id}&before={}&limit=1", ids[2]),
        Some(&reader_token),
        &[],
        None,
    );
    assert_eq!(back.json()["first"].as_u64(), Some(ids[1]));
    let bad_kind = call(
        &server,
        "GET",
        "/admin/v1/audit?kind=nonsense",
        Some(&reader_token),
        &[],
        None,
    );
    assert_eq!(bad_kind.status, 400);
    let no_token = call(&server, "GET", "/admin/v1/audit", None, &[], None);
    assert_eq!(no_token.status, 401);
}
