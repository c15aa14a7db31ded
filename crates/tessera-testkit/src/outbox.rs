//! The in-memory back-channel logout outbox: participants of sessions and queued notices, with
//! the store's semantics (idempotent participants, claims hidden until their lease ends).

use std::sync::Mutex;

use async_trait::async_trait;
use tessera_domain::backchannel::{LogoutNotice, Participant};
use tessera_domain::{StoreError, UnixTime};

/// Participants and notices, in memory.
#[derive(Debug, Default)]
pub struct InMemoryOutbox {
    participants: Mutex<Vec<Participant>>,
    notices: Mutex<Vec<LogoutNotice>>,
}

impl InMemoryOutbox {
    /// The notices queued now, oldest first.
    #[must_use]
    pub fn queued(&self) -> Vec<LogoutNotice> {
        self.notices.lock().unwrap().clone()
    }
}

#[async_trait]
impl tessera_domain::ports::LogoutOutbox for InMemoryOutbox {
    async fn record_participant(&self, participant: &Participant) -> Result<(), StoreError> {
        let mut all = self.participants.lock().unwrap();
        match all
            .iter_mut()
            .find(|p| p.sid == participant.sid && p.client_id == participant.client_id)
        {
            Some(known) => known.expires_at = known.expires_at.max(participant.expires_at),
            None => all.push(participant.clone()),
        }
        Ok(())
    }

    async fn extend_participants(&self, sid: &str, until: UnixTime) -> Result<(), StoreError> {
        for p in self
            .participants
            .lock()
            .unwrap()
            .iter_mut()
            .filter(|p| p.sid == sid)
        {
            p.expires_at = p.expires_at.max(until);
        }
        Ok(())
    }

    async fn participants(&self, sids: &[String]) -> Result<Vec<Participant>, StoreError> {
        Ok(self
            .participants
            .lock()
            .unwrap()
            .iter()
            .filter(|p| sids.contains(&p.sid))
            .cloned()
            .collect())
    }

    async fn forget_participants(&self, sids: &[String]) -> Result<(), StoreError> {
        self.participants
            .lock()
            .unwrap()
            .retain(|p| !sids.contains(&p.sid));
        Ok(())
    }

    async fn enqueue(&self, notices: &[LogoutNotice]) -> Result<(), StoreError> {
        let mut all = self.notices.lock().unwrap();
        if notices.iter().any(|n| all.iter().any(|q| q.jti == n.jti)) {
            return Err(StoreError::Conflict);
        }
        all.extend(notices.iter().cloned());
        Ok(())
    }

    async fn claim_due(
        &self,
        now: UnixTime,
        lease_until: UnixTime,
        limit: u32,
    ) -> Result<Vec<LogoutNotice>, StoreError> {
        let mut all = self.notices.lock().unwrap();
        all.sort_by_key(|n| n.next_attempt_at);
        let mut claimed = Vec::new();
        for n in all.iter_mut().filter(|n| n.next_attempt_at <= now) {
            if claimed.len() >= limit as usize {
                break;
            }
            claimed.push(n.clone());
            n.next_attempt_at = lease_until;
        }
        Ok(claimed)
    }

    async fn reschedule(&self, jti: &str, attempts: u32, at: UnixTime) -> Result<(), StoreError> {
        for n in self
            .notices
            .lock()
            .unwrap()
            .iter_mut()
            .filter(|n| n.jti == jti)
        {
            n.attempts = attempts;
            n.next_attempt_at = at;
        }
        Ok(())
    }

    async fn finish(&self, jti: &str) -> Result<(), StoreError> {
        self.notices.lock().unwrap().retain(|n| n.jti != jti);
        Ok(())
    }

    async fn purge(&self, now: UnixTime) -> Result<u64, StoreError> {
        let mut all = self.participants.lock().unwrap();
        let before = all.len();
        all.retain(|p| now < p.expires_at);
        Ok((before - all.len()) as u64)
    }
}

/// [`tessera_domain::ports::LogoutOutbox`]'s contract.
pub async fn contract(store: &dyn tessera_domain::ports::LogoutOutbox) {
    use tessera_domain::ClientId;
    use tessera_domain::registration::BackchannelUri;
    use tessera_domain::user::UserId;
    let t = UnixTime::from_secs;
    let participant = |sid: &str, client: &str| Participant {
        sid: sid.into(),
        user_id: UserId::parse("ana").unwrap(),
        client_id: ClientId::parse(client).unwrap(),
        expires_at: t(500),
    };
    store
        .record_participant(&participant("s1", "web"))
        .await
        .unwrap();
    store
        .record_participant(&participant("s1", "web"))
        .await
        .unwrap();
    store
        .record_participant(&participant("s1", "spa"))
        .await
        .unwrap();
    store
        .record_participant(&participant("s2", "web"))
        .await
        .unwrap();
    let mut seen = store.participants(&["s1".into()]).await.unwrap();
    seen.sort_by(|a, b| a.client_id.as_str().cmp(b.client_id.as_str()));
    assert_eq!(
        seen,
        vec![participant("s1", "spa"), participant("s1", "web")],
        "each client once, MUST survive the round trip"
    );
    store.forget_participants(&["s1".into()]).await.unwrap();
    assert_eq!(store.participants(&["s1".into()]).await, Ok(Vec::new()));
    // A renewed session keeps its participants as long as it lives: by a later record, or by
    // extending its sid.
    store
        .record_participant(&Participant {
            expires_at: t(700),
            ..participant("s2", "web")
        })
        .await
        .unwrap();
    store
        .record_participant(&participant("s3", "web"))
        .await
        .unwrap();
    store.extend_participants("s3", t(800)).await.unwrap();
    assert_eq!(store.purge(t(699)).await, Ok(0));
    assert_eq!(store.purge(t(700)).await, Ok(1), "s2 ended at 700, not 500");
    assert_eq!(store.purge(t(800)).await, Ok(1), "s3 extended to 800");

    let notice = |jti: &str, due: i64| LogoutNotice {
        jti: jti.into(),
        client_id: ClientId::parse("web").unwrap(),
        uri: BackchannelUri::parse("https://rp.example/bc?x=1").unwrap(),
        sub: "ana".into(),
        sid: Some("s1".into()),
        attempts: 0,
        next_attempt_at: t(due),
        give_up_at: t(4_000),
    };
    store
        .enqueue(&[notice("n1", 100), notice("n2", 200)])
        .await
        .unwrap();
    assert_eq!(
        store.enqueue(&[notice("n1", 100)]).await,
        Err(StoreError::Conflict)
    );
    assert_eq!(store.claim_due(t(50), t(80), 10).await, Ok(Vec::new()));
    let claimed = store.claim_due(t(150), t(210), 10).await.unwrap();
    assert_eq!(
        claimed,
        vec![notice("n1", 100)],
        "only what is due, as stored"
    );
    assert_eq!(
        store.claim_due(t(200), t(5_000), 10).await.unwrap(),
        vec![notice("n2", 200)],
        "a claimed notice MUST stay hidden until its lease ends"
    );
    store.reschedule("n1", 3, t(300)).await.unwrap();
    assert_eq!(store.claim_due(t(299), t(999), 10).await, Ok(Vec::new()));
    let again = store.claim_due(t(300), t(999), 1).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].jti, "n1");
    assert_eq!(again[0].attempts, 3);
    store.finish("n1").await.unwrap();
    store.finish("n1").await.unwrap();
    store.finish("n2").await.unwrap();
    assert_eq!(
        store.claim_due(t(10_000), t(10_001), 10).await,
        Ok(Vec::new()),
        "finished notices are gone"
    );
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn the_fake_keeps_the_contract() {
        super::contract(&super::InMemoryOutbox::default()).await;
    }
}
