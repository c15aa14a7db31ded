//! The port contract suites on a real SQLite file with the embedded migrations.

use std::sync::Arc;

use tessera_testkit::{contract, fakes::FixedClock};

use super::*;
use crate::pool::{DatabaseUrl, StoreConfig};

fn store(dir: &tempfile::TempDir) -> DieselStore {
    let config = StoreConfig::new(DatabaseUrl::in_data_dir(dir.path()));
    DieselStore::open(&config, Arc::new(FixedClock::at(1_700_000_000))).unwrap()
}

#[tokio::test]
async fn sqlite_keeps_the_client_repository_contract() {
    let dir = tempfile::tempdir().unwrap();
    contract::clients(&store(&dir)).await;
}

#[tokio::test]
async fn sqlite_keeps_the_key_repository_contract() {
    let dir = tempfile::tempdir().unwrap();
    contract::keys(&store(&dir)).await;
}

#[tokio::test]
async fn sqlite_keeps_the_server_secret_contract() {
    let dir = tempfile::tempdir().unwrap();
    contract::server_secrets(&store(&dir)).await;
}

#[tokio::test]
async fn data_survives_reopening_and_the_file_is_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = store(&dir);
        ClientRepository::insert(&s, &tessera_testkit::fixtures::client("kept"))
            .await
            .unwrap();
    }
    let s = store(&dir);
    assert!(
        ClientRepository::find(&s, &tessera_testkit::fixtures::client_id("kept"))
            .await
            .unwrap()
            .is_some()
    );
    let mode = s
        .run(|conn| {
            #[derive(QueryableByName)]
            struct Mode {
                #[diesel(sql_type = diesel::sql_types::Text)]
                journal_mode: String,
            }
            diesel::sql_query("PRAGMA journal_mode")
                .get_result::<Mode>(conn)
                .map(|m| m.journal_mode)
                .map_err(from_diesel)
        })
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    assert!(dir.path().join("tessera.sqlite").exists());
}

#[tokio::test]
async fn a_corrupt_row_is_reported_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir);
    ClientRepository::insert(&s, &tessera_testkit::fixtures::client("victim"))
        .await
        .unwrap();
    s.run(|conn| {
        diesel::sql_query("UPDATE clients SET allowed_scopes = 'bad\"scope' WHERE id = 'victim'")
            .execute(conn)
            .map_err(from_diesel)
    })
    .await
    .unwrap();
    let got = ClientRepository::find(&s, &tessera_testkit::fixtures::client_id("victim")).await;
    assert!(matches!(got, Err(StoreError::Corrupt(_))), "{got:?}");
}

#[tokio::test]
async fn concurrent_writers_queue_instead_of_failing() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            ClientRepository::insert(&s, &tessera_testkit::fixtures::client(&format!("c{i:02}")))
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(ClientRepository::list(&s).await.unwrap().len(), 40);
    assert_eq!(ClientRepository::version(&s).await.unwrap(), 40);
}

#[tokio::test]
async fn sqlite_keeps_the_issued_token_contracts() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir);
    contract::refresh_tokens(&s).await;
    contract::opaque_tokens(&s).await;
    contract::revocation_list(&s).await;
    contract::users(&s).await;
    contract::sign_in_throttle(&s).await;
    contract::authorization_codes(&s).await;
    contract::sessions(&s).await;
    contract::consents(&s).await;
    contract::params(&s).await;
}

#[tokio::test]
async fn of_many_concurrent_rotations_of_one_token_exactly_one_rotates() {
    use tessera_domain::issued::{RefreshFamily, RefreshTokenRecord, RotateOutcome, TokenHash};
    use tessera_domain::ports::RefreshTokenStore;
    use tessera_domain::{ScopeSet, UnixTime};
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir);
    let family = RefreshFamily {
        id: "f".into(),
        client_id: tessera_testkit::fixtures::client_id("svc"),
        subject: "svc".into(),
        scope: ScopeSet::empty(),
        created_at: UnixTime::from_secs(0),
        expires_at: UnixTime::from_secs(10_000),
        revoked_at: None,
        user: None,
    };
    let rec = |t: &str| RefreshTokenRecord {
        hash: TokenHash::of(t),
        family_id: "f".into(),
        issued_at: UnixTime::from_secs(1),
        rotated_at: None,
        successor: None,
    };
    s.create_family(&family, &rec("t0")).await.unwrap();
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let s = s.clone();
            let next = rec("t1");
            tokio::spawn(async move {
                s.rotate(&TokenHash::of("t0"), &next, UnixTime::from_secs(1), 5)
                    .await
            })
        })
        .collect();
    let mut rotated = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            RotateOutcome::Rotated => rotated += 1,
            RotateOutcome::Replayed => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(rotated, 1);
    assert!(
        RefreshTokenStore::find(&s, &TokenHash::of("t1"))
            .await
            .unwrap()
            .is_some()
    );
}
