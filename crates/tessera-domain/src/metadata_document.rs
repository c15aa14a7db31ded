//! Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document): a `client_id`
//! that is an `https` URL names a JSON document of RFC 7591 client metadata, fetched when the
//! client first appears. This module decides which URLs qualify (§3), which addresses may be
//! fetched (§6, server-side request forgery), how long a document is kept, and what client a
//! document describes (§4); the fetching itself is an adapter's ([`crate::ports::DocumentFetcher`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::client::{Client, ClientAuthMethod, ClientId, ClientName, ClientSpec, GrantType};
use crate::ports::{Clock, DocumentFetcher};
use crate::registration::ClientOptions;
use crate::service::{ClientMetadata, MetadataError, RawMetadata, RegistrationPolicy};
use crate::time::UnixTime;

/// A `client_id` that names a metadata document (§3): `https`, a host, a path, no user info,
/// no query, no fragment, no `.` or `..` segment.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DocumentUrl {
    url: String,
    host: String,
    port: u16,
}

impl DocumentUrl {
    /// The URL `client_id` is, when it names a metadata document; `None` for any other client
    /// id (an ordinary one, or a URL that breaks §3).
    #[must_use]
    pub fn recognise(client_id: &str) -> Option<Self> {
        let rest = client_id.strip_prefix("https://")?;
        if client_id.contains(['?', '#', '\\']) || client_id.chars().any(|c| c.is_whitespace()) {
            return None;
        }
        let (authority, path) = rest.split_at(rest.find('/')?);
        if authority.is_empty() || authority.contains('@') || path.len() < 2 {
            return None;
        }
        if path.split('/').skip(1).any(|s| {
            // `.` and `..`, also percent-encoded (RFC 3986 §6.2.2.2 normalises them).
            let plain = s.to_ascii_lowercase().replace("%2e", ".");
            plain == "." || plain == ".."
        }) {
            return None;
        }
        // `[v6]` or `[v6]:port` (RFC 3986 §3.2.2), else `host` or `host:port`.
        let (host, port) = match authority.strip_prefix('[') {
            Some(bracketed) => {
                let (host, rest) = bracketed.split_once(']')?;
                match rest {
                    "" => (host, 443),
                    _ => (host, rest.strip_prefix(':')?.parse::<u16>().ok()?),
                }
            }
            None => match authority.split_once(':') {
                Some((host, port)) => (host, port.parse::<u16>().ok()?),
                None => (authority, 443),
            },
        };
        if host.is_empty() {
            return None;
        }
        Some(Self {
            url: client_id.to_owned(),
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// The URL.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The host, as the consent page shows it.
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port (443 unless the URL names one).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }
}

/// Whether `ip` is a public unicast address: not loopback, private (RFC 1918, RFC 4193),
/// link-local, shared (RFC 6598), unspecified, multicast, broadcast, documentation or an
/// IPv4-mapped form of one of those.
#[must_use]
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

/// How metadata documents are resolved (`[registration]` settings).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentPolicy {
    /// Whether a URL `client_id` is resolved at all.
    pub enabled: bool,
    /// Addresses that may be fetched although they are not public (tests, intranets).
    pub allow: Vec<ipnet::IpNet>,
    /// The largest document read (§6.4 suggests 5 KiB).
    pub max_bytes: usize,
    /// How long a fetch may take, connection and body together.
    pub timeout: Duration,
    /// A document is kept at least this long, whatever its caching headers say.
    pub min_cache_secs: u32,
    /// … and at most this long.
    pub max_cache_secs: u32,
    /// How long a refused or unreachable document is remembered as such.
    pub negative_cache_secs: u32,
    /// At most this many fetches at once; past it a new document is refused at once (not
    /// remembered), so a flood of made-up URLs cannot tie the server up in outbound requests.
    pub max_in_flight: usize,
}

impl Default for DocumentPolicy {
    fn default() -> Self {
        Self {
            enabled: false,
            allow: Vec::new(),
            max_bytes: 5 * 1024,
            timeout: Duration::from_secs(3),
            min_cache_secs: 60,
            max_cache_secs: 86_400,
            negative_cache_secs: 30,
            max_in_flight: 16,
        }
    }
}

impl DocumentPolicy {
    /// Whether the fetcher may connect to `ip`: a public address, or one in the allow-list.
    #[must_use]
    pub fn allows_address(&self, ip: IpAddr) -> bool {
        is_public(ip) || self.allow.iter().any(|net| net.contains(&ip))
    }

    /// How long to keep a document whose answer said `max-age` (or `no-store`/`no-cache`):
    /// within the policy's bounds, 5 minutes when it said nothing.
    #[must_use]
    pub fn keep_secs(&self, max_age: Option<u64>, no_store: bool) -> u32 {
        let asked = if no_store {
            0
        } else {
            max_age.map_or(300, |a| u32::try_from(a).unwrap_or(u32::MAX))
        };
        asked.clamp(
            self.min_cache_secs,
            self.max_cache_secs.max(self.min_cache_secs),
        )
    }
}

/// A fetched document, as the adapter read its JSON object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocumentBody {
    /// Its `client_id`, when it is a string.
    pub client_id: Option<String>,
    /// Whether it holds `client_secret` or `client_secret_expires_at` (§4.1 forbids both).
    pub has_secret: bool,
    /// Its client metadata.
    pub metadata: RawMetadata,
}

/// The client `body` (the document fetched from `url`) describes.
///
/// # Errors
/// `InvalidClientMetadata` when it does not name `url` as its `client_id` (compared as strings,
/// §4.1), holds a secret, asks for an authentication method other than `none`, or breaks the
/// registration policy; `InvalidRedirectUri` for its redirect URIs.
pub fn client_of(
    url: &DocumentUrl,
    body: DocumentBody,
    registration: &RegistrationPolicy,
    now: UnixTime,
) -> Result<Client, MetadataError> {
    let invalid = |d: String| MetadataError::InvalidClientMetadata(d);
    if body.client_id.as_deref() != Some(url.as_str()) {
        return Err(invalid(format!(
            "the document's client_id is not {}",
            url.as_str()
        )));
    }
    if body.has_secret {
        return Err(invalid(
            "a metadata document may not hold client_secret or client_secret_expires_at".into(),
        ));
    }
    let raw = body.metadata;
    let m = ClientMetadata::parse(RawMetadata {
        token_endpoint_auth_method: raw
            .token_endpoint_auth_method
            .clone()
            .or_else(|| Some("none".into())),
        ..raw
    })?;
    if m.auth_method != ClientAuthMethod::None {
        return Err(invalid(format!(
            "token_endpoint_auth_method {} is not supported for a metadata document (use none)",
            m.auth_method
        )));
    }
    if m.grant_types.contains(&GrantType::ClientCredentials) {
        return Err(invalid(
            "a metadata-document client is public: no client_credentials".into(),
        ));
    }
    registration.admit(&m)?;
    let id = ClientId::parse(url.as_str()).map_err(|e| invalid(e.to_string()))?;
    let name = m
        .client_name
        .clone()
        .or_else(|| ClientName::parse(url.host()).ok())
        .ok_or_else(|| invalid("no client_name".into()))?;
    let scope = registration.granted_scope(&m);
    Client::new(ClientSpec {
        auth_methods: [ClientAuthMethod::None].into(),
        grant_types: m.grant_types.clone(),
        default_scopes: scope.clone(),
        allowed_scopes: scope,
        redirect_uris: m.redirect_uris.clone(),
        options: ClientOptions {
            post_logout_redirect_uris: m.post_logout_redirect_uris.clone(),
            backchannel_logout_uri: m.backchannel_logout_uri.clone(),
            id_token_alg: m.id_token_alg,
            resources: m.resources.clone(),
            refresh_with_client_credentials: false,
        },
        ..ClientSpec::new(id, name, Vec::new(), now)
    })
    .map_err(|e| invalid(e.to_string()))
}

/// Resolves metadata-document clients: fetched once, kept as the policy says, a refused or
/// unreachable document remembered briefly so that a flood of requests is not a flood of
/// fetches.
pub struct DocumentClients {
    fetcher: Arc<dyn DocumentFetcher>,
    policy: DocumentPolicy,
    registration: RegistrationPolicy,
    clock: Arc<dyn Clock>,
    kept: Mutex<HashMap<String, Kept>>,
    in_flight: std::sync::atomic::AtomicUsize,
}

/// One fetch in flight, counted until it is dropped (also when the request is cancelled).
struct InFlight<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// A resolved document (or a failure: `None`) and until when it is kept.
type Kept = (Option<Arc<Client>>, UnixTime);

/// The most documents kept in memory; past it the memory starts over.
const MAX_KEPT: usize = 10_000;

impl DocumentClients {
    /// Resolution through `fetcher` under `policy`, the client checked against `registration`.
    #[must_use]
    pub fn new(
        fetcher: Arc<dyn DocumentFetcher>,
        policy: DocumentPolicy,
        registration: RegistrationPolicy,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            fetcher,
            policy,
            registration,
            clock,
            kept: Mutex::new(HashMap::new()),
            in_flight: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// The client `url` describes, fetched or kept; `None` when it cannot be had (the reason
    /// is logged).
    pub async fn resolve(&self, url: &DocumentUrl) -> Option<Arc<Client>> {
        if !self.policy.enabled {
            return None;
        }
        let now = self.clock.now();
        if let Ok(kept) = self.kept.lock()
            && let Some((client, until)) = kept.get(url.as_str())
            && *until > now
        {
            return client.clone();
        }
        let slot = InFlight(&self.in_flight);
        if self
            .in_flight
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel)
            >= self.policy.max_in_flight
        {
            tracing::warn!(
                client_id = url.as_str(),
                "metadata document refused: too many fetches at once"
            );
            return None;
        }
        let fetched = self.fetcher.fetch(url, &self.policy).await;
        drop(slot);
        let (client, keep) = match fetched {
            Ok(doc) => match client_of(url, doc.body, &self.registration, now) {
                Ok(c) => (
                    Some(Arc::new(c)),
                    self.policy.keep_secs(doc.max_age, doc.no_store),
                ),
                Err(e) => {
                    tracing::warn!(client_id = url.as_str(), error = %e, "metadata document refused");
                    (None, self.policy.negative_cache_secs)
                }
            },
            Err(e) => {
                tracing::warn!(client_id = url.as_str(), error = %e, "metadata document not fetched");
                (None, self.policy.negative_cache_secs)
            }
        };
        if let Ok(mut kept) = self.kept.lock() {
            if kept.len() >= MAX_KEPT {
                kept.clear();
            }
            kept.insert(
                url.as_str().to_owned(),
                (client.clone(), now.plus_secs(i64::from(keep))),
            );
        }
        client
    }
}

#[cfg(test)]
mod tests;
