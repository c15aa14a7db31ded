//! Metadata documents on a fake fetcher and a settable clock: which URLs qualify, which
//! addresses, what a document must and must not say, and how long it is kept.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

use async_trait::async_trait;

use super::*;
use crate::ports::{FetchError, FetchedDocument};
use crate::scope::ScopeSet;
use crate::service::RegistrationMode;

const URL: &str = "https://app.example/oauth/client.json";

/// A clock that moves when told.
struct Settable(AtomicI64);

impl Clock for Settable {
    fn now(&self) -> UnixTime {
        UnixTime::from_secs(self.0.load(Ordering::SeqCst))
    }
}

fn registration() -> RegistrationPolicy {
    RegistrationPolicy {
        mode: RegistrationMode::Closed,
        scope_ceiling: ScopeSet::parse("openid profile").unwrap(),
        resources: Vec::new(),
    }
}

fn body(client_id: &str) -> DocumentBody {
    DocumentBody {
        client_id: Some(client_id.into()),
        has_secret: false,
        metadata: RawMetadata {
            redirect_uris: Some(vec!["https://app.example/cb".into()]),
            client_name: Some("App".into()),
            ..RawMetadata::default()
        },
    }
}

#[test]
fn only_https_urls_with_a_path_and_nothing_ambiguous_name_documents() {
    let ok = DocumentUrl::recognise(URL).unwrap();
    assert_eq!((ok.host(), ok.port()), ("app.example", 443));
    let port = DocumentUrl::recognise("https://127.0.0.1:8443/c.json").unwrap();
    assert_eq!((port.host(), port.port()), ("127.0.0.1", 8443));
    let v6 = DocumentUrl::recognise("https://[::1]:8443/c.json").unwrap();
    assert_eq!((v6.host(), v6.port()), ("::1", 8443));
    let v6 = DocumentUrl::recognise("https://[2001:db8::1]/c.json").unwrap();
    assert_eq!((v6.host(), v6.port()), ("2001:db8::1", 443));
    for not in [
        "svc",
        "http://app.example/c.json",
        "https://app.example",
        "https://app.example/",
        "https://app.example/c.json?x=1",
        "https://app.example/c.json#f",
        "https://user@app.example/c.json",
        "https://app.example/a/../c.json",
        "https://app.example/./c.json",
        "https://app.example/a/%2E%2e/c.json",
        "https://app.example/a/.%2e/c.json",
        "https://app.example:99999/c.json",
        "https://app.example:/c.json",
        "https://[::1/c.json",
        "https://[::1]x/c.json",
        "https://::1/c.json",
    ] {
        assert!(DocumentUrl::recognise(not).is_none(), "{not}");
    }
}

#[test]
fn private_loopback_and_link_local_addresses_are_refused_unless_allowed() {
    let policy = DocumentPolicy::default();
    for ip in [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
    ] {
        assert!(!policy.allows_address(ip.parse().unwrap()), "{ip}");
    }
    assert!(policy.allows_address("93.184.216.34".parse().unwrap()));
    assert!(policy.allows_address("2606:4700::1".parse().unwrap()));
    let allowed = DocumentPolicy {
        allow: vec!["127.0.0.0/8".parse().unwrap()],
        ..DocumentPolicy::default()
    };
    assert!(allowed.allows_address("127.0.0.1".parse().unwrap()));
    assert!(!allowed.allows_address("10.0.0.1".parse().unwrap()));
}

#[test]
fn caching_headers_are_followed_within_bounds() {
    let p = DocumentPolicy::default();
    assert_eq!(p.keep_secs(None, false), 300);
    assert_eq!(p.keep_secs(Some(3600), false), 3600);
    assert_eq!(p.keep_secs(Some(1), false), 60, "at least the minimum");
    assert_eq!(
        p.keep_secs(Some(10_000_000), false),
        86_400,
        "at most the maximum"
    );
    assert_eq!(p.keep_secs(Some(3600), true), 60, "no-store: the minimum");
}

#[test]
fn a_document_describes_a_public_third_party_client_named_by_its_url() {
    let url = DocumentUrl::recognise(URL).unwrap();
    let c = client_of(&url, body(URL), &registration(), UnixTime::from_secs(5)).unwrap();
    assert_eq!(c.id().as_str(), URL);
    assert!(c.auth_methods().contains(&ClientAuthMethod::None));
    assert!(c.roles().is_empty());
    assert_eq!(c.allowed_scopes().to_string(), "openid profile");
    let refuse = |b: DocumentBody| client_of(&url, b, &registration(), UnixTime::from_secs(5));
    assert!(
        refuse(body("https://app.example/other.json")).is_err(),
        "another client_id"
    );
    assert!(
        refuse(DocumentBody {
            has_secret: true,
            ..body(URL)
        })
        .is_err()
    );
    let mut secret_method = body(URL);
    secret_method.metadata.token_endpoint_auth_method = Some("client_secret_basic".into());
    assert!(refuse(secret_method).is_err());
    let mut greedy = body(URL);
    greedy.metadata.scope = Some("openid admin".into());
    assert!(refuse(greedy).is_err());
}

struct Counting {
    calls: AtomicUsize,
    answer: Result<FetchedDocument, FetchError>,
}

#[async_trait]
impl DocumentFetcher for Counting {
    async fn fetch(
        &self,
        _: &DocumentUrl,
        _: &DocumentPolicy,
    ) -> Result<FetchedDocument, FetchError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.answer.clone()
    }
}

#[tokio::test]
async fn documents_are_fetched_once_and_kept_and_failures_remembered_briefly() {
    let clock = Arc::new(Settable(AtomicI64::new(1000)));
    let fetcher = Arc::new(Counting {
        calls: AtomicUsize::new(0),
        answer: Ok(FetchedDocument {
            body: body(URL),
            max_age: Some(120),
            no_store: false,
        }),
    });
    let policy = DocumentPolicy {
        enabled: true,
        ..DocumentPolicy::default()
    };
    let docs = DocumentClients::new(
        fetcher.clone(),
        policy.clone(),
        registration(),
        clock.clone(),
    );
    let url = DocumentUrl::recognise(URL).unwrap();
    assert!(docs.resolve(&url).await.is_some());
    assert!(docs.resolve(&url).await.is_some());
    assert_eq!(fetcher.calls.load(Ordering::SeqCst), 1, "kept");
    clock.0.store(1121, Ordering::SeqCst);
    assert!(docs.resolve(&url).await.is_some());
    assert_eq!(
        fetcher.calls.load(Ordering::SeqCst),
        2,
        "fetched again after max-age"
    );

    let failing = Arc::new(Counting {
        calls: AtomicUsize::new(0),
        answer: Err(FetchError::Timeout),
    });
    let docs = DocumentClients::new(failing.clone(), policy, registration(), clock.clone());
    assert!(docs.resolve(&url).await.is_none());
    assert!(docs.resolve(&url).await.is_none());
    assert_eq!(
        failing.calls.load(Ordering::SeqCst),
        1,
        "a failure is remembered"
    );
    let off = DocumentClients::new(
        failing.clone(),
        DocumentPolicy::default(),
        registration(),
        clock,
    );
    assert!(off.resolve(&url).await.is_none());
    assert_eq!(
        failing.calls.load(Ordering::SeqCst),
        1,
        "off: never fetched"
    );
    // No fetch slot free: refused at once, without fetching, and not remembered.
    let busy = DocumentClients::new(
        fetcher.clone(),
        DocumentPolicy {
            enabled: true,
            max_in_flight: 0,
            ..DocumentPolicy::default()
        },
        registration(),
        Arc::new(Settable(AtomicI64::new(1000))),
    );
    let before = fetcher.calls.load(Ordering::SeqCst);
    assert!(busy.resolve(&url).await.is_none());
    assert_eq!(fetcher.calls.load(Ordering::SeqCst), before);
}
