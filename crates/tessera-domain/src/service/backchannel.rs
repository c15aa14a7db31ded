//! Back-Channel Logout 1.0's use cases: remembering which clients took part in a browser
//! session, queueing a notice for each of them when the session ends (logout, a user locked,
//! disabled or signed out by an operator), and delivering the queued notices with retries.

use std::sync::Arc;

use crate::authorize::Session;
use crate::backchannel::{
    AfterFailure, LogoutNotice, LogoutTokenClaims, Participant, after_failure,
};
use crate::cache::ClientCache;
use crate::client::{ClientId, SigningAlgorithm};
use crate::error::StoreError;
use crate::policy::Issuer;
use crate::ports::{LogoutDelivery, LogoutOutbox, RandomSource, TokenSigner};
use crate::time::UnixTime;

/// How many notices one delivery round claims.
const ROUND: u32 = 8;

/// Records participants and queues notices.
pub struct Backchannel {
    clients: Arc<ClientCache>,
    outbox: Arc<dyn LogoutOutbox>,
    random: Arc<dyn RandomSource>,
    give_up_secs: u32,
}

impl Backchannel {
    /// Over the client cache and the outbox; notices not delivered within `give_up_secs` are
    /// abandoned.
    #[must_use]
    pub fn new(
        clients: Arc<ClientCache>,
        outbox: Arc<dyn LogoutOutbox>,
        random: Arc<dyn RandomSource>,
        give_up_secs: u32,
    ) -> Self {
        Self {
            clients,
            outbox,
            random,
            give_up_secs,
        }
    }

    /// Remembers that `client` obtained a code through `session`.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn participated(
        &self,
        session: &Session,
        client: &ClientId,
    ) -> Result<(), StoreError> {
        self.outbox
            .record_participant(&Participant {
                sid: session.sid.clone(),
                user_id: session.user_id.clone(),
                client_id: client.clone(),
                expires_at: session.expires_at,
            })
            .await
    }

    /// `session` was renewed under the same `sid` (the same user signed in again): its
    /// participants are kept as long as it now lives.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn renewed(&self, session: &Session) -> Result<(), StoreError> {
        self.outbox
            .extend_participants(&session.sid, session.expires_at)
            .await
    }

    /// `sessions` are ending: queues a notice for every client that took part in one of them and
    /// registered a `backchannel_logout_uri` (§2.5), then forgets the participants. Called before
    /// the sessions are deleted, so a failure leaves the session to be ended again (at least
    /// once, never lost). Returns how many notices were queued.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn ended(&self, sessions: &[Session], now: UnixTime) -> Result<usize, StoreError> {
        if sessions.is_empty() {
            return Ok(0);
        }
        let sids: Vec<String> = sessions.iter().map(|s| s.sid.clone()).collect();
        let mut notices = Vec::new();
        for p in self.outbox.participants(&sids).await? {
            // A disabled client is still told: its user's session is over all the same.
            let Some(client) = self.clients.get(&p.client_id).await? else {
                continue;
            };
            let Some(uri) = client.options().backchannel_logout_uri.clone() else {
                continue;
            };
            notices.push(LogoutNotice {
                jti: self.new_jti(),
                client_id: p.client_id,
                uri,
                sub: p.user_id.as_str().to_owned(),
                sid: Some(p.sid),
                attempts: 0,
                next_attempt_at: now,
                give_up_at: now.plus_secs(i64::from(self.give_up_secs)),
            });
        }
        self.outbox.enqueue(&notices).await?;
        self.outbox.forget_participants(&sids).await?;
        Ok(notices.len())
    }

    fn new_jti(&self) -> String {
        use base64::Engine as _;
        let mut raw = [0u8; 16];
        self.random.fill(&mut raw);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }
}

/// What one delivery round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Round {
    /// Delivered and forgotten.
    pub delivered: u32,
    /// Failed, to be retried.
    pub failed: u32,
    /// Failed for the last time: their time was up.
    pub abandoned: u32,
}

/// Delivers queued notices.
pub struct LogoutCourier {
    clients: Arc<ClientCache>,
    outbox: Arc<dyn LogoutOutbox>,
    signer: Arc<dyn TokenSigner>,
    delivery: Arc<dyn LogoutDelivery>,
    issuer: Issuer,
    default_alg: SigningAlgorithm,
    /// How long a claimed notice stays hidden from other nodes: longer than a round can take.
    lease_secs: i64,
}

/// The ports of the courier.
pub struct CourierPorts {
    /// Clients, for their ID-token algorithm.
    pub clients: Arc<ClientCache>,
    /// The queue.
    pub outbox: Arc<dyn LogoutOutbox>,
    /// Signs the logout tokens.
    pub signer: Arc<dyn TokenSigner>,
    /// Posts them.
    pub delivery: Arc<dyn LogoutDelivery>,
}

impl LogoutCourier {
    /// A courier signing as `issuer` with the client's ID-token algorithm, else `default_alg`;
    /// each delivery may take `timeout_secs`.
    #[must_use]
    pub fn new(
        ports: CourierPorts,
        issuer: Issuer,
        default_alg: SigningAlgorithm,
        timeout_secs: u32,
    ) -> Self {
        Self {
            clients: ports.clients,
            outbox: ports.outbox,
            signer: ports.signer,
            delivery: ports.delivery,
            issuer,
            default_alg,
            lease_secs: i64::from(ROUND) * i64::from(timeout_secs.max(1)) + 10,
        }
    }

    /// Claims the notices due at `now` and tries each once: delivered ones are forgotten, failed
    /// ones retried with back-off ([`after_failure`]) until their time is up.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn deliver_due(&self, now: UnixTime) -> Result<Round, StoreError> {
        let due = self
            .outbox
            .claim_due(now, now.plus_secs(self.lease_secs), ROUND)
            .await?;
        let mut round = Round::default();
        for notice in due {
            match self.attempt(&notice, now).await {
                Ok(()) => {
                    self.outbox.finish(&notice.jti).await?;
                    round.delivered += 1;
                }
                Err((why, permanent)) => {
                    let attempts = notice.attempts.saturating_add(1);
                    let next = if permanent {
                        AfterFailure::Abandon
                    } else {
                        after_failure(attempts, notice.give_up_at, now)
                    };
                    match next {
                        AfterFailure::RetryAt(at) => {
                            tracing::warn!(client_id = %notice.client_id, attempts, error = %why, "back-channel logout failed; retrying");
                            self.outbox.reschedule(&notice.jti, attempts, at).await?;
                            round.failed += 1;
                        }
                        AfterFailure::Abandon => {
                            tracing::error!(client_id = %notice.client_id, attempts, error = %why, "back-channel logout abandoned");
                            self.outbox.finish(&notice.jti).await?;
                            round.abandoned += 1;
                        }
                    }
                }
            }
        }
        Ok(round)
    }

    /// One delivery; a failure says why and whether it is final: §2.8 has the client answer 400
    /// when it cannot log the session out, which the same token again will not change.
    async fn attempt(&self, notice: &LogoutNotice, now: UnixTime) -> Result<(), (String, bool)> {
        let alg = match self.clients.get(&notice.client_id).await {
            Ok(Some(c)) => c.options().id_token_alg.unwrap_or(self.default_alg),
            _ => self.default_alg,
        };
        let token = self
            .signer
            .sign_logout_token(alg, &LogoutTokenClaims::of(notice, &self.issuer, now))
            .map_err(|e| (e.to_string(), false))?;
        self.delivery
            .deliver(&notice.uri, token.expose())
            .await
            .map_err(|e| {
                let permanent = e == crate::ports::DeliveryError::Refused(400);
                (e.to_string(), permanent)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{DeliveryError, MockLogoutDelivery, MockLogoutOutbox, MockTokenSigner};

    fn notice(attempts: u32, give_up_at: i64) -> LogoutNotice {
        LogoutNotice {
            jti: "j1".into(),
            client_id: ClientId::parse("web").unwrap_or_else(|e| panic!("{e}")),
            uri: crate::registration::BackchannelUri::parse("https://rp.example/bc")
                .unwrap_or_else(|e| panic!("{e}")),
            sub: "usr_1".into(),
            sid: Some("s1".into()),
            attempts,
            next_attempt_at: UnixTime::from_secs(0),
            give_up_at: UnixTime::from_secs(give_up_at),
        }
    }

    fn courier(
        outbox: MockLogoutOutbox,
        delivery: MockLogoutDelivery,
        clients: Arc<ClientCache>,
    ) -> LogoutCourier {
        let mut signer = MockTokenSigner::new();
        signer.expect_sign_logout_token().returning(|_, claims| {
            Ok(crate::token::AccessToken::new(format!("lt.{}", claims.jti)))
        });
        LogoutCourier::new(
            CourierPorts {
                clients,
                outbox: Arc::new(outbox),
                signer: Arc::new(signer),
                delivery: Arc::new(delivery),
            },
            Issuer::parse("https://id.example").unwrap_or_else(|e| panic!("{e}")),
            SigningAlgorithm::Rs256,
            5,
        )
    }

    fn no_clients() -> Arc<ClientCache> {
        let mut repo = crate::ports::MockClientRepository::new();
        repo.expect_find().returning(|_| Ok(None));
        Arc::new(ClientCache::new(Arc::new(repo)))
    }

    #[tokio::test]
    async fn a_delivered_notice_is_forgotten_and_a_failed_one_backs_off_then_is_abandoned() {
        let now = UnixTime::from_secs(1_000);
        // Delivered.
        let mut outbox = MockLogoutOutbox::new();
        outbox
            .expect_claim_due()
            .withf(move |at, lease, limit| *at == now && lease.as_secs() == 1_050 && *limit == 8)
            .returning(|_, _, _| Ok(vec![notice(0, 5_000)]));
        outbox.expect_finish().times(1).returning(|_| Ok(()));
        let mut delivery = MockLogoutDelivery::new();
        delivery
            .expect_deliver()
            .withf(|uri, token| uri.as_str() == "https://rp.example/bc" && token == "lt.j1")
            .returning(|_, _| Ok(()));
        let round = courier(outbox, delivery, no_clients())
            .deliver_due(now)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(round.delivered, 1);

        // Failed on its third attempt: retried 4 s later.
        let mut outbox = MockLogoutOutbox::new();
        outbox
            .expect_claim_due()
            .returning(|_, _, _| Ok(vec![notice(2, 5_000)]));
        outbox
            .expect_reschedule()
            .withf(|jti, attempts, at| jti == "j1" && *attempts == 3 && at.as_secs() == 1_004)
            .times(1)
            .returning(|_, _, _| Ok(()));
        let mut delivery = MockLogoutDelivery::new();
        delivery
            .expect_deliver()
            .returning(|_, _| Err(DeliveryError::Refused(500)));
        let round = courier(outbox, delivery, no_clients())
            .deliver_due(now)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(round.failed, 1);

        // Refused with 400 (§2.8: the client cannot log it out): abandoned at once.
        let mut outbox = MockLogoutOutbox::new();
        outbox
            .expect_claim_due()
            .returning(|_, _, _| Ok(vec![notice(0, 5_000)]));
        outbox.expect_finish().times(1).returning(|_| Ok(()));
        let mut delivery = MockLogoutDelivery::new();
        delivery
            .expect_deliver()
            .returning(|_, _| Err(DeliveryError::Refused(400)));
        let round = courier(outbox, delivery, no_clients())
            .deliver_due(now)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(round.abandoned, 1);

        // Failed with its time up: abandoned and forgotten.
        let mut outbox = MockLogoutOutbox::new();
        outbox
            .expect_claim_due()
            .returning(|_, _, _| Ok(vec![notice(2, 1_001)]));
        outbox.expect_finish().times(1).returning(|_| Ok(()));
        let mut delivery = MockLogoutDelivery::new();
        delivery
            .expect_deliver()
            .returning(|_, _| Err(DeliveryError::Unreachable("refused".into())));
        let round = courier(outbox, delivery, no_clients())
            .deliver_due(now)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(round.abandoned, 1);
    }

    #[tokio::test]
    async fn only_participants_with_a_backchannel_uri_are_told() {
        use crate::registration::BackchannelUri;
        let with_uri = {
            let mut spec = crate::authorize::tests::client(
                &["https://app.example/cb"],
                &[crate::client::GrantType::AuthorizationCode],
            )
            .to_spec();
            spec.options.backchannel_logout_uri = Some(
                BackchannelUri::parse("https://app.example/bc").unwrap_or_else(|e| panic!("{e}")),
            );
            crate::client::Client::new(spec).unwrap_or_else(|e| panic!("{e}"))
        };
        let mut repo = crate::ports::MockClientRepository::new();
        repo.expect_find()
            .returning(move |id| Ok((id.as_str() == "web").then(|| with_uri.clone())));
        let clients = Arc::new(ClientCache::new(Arc::new(repo)));
        let user = crate::user::UserId::parse("usr_1").unwrap_or_else(|e| panic!("{e}"));
        let participant = |client: &str| Participant {
            sid: "s1".into(),
            user_id: user.clone(),
            client_id: ClientId::parse(client).unwrap_or_else(|e| panic!("{e}")),
            expires_at: UnixTime::from_secs(9_000),
        };
        let taken = vec![participant("web"), participant("gone")];
        let mut outbox = MockLogoutOutbox::new();
        outbox
            .expect_participants()
            .withf(|sids| sids == ["s1".to_owned()])
            .returning(move |_| Ok(taken.clone()));
        outbox
            .expect_forget_participants()
            .withf(|sids| sids == ["s1".to_owned()])
            .times(1)
            .returning(|_| Ok(()));
        outbox
            .expect_enqueue()
            .withf(|notices| {
                notices.len() == 1
                    && notices[0].client_id.as_str() == "web"
                    && notices[0].sid.as_deref() == Some("s1")
                    && notices[0].sub == "usr_1"
                    && notices[0].give_up_at.as_secs() == 1_000 + 3_600
            })
            .times(1)
            .returning(|_| Ok(()));
        let backchannel = Backchannel::new(
            clients,
            Arc::new(outbox),
            Arc::new(crate::service::tests::Counter::default()),
            3_600,
        );
        let session = Session {
            hash: crate::issued::TokenHash::of("tss_x"),
            user_id: user.clone(),
            auth_time: UnixTime::from_secs(1),
            expires_at: UnixTime::from_secs(9_000),
            sid: "s1".into(),
        };
        let queued = backchannel
            .ended(&[session], UnixTime::from_secs(1_000))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(queued, 1);
    }
}
