//! `tessera serve`: open the store, make sure keys exist, wire the services and serve HTTP.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use anyhow::Context as _;
use tessera_domain::Audience;
use tessera_domain::cache::ClientCache;
use tessera_domain::keys::KeyPolicy;
use tessera_domain::policy::{Issuer, TokenPolicy};
use tessera_domain::ports::{
    AuditStore, AuthorizationCodeStore, Clock, LogoutOutbox, OpaqueTokenStore, RefreshTokenStore,
    RevocationList, SessionStore, SignInThrottle, TokenSigner,
};
use tessera_domain::service::{
    AuthorizePorts, AuthorizeService, Backchannel, CourierPorts, KeyError, KeyService,
    LogoutCourier, SignIn, TokenPorts, TokenService, key_lease_secs,
};
use tessera_http_actix::{HttpState, ServerOptions};
use tessera_keys_jwt::{AwsLcKeyGenerator, AwsLcRandom, JwtKeyRing};
use tessera_store_diesel::DieselStore;

use crate::settings::Settings;
use crate::wiring::{SystemClock, TokioBlocking, pepper};

/// The issuer: configured, or `http://` + the bound address (loopback for an unspecified one).
fn derive_issuer(configured: Option<&Issuer>, bound: SocketAddr) -> anyhow::Result<Issuer> {
    if let Some(issuer) = configured {
        return Ok(issuer.clone());
    }
    let mut addr = bound;
    if addr.ip().is_unspecified() {
        tracing::warn!("bound to {bound}: set server.issuer to the URL clients use");
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    Issuer::parse(&format!("http://{addr}")).context("derived issuer")
}

/// Runs the server until it is stopped (SIGINT or SIGTERM stop it gracefully).
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(crate::wiring::open_store_serving(
        &settings,
        Some(settings.server.bind),
    )?);
    let pepper = pepper(&store).await?;

    let (audit, audit_writer) =
        crate::audit::BufferedAudit::start(store.clone(), settings.audit.token_events);
    let ring = Arc::new(JwtKeyRing::new());
    let signer: Arc<dyn TokenSigner> = ring.clone();
    // Nodes sharing the database change keys one at a time, under a lease renewed every refresh.
    let keys = Arc::new(
        KeyService::new(store.clone(), Arc::new(AwsLcKeyGenerator), signer.clone())
            .with_audit(audit.clone())
            .with_algorithms(settings.keys.algorithms.clone())
            .with_lease(
                store.clone(),
                node_name(),
                key_lease_secs(settings.cache_refresh),
            ),
    );
    let made = keys_at_start(&keys, &settings.keys.algorithms, clock.as_ref()).await?;
    for kid in made {
        tracing::info!(%kid, "generated a signing key");
    }

    let mut cache = ClientCache::new(store.clone());
    if settings.documents.enabled {
        let ca = match &settings.document_ca_file {
            Some(file) => Some(std::fs::read(file).with_context(|| {
                format!("registration.metadata_document_ca_file: {}", file.display())
            })?),
            None => None,
        };
        let fetcher = crate::document_fetch::HttpDocumentFetcher::new(ca.as_deref())
            .context("registration.metadata_document_ca_file")?;
        cache = cache.with_documents(Arc::new(
            tessera_domain::metadata_document::DocumentClients::new(
                Arc::new(fetcher),
                settings.documents.clone(),
                settings.registration.clone(),
                clock.clone(),
            ),
        ));
    }
    let clients = Arc::new(cache);
    clients.refresh().await.context("cannot read clients")?;

    let listener = TcpListener::bind(settings.server.bind)
        .with_context(|| format!("cannot listen on {}", settings.server.bind))?;
    let bound = listener.local_addr()?;
    let issuer = derive_issuer(settings.server.issuer.as_ref(), bound)?;
    let default_audience = match &settings.tokens.default_audience {
        Some(aud) => aud.clone(),
        None => Audience::parse(issuer.as_str()).context("issuer as audience")?,
    };
    let policy = TokenPolicy {
        issuer: issuer.clone(),
        default_audience,
        default_ttl: settings.tokens.default_ttl,
        default_alg: settings.tokens.default_alg,
        refresh_ttl_secs: settings.tokens.refresh_ttl_secs,
        refresh_grace_secs: settings.tokens.refresh_grace_secs,
        introspection_role: settings.tokens.introspection_role.clone(),
        id_token_alg: settings.oidc.id_token_alg,
    };
    // The JWT denylist in memory: introspection and the gateway check read no table per request.
    let denylist = Arc::new(tessera_domain::denylist::Denylist::new(store.clone()));
    if let Err(e) = denylist.refresh(clock.now()).await {
        tracing::warn!(error = %e, "loading the denylist failed; checks read the database until it loads");
    }
    let limiter: Arc<dyn tessera_domain::ports::RateLimiter> =
        Arc::new(crate::limits::InMemoryRateLimiter::new(settings.limits));
    // The client use cases of the admin API and of dynamic registration (the CLI's too).
    let client_admin = tessera_domain::service::ClientAdmin::new(
        store.clone(),
        Arc::new(AwsLcRandom),
        pepper.clone(),
    )
    .with_audit(audit.clone())
    .with_limits(crate::client_cmd::limits(&settings));
    // One bound on slow hashing for the token endpoint and the sign-in page together.
    let blocking = TokioBlocking::per_core()?;
    let ports = TokenPorts {
        clients: clients.clone(),
        signer: signer.clone(),
        random: Arc::new(AwsLcRandom),
        blocking: Arc::new(blocking.clone()),
        refresh: store.clone(),
        opaque: store.clone(),
        revoked: denylist.clone(),
        users: store.clone(),
        params: store.clone(),
        codes: store.clone(),
        limiter: limiter.clone(),
        audit: audit.clone(),
    };
    let tokens = TokenService::new(ports, pepper.clone(), policy);
    let sign_in = SignIn::new(
        store.clone(),
        store.clone(),
        Arc::new(blocking),
        &AwsLcRandom,
        settings.users,
    )
    .context("sign-in")?;
    let (delivery_timeout, give_up_secs) = settings.oidc.backchannel;
    let backchannel = Arc::new(Backchannel::new(
        clients.clone(),
        store.clone(),
        Arc::new(AwsLcRandom),
        give_up_secs,
    ));
    let courier = Arc::new(LogoutCourier::new(
        CourierPorts {
            clients: clients.clone(),
            outbox: store.clone(),
            signer: signer.clone(),
            delivery: Arc::new(crate::backchannel::HttpDelivery::new(delivery_timeout)?),
        },
        issuer.clone(),
        settings.oidc.id_token_alg,
        u32::try_from(delivery_timeout.as_secs()).unwrap_or(u32::MAX),
    ));
    let authorize = AuthorizeService::new(
        AuthorizePorts {
            clients: clients.clone(),
            codes: store.clone(),
            sessions: store.clone(),
            consents: store.clone(),
            users: store.clone(),
            random: Arc::new(AwsLcRandom),
            signer: signer.clone(),
            issuer: issuer.clone(),
            backchannel: backchannel.clone(),
        },
        sign_in,
        settings.oidc.authorize,
    )
    .with_audit(audit.clone());
    let client_cert_trust = match &settings.server.client_ca_file {
        Some(file) => {
            let pem = std::fs::read(file)
                .with_context(|| format!("server.client_ca_file: {}", file.display()))?;
            tessera_http_actix::tls::ClientCertTrust::from_pem(&pem)
                .map_err(|e| anyhow::anyhow!("server.client_ca_file: {e}"))?
        }
        None => tessera_http_actix::tls::ClientCertTrust::default(),
    };
    let tokens = Arc::new(tokens);
    let state = HttpState {
        tokens: tokens.clone(),
        params: Arc::new(tessera_domain::service::ParamService::new(
            store.clone(),
            store.clone(),
            Arc::new(AwsLcRandom),
        )),
        signer,
        clock: clock.clone(),
        issuer: issuer.clone(),
        jwks_max_age: settings.keys.jwks_max_age,
        algorithms: settings.keys.algorithms.clone(),
        dialects: settings.dialects.clone(),
        mtls_listener: settings.server.tls.is_some(),
        authorize: Arc::new(authorize),
        client_cert_trust,
        trusted_proxies: settings.server.trusted_proxies.clone(),
        metadata_documents: settings.documents.enabled,
        registration: Arc::new(
            tessera_domain::service::DynamicRegistration::new(
                client_admin.clone(),
                store.clone(),
                Arc::new(AwsLcRandom),
                limiter,
                settings.registration.clone(),
            )
            .with_cache(clients.clone()),
        ),
    };
    let (request_timeout, body_timeout, max_connections) = settings.server.http_limits;
    let options = ServerOptions {
        workers: settings.server.workers,
        request_timeout,
        body_timeout,
        max_connections,
        ..ServerOptions::default()
    };
    let tls = match &settings.server.tls {
        Some((addr, cert_file, key_file)) => {
            let cert = std::fs::read(cert_file)
                .with_context(|| format!("server.tls.cert_file: {}", cert_file.display()))?;
            let key = std::fs::read(key_file)
                .with_context(|| format!("server.tls.key_file: {}", key_file.display()))?;
            let config = tessera_http_actix::tls::server_config(&cert, &key)
                .map_err(|e| anyhow::anyhow!("server.tls: {e}"))?;
            let tls_listener =
                TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
            Some((tls_listener, config))
        }
        None => None,
    };
    let tls_bound = match &tls {
        Some((l, _)) => Some(l.local_addr()?),
        None => None,
    };
    let server = tessera_http_actix::start(listener, tls, state, &options)
        .context("cannot start the HTTP server")?;
    let admin = match settings.admin_bind {
        Some(addr) => {
            let listener = TcpListener::bind(addr)
                .with_context(|| format!("admin.bind: cannot listen on {addr}"))?;
            let bound = listener.local_addr()?;
            let state = tessera_http_actix::admin::AdminState {
                tokens: tokens.clone(),
                clients: Arc::new(client_admin.clone()),
                cache: clients.clone(),
                keys: keys.clone(),
                users: Arc::new(
                    tessera_domain::service::UserAdmin::new(store.clone(), Arc::new(AwsLcRandom))
                        .with_sessions(store.clone(), backchannel.clone())
                        .with_audit(audit.clone()),
                ),
                initial_tokens: Arc::new(
                    tessera_domain::service::InitialTokens::new(
                        store.clone(),
                        Arc::new(AwsLcRandom),
                    )
                    .with_audit(audit.clone()),
                ),
                audit: store.clone(),
                clock: clock.clone(),
            };
            let server = tessera_http_actix::admin::start(listener, state, settings.server.workers)
                .context("cannot start the admin API")?;
            Some((server, bound))
        }
        None => None,
    };

    // Caches follow the store: every change made by any process sharing the database (the CLI,
    // another node) is seen within one refresh interval.
    let poller = tokio::spawn(follow_store(
        clients,
        keys.clone(),
        settings.keys.policy,
        clock.clone(),
        settings.cache_refresh,
    ));
    let denier = tokio::spawn(follow_denylist(denylist, clock.clone()));
    let purger = tokio::spawn(purge_expired(
        store.clone(),
        clock.clone(),
        settings.tokens.purge_interval,
        i64::from(settings.audit.retention_days) * 86_400,
    ));
    let observer = tokio::spawn(observe(store.clone(), keys.clone(), clock.clone()));
    // Logout notices live in the database: any node delivers them, a restart resumes them.
    let couriers = tokio::spawn(crate::backchannel::run_courier(
        courier,
        clock.clone(),
        std::time::Duration::from_secs(1),
    ));

    // The line tests and scripts wait for; printed once the socket is listening.
    if let Some(addr) = tls_bound {
        println!("tessera listening with mutual TLS on https://{addr}");
    }
    let admin = admin.map(|(admin, at)| {
        println!("tessera admin API listening on http://{at}");
        admin
    });
    println!("tessera listening on http://{bound} (issuer {issuer})");
    tracing::info!(address = %bound, %issuer, "serving");
    let admin_handle = admin.as_ref().map(actix_web::dev::Server::handle);
    let admin_done = async {
        match admin {
            Some(admin) => admin.await,
            None => Ok(()),
        }
    };
    let public_done = async {
        let result = server.await;
        // The public server stopped (a signal, or it failed): the admin API stops with it.
        if let Some(handle) = &admin_handle {
            handle.stop(true).await;
        }
        result
    };
    let (result, admin_result) = tokio::join!(public_done, admin_done);
    let result = result
        .context("HTTP server failed")
        .and(admin_result.context("admin API failed"));
    poller.abort();
    denier.abort();
    purger.abort();
    observer.abort();
    couriers.abort();
    audit.drain(std::time::Duration::from_secs(2)).await;
    drop(audit_writer);
    tracing::info!("stopped");
    result
}

/// Follows other nodes' revocations: the denylist reloads within
/// `tessera_domain::denylist::REFRESH_EVERY_MS` of a change (one indexed read of a counter each
/// time when nothing changed).
async fn follow_denylist(denylist: Arc<tessera_domain::denylist::Denylist>, clock: Arc<dyn Clock>) {
    let every = std::time::Duration::from_millis(tessera_domain::denylist::REFRESH_EVERY_MS);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = denylist.refresh(clock.now()).await {
            tracing::warn!(error = %e, "denylist refresh failed; serving the copy in memory");
        }
    }
}

/// Deletes what has expired: opaque tokens, refresh families, denylist entries.
async fn purge_expired(
    store: Arc<DieselStore>,
    clock: Arc<dyn Clock>,
    every: std::time::Duration,
    audit_retention_secs: i64,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = clock.now();
        let opaque = OpaqueTokenStore::purge(store.as_ref(), now).await;
        let refresh = RefreshTokenStore::purge(store.as_ref(), now).await;
        let denied = RevocationList::purge(store.as_ref(), now).await;
        match (opaque, refresh, denied) {
            (Ok(o), Ok(r), Ok(d)) if o + r + d > 0 => {
                tracing::info!(
                    opaque = o,
                    refresh_families = r,
                    denylist = d,
                    "purged expired tokens"
                );
            }
            (Ok(_), Ok(_), Ok(_)) => {}
            (o, r, d) => tracing::warn!(?o, ?r, ?d, "purging expired tokens failed"),
        }
        match AuditStore::purge(store.as_ref(), now.plus_secs(-audit_retention_secs)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(events = n, "purged audit events past their retention"),
            Err(e) => tracing::warn!(error = %e, "purging audit events failed"),
        }
        if let Err(e) = LogoutOutbox::purge(store.as_ref(), now).await {
            tracing::warn!(error = %e, "purging ended session participants failed");
        }
        let codes = AuthorizationCodeStore::purge(store.as_ref(), now).await;
        let sessions = SessionStore::purge(store.as_ref(), now).await;
        let throttle = SignInThrottle::purge(store.as_ref(), now).await;
        match (codes, sessions, throttle) {
            (Ok(c), Ok(s), Ok(t)) if c + s + t > 0 => {
                tracing::info!(
                    codes = c,
                    sessions = s,
                    sign_in_windows = t,
                    "purged expired sign-in state"
                );
            }
            (Ok(_), Ok(_), Ok(_)) => {}
            (c, s, t) => tracing::warn!(?c, ?s, ?t, "purging expired sign-in state failed"),
        }
    }
}

/// Pushes the gauges `/metrics` reports: the database pool and the age of every live key.
async fn observe(store: Arc<DieselStore>, keys: Arc<KeyService>, clock: Arc<dyn Clock>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let (connections, idle) = store.pool_state();
        tessera_http_actix::metrics::set_pool(connections, idle);
        if let Ok(all) = keys.list().await {
            let now = clock.now().as_secs();
            let live: Vec<_> = all
                .iter()
                .filter(|k| k.state != tessera_domain::keys::KeyState::Retired)
                .map(|k| {
                    (
                        k.kid.to_string(),
                        k.alg.as_str(),
                        k.state.as_str(),
                        now - k.created_at.as_secs(),
                    )
                })
                .collect();
            tessera_http_actix::metrics::set_key_ages(&live);
        }
    }
}

/// This node's name in leases: host, process and start time, so a restarted process is a new
/// holder.
fn node_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "tessera".into());
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{host}/{}/{started:x}", std::process::id())
}

/// Makes sure every algorithm has an active key before serving: the node holding the key lease
/// makes missing keys, the others wait (up to a minute) for them and load what it made.
async fn keys_at_start(
    keys: &KeyService,
    algorithms: &[tessera_domain::SigningAlgorithm],
    clock: &dyn Clock,
) -> anyhow::Result<Vec<String>> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        match keys.ensure_active(algorithms, clock.now()).await {
            Err(KeyError::LeaseHeldElsewhere) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            made => return made.context("signing keys"),
        }
    }
}

async fn follow_store(
    clients: Arc<ClientCache>,
    keys: Arc<KeyService>,
    policy: KeyPolicy,
    clock: Arc<dyn Clock>,
    every: std::time::Duration,
) {
    let mut key_version = keys.version().await.ok();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = clients.refresh().await {
            tracing::warn!(error = %e, "client cache refresh failed; serving cached clients");
        }
        // The key lifecycle changes keys on the lease holder only; every node reloads below.
        match keys.tick(clock.now(), &policy).await {
            Ok(changes) => {
                for change in changes {
                    tracing::info!(?change, "signing key lifecycle");
                }
            }
            Err(e) => tracing::error!(error = %e, "signing key lifecycle step failed"),
        }
        match keys.version().await {
            Ok(v) if Some(v) != key_version => match keys.reload().await {
                Ok(v) => key_version = Some(v),
                Err(e) => tracing::error!(error = %e, "reloading signing keys failed"),
            },
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "key version check failed"),
        }
    }
}
