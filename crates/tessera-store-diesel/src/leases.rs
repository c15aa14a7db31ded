//! [`LeaseStore`]: leases on one-node-at-a-time jobs, decided inside a write transaction.

use async_trait::async_trait;
use diesel::prelude::*;
use tessera_domain::ports::LeaseStore;
use tessera_domain::{StoreError, UnixTime};

use crate::repo::{DieselStore, write_tx};
use crate::schema::leases;

#[async_trait]
impl LeaseStore for DieselStore {
    async fn acquire(
        &self,
        name: &str,
        holder: &str,
        now: UnixTime,
        until: UnixTime,
    ) -> Result<bool, StoreError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.run(move |conn| {
            // The serializable transaction (see `write_tx`) makes the read and the write one
            // step: of nodes racing for the lease, the losers are retried and see the winner.
            write_tx(conn, |conn| {
                let current: Option<(String, i64)> = leases::table
                    .find(&name)
                    .select((leases::holder, leases::expires_at))
                    .first(conn)
                    .optional()?;
                match current {
                    Some((h, expires)) if h != holder && expires > now.as_secs() => Ok(false),
                    Some(_) => diesel::update(leases::table.find(&name))
                        .set((
                            leases::holder.eq(&holder),
                            leases::expires_at.eq(until.as_secs()),
                        ))
                        .execute(conn)
                        .map(|_| true),
                    None => diesel::insert_into(leases::table)
                        .values((
                            leases::name.eq(&name),
                            leases::holder.eq(&holder),
                            leases::expires_at.eq(until.as_secs()),
                        ))
                        .execute(conn)
                        .map(|_| true),
                }
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::testdb::{TestDb, on_both_backends};

    fn store(db: &TestDb) -> DieselStore {
        db.store()
    }

    async fn one_holder_at_a_time_until_it_expires(db: TestDb) {
        let s = store(&db);
        let t = UnixTime::from_secs;
        assert!(s.acquire("keys", "a", t(100), t(110)).await.unwrap());
        assert!(!s.acquire("keys", "b", t(105), t(115)).await.unwrap());
        // The holder renews; another job's lease is independent.
        assert!(s.acquire("keys", "a", t(109), t(119)).await.unwrap());
        assert!(!s.acquire("keys", "b", t(115), t(125)).await.unwrap());
        assert!(s.acquire("other", "b", t(115), t(125)).await.unwrap());
        // Not renewed: it expires and another node takes over.
        assert!(s.acquire("keys", "b", t(119), t(129)).await.unwrap());
        assert!(!s.acquire("keys", "a", t(120), t(130)).await.unwrap());
    }

    async fn of_many_racing_nodes_exactly_one_gets_the_lease(db: TestDb) {
        let s = store(&db);
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let s = s.clone();
                tokio::spawn(async move {
                    s.acquire(
                        "keys",
                        &format!("node-{i}"),
                        UnixTime::from_secs(100),
                        UnixTime::from_secs(110),
                    )
                    .await
                    .unwrap()
                })
            })
            .collect();
        let mut won = 0;
        for t in tasks {
            won += u32::from(t.await.unwrap());
        }
        assert_eq!(won, 1);
    }

    on_both_backends!(
        one_holder_at_a_time_until_it_expires,
        of_many_racing_nodes_exactly_one_gets_the_lease,
    );
}
