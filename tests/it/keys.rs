//! Signing-key rotation as a resource server sees it: it caches the JWKS and re-fetches only when
//! it meets an unknown `kid`, and never fails to verify a token.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;

use crate::harness::{Server, Tessera, basic, token_request};
use crate::jwt::{jwks, verify_with};

/// A resource server with a JWKS cache.
struct ResourceServer<'a> {
    server: &'a Server,
    cache: JwkSet,
    fetches: usize,
}

impl<'a> ResourceServer<'a> {
    fn new(server: &'a Server) -> Self {
        Self {
            server,
            cache: jwks(server),
            fetches: 1,
        }
    }

    /// Verifies `token`, re-fetching the JWKS only for an unknown `kid`; returns the kid.
    fn verify(&mut self, token: &str) -> String {
        let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
        if self.cache.find(&kid).is_none() {
            self.cache = jwks(self.server);
            self.fetches += 1;
        }
        verify_with(&self.cache, token, &self.server.base, &self.server.base);
        kid
    }
}

/// The kids of the ES256 keys (the algorithm these tests rotate; RS256 is always there too, for
/// ID tokens).
fn kids(set: &JwkSet) -> Vec<String> {
    set.keys
        .iter()
        .filter(|k| k.common.key_algorithm == Some(jsonwebtoken::jwk::KeyAlgorithm::ES256))
        .filter_map(|k| k.common.key_id.clone())
        .collect()
}

#[test]
fn rotation_publishes_before_signing_and_retires_after_the_last_token_expires() {
    let t = Tessera::new();
    let (id, secret) = t.create_client("svc", &[]);
    let auth = basic(&id, &secret);
    let server = t.serve(&[
        ("TESSERA_KEYS__ALGORITHMS", "ES256"),
        ("TESSERA_DIALECTS__SEMEAR__ENABLED", "false"),
        ("TESSERA_DIALECTS__SEMEAR__ENABLED", "false"),
        ("TESSERA_DIALECTS__SERPROID__ENABLED", "false"),
        ("TESSERA_DIALECTS__SCREENING_EAGLE__ENABLED", "false"),
        ("TESSERA_KEYS__JWKS_MAX_AGE_SECONDS", "1"),
        ("TESSERA_KEYS__RETIRE_AFTER_SECONDS", "2"),
        ("TESSERA_TOKENS__DEFAULT_TTL_SECONDS", "2"),
    ]);
    let token = || {
        token_request(&server, Some(&auth), "grant_type=client_credentials").json()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let mut rs = ResourceServer::new(&server);
    let old_token = token();
    let old_kid = rs.verify(&old_token);

    let rotated = t.cli_json(&["keys", "rotate"]);
    let rotated_at = Instant::now();
    let new_kid = rotated["kid"].as_str().unwrap().to_owned();
    assert_eq!(rotated["state"], "published");
    assert_ne!(new_kid, old_kid);

    // Within a refresh interval the new key is in the JWKS, and it signs only after the lead.
    let mut published_seen = None;
    let mut first_signed = None;
    while rotated_at.elapsed() < Duration::from_secs(8) && first_signed.is_none() {
        if published_seen.is_none() && kids(&jwks(&server)).contains(&new_kid) {
            published_seen = Some(Instant::now());
        }
        let kid = rs.verify(&token());
        if kid == new_kid {
            first_signed = Some(Instant::now());
        } else {
            assert_eq!(kid, old_kid);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let (published, signed) = (
        published_seen.expect("new key published"),
        first_signed.expect("new key signs"),
    );
    assert!(
        signed.duration_since(published) >= Duration::from_millis(900),
        "published {:?} before signing",
        signed.duration_since(published)
    );
    // The token signed by the old key still verifies: its key is retiring, still published.
    let fresh = jwks(&server);
    assert!(kids(&fresh).contains(&old_kid));
    verify_with(&fresh, &old_token, &server.base, &server.base);

    // Once every token of the old key has expired, it leaves the JWKS.
    let deadline = Instant::now() + Duration::from_secs(8);
    while kids(&jwks(&server)).contains(&old_kid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(kids(&jwks(&server)), vec![new_kid.clone()]);
    assert!(
        rs.fetches <= 3,
        "the resource server re-fetched only for the unknown kid ({} fetches)",
        rs.fetches
    );

    let list = t.cli_json(&["keys", "list"]);
    let state = |kid: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid)
            .unwrap()["state"]
            .clone()
    };
    assert_eq!(
        (state(&old_kid), state(&new_kid)),
        ("retired".into(), "active".into())
    );
    // A kid is base64url and may begin with `-`: the command line takes it as it is.
    let refused = t.cli(&["keys", "retire", &new_kid], None);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("rotate first"));
    assert_eq!(
        t.cli(&["keys", "retire", "nope"], None).status.code(),
        Some(1)
    );
    assert_eq!(
        t.cli(&["keys", "retire", "-looks-like-a-flag"], None)
            .status
            .code(),
        Some(1),
        "an unknown kid, not a usage error"
    );
    assert!(list.to_string().find("private").is_none());
}

#[test]
fn keys_rotate_by_themselves_on_the_configured_period_and_survive_a_restart() {
    let t = Tessera::new();
    let (id, secret) = t.create_client("svc", &[]);
    let env = [
        ("TESSERA_KEYS__ALGORITHMS", "ES256"),
        ("TESSERA_DIALECTS__SEMEAR__ENABLED", "false"),
        ("TESSERA_DIALECTS__SEMEAR__ENABLED", "false"),
        ("TESSERA_DIALECTS__SERPROID__ENABLED", "false"),
        ("TESSERA_DIALECTS__SCREENING_EAGLE__ENABLED", "false"),
        ("TESSERA_KEYS__JWKS_MAX_AGE_SECONDS", "1"),
        ("TESSERA_KEYS__ROTATION_PERIOD_SECONDS", "1"),
        ("TESSERA_KEYS__RETIRE_AFTER_SECONDS", "60"),
        ("TESSERA_TOKENS__DEFAULT_TTL_SECONDS", "60"),
    ];
    let server = t.serve(&env);
    let initial = kids(&jwks(&server));
    assert_eq!(initial.len(), 1);
    let deadline = Instant::now() + Duration::from_secs(10);
    while kids(&jwks(&server)).len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let after = kids(&jwks(&server));
    assert!(
        after.len() >= 2,
        "a successor was published automatically: {after:?}"
    );
    let token = token_request(
        &server,
        Some(&basic(&id, &secret)),
        "grant_type=client_credentials",
    )
    .json();
    let issuer = server.base.clone();
    assert!(server.stop());

    let again = t.serve(&env);
    let set = jwks(&again);
    for kid in &after {
        assert!(kids(&set).contains(kid), "{kid} survived the restart");
    }
    // A token from before the restart verifies against the keys published after it.
    verify_with(
        &set,
        token["access_token"].as_str().unwrap(),
        &issuer,
        &issuer,
    );
}
