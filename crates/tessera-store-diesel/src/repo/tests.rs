//! The port contract suites on real databases with the embedded migrations: each test runs on a
//! SQLite file and on a PostgreSQL database of its own.

use std::sync::Arc;

use tessera_testkit::{contract, fakes::FixedClock};

use super::*;
use crate::pool::StoreConfig;
use crate::testdb::{TestDb, on_both_backends};
use tessera_domain::ports::ClientRepository;

fn store(db: &TestDb) -> DieselStore {
    store_sealed(db, 7).unwrap()
}

fn store_sealed(db: &TestDb, key: u8) -> Result<DieselStore, StoreError> {
    let config = StoreConfig::new(db.url());
    DieselStore::open(
        &config,
        Arc::new(FixedClock::at(1_700_000_000)),
        Arc::new(tessera_testkit::fakes::TestSealer(key)),
    )
}

/// The raw bytes of a column, as the file holds them.
async fn raw(s: &DieselStore, sql: &'static str) -> Vec<Vec<u8>> {
    #[derive(diesel::QueryableByName)]
    struct Blob {
        #[diesel(sql_type = diesel::sql_types::Binary)]
        v: Vec<u8>,
    }
    s.run(move |conn| {
        diesel::sql_query(sql)
            .load::<Blob>(conn)
            .map(|rows| rows.into_iter().map(|r| r.v).collect())
            .map_err(from_diesel)
    })
    .await
    .unwrap()
}

async fn private_keys_and_the_pepper_are_sealed_at_rest_and_rewrapped_whole(db: TestDb) {
    use tessera_domain::secret::SecretPepper;
    let s = store(&db);
    let key = tessera_testkit::fixtures::key_record(
        "k1",
        tessera_domain::SigningAlgorithm::Es256,
        tessera_domain::keys::KeyState::Active,
        5,
    );
    KeyRepository::insert(&s, &key).await.unwrap();
    let pepper = s
        .pepper_or_insert(SecretPepper::from_bytes([9; 32]))
        .await
        .unwrap();
    let stored = raw(&s, "SELECT private_der AS v FROM signing_keys").await;
    assert!(stored[0].starts_with(b"fake\x07"), "sealed under key 7");
    assert_ne!(stored[0], key.private_der.expose(), "not in the clear");
    let stored = raw(&s, "SELECT value AS v FROM server_secrets").await;
    assert!(stored[0].starts_with(b"fake\x07"));
    assert_eq!(
        KeyRepository::all_keys(&s).await.unwrap(),
        vec![key.clone()]
    );

    // Another master key cannot read them, and says so.
    drop(s);
    let wrong = store_sealed(&db, 8).unwrap();
    let got = KeyRepository::all_keys(&wrong).await;
    assert!(
        matches!(&got, Err(StoreError::Corrupt(m)) if m.contains("master key")),
        "{got:?}"
    );
    drop(wrong);

    // Rewrap: everything moves to the new key at once.
    let s = store(&db);
    assert_eq!(
        s.rewrap(Arc::new(tessera_testkit::fakes::TestSealer(9)))
            .await,
        Ok(2)
    );
    drop(s);
    let s = store_sealed(&db, 9).unwrap();
    assert_eq!(KeyRepository::all_keys(&s).await.unwrap(), vec![key]);
    assert_eq!(
        s.pepper_or_insert(SecretPepper::from_bytes([1; 32]))
            .await
            .unwrap()
            .expose(),
        pepper.expose()
    );
    // A rewrap from the wrong key changes nothing.
    drop(s);
    let wrong = store_sealed(&db, 7).unwrap();
    assert!(
        wrong
            .rewrap(Arc::new(tessera_testkit::fakes::TestSealer(10)))
            .await
            .is_err()
    );
    drop(wrong);
    assert!(
        KeyRepository::all_keys(&store_sealed(&db, 9).unwrap())
            .await
            .is_ok()
    );
}

async fn secrets_stored_in_the_clear_before_sealing_are_sealed_at_open(db: TestDb) {
    let s = store(&db);
    let key = tessera_testkit::fixtures::key_record(
        "legacy",
        tessera_domain::SigningAlgorithm::Es256,
        tessera_domain::keys::KeyState::Active,
        5,
    );
    KeyRepository::insert(&s, &key).await.unwrap();
    // Put it back in the clear, as a database from before sealing holds it.
    let der = key.private_der.expose().to_vec();
    s.run(move |conn| {
        diesel::update(crate::schema::signing_keys::table)
            .set(crate::schema::signing_keys::private_der.eq(der))
            .execute(conn)
            .map_err(from_diesel)
    })
    .await
    .unwrap();
    drop(s);
    let s = store(&db);
    let stored = raw(&s, "SELECT private_der AS v FROM signing_keys").await;
    assert!(stored[0].starts_with(b"fake\x07"), "sealed at open");
    assert_eq!(KeyRepository::all_keys(&s).await.unwrap(), vec![key]);
}

async fn keeps_the_client_repository_contract(db: TestDb) {
    contract::clients(&store(&db)).await;
}

async fn keeps_the_key_repository_contract(db: TestDb) {
    contract::keys(&store(&db)).await;
}

async fn keeps_the_server_secret_contract(db: TestDb) {
    contract::server_secrets(&store(&db)).await;
}

async fn data_survives_reopening_and_a_sqlite_file_is_in_wal_mode(db: TestDb) {
    {
        let s = store(&db);
        ClientRepository::insert(&s, &tessera_testkit::fixtures::client("kept"))
            .await
            .unwrap();
    }
    let s = store(&db);
    assert!(
        ClientRepository::find(&s, &tessera_testkit::fixtures::client_id("kept"))
            .await
            .unwrap()
            .is_some()
    );
    let TestDb::Sqlite(dir) = &db else {
        return;
    };
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

async fn a_corrupt_row_is_reported_not_trusted(db: TestDb) {
    let s = store(&db);
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

async fn concurrent_writers_queue_instead_of_failing(db: TestDb) {
    let s = store(&db);
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

async fn keeps_the_issued_token_contracts(db: TestDb) {
    let s = store(&db);
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

async fn of_many_concurrent_rotations_of_one_token_exactly_one_rotates(db: TestDb) {
    use tessera_domain::issued::{RefreshFamily, RefreshTokenRecord, RotateOutcome, TokenHash};
    use tessera_domain::ports::RefreshTokenStore;
    use tessera_domain::{ScopeSet, UnixTime};
    let s = store(&db);
    let family = RefreshFamily {
        id: "f".into(),
        client_id: tessera_testkit::fixtures::client_id("svc"),
        subject: "svc".into(),
        scope: ScopeSet::empty(),
        created_at: UnixTime::from_secs(0),
        expires_at: UnixTime::from_secs(10_000),
        revoked_at: None,
        user: None,
        resources: Vec::new(),
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
            let svc = tessera_testkit::fixtures::client_id("svc");
            tokio::spawn(async move {
                s.rotate(
                    &TokenHash::of("t0"),
                    &svc,
                    &TokenHash::of("t1"),
                    UnixTime::from_secs(1),
                    5,
                )
                .await
            })
        })
        .collect();
    let mut rotated = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            RotateOutcome::Rotated(_) => rotated += 1,
            RotateOutcome::Replayed(_) => {}
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

/// PostgreSQL takes no lock shared by unrelated work: while one write transaction holds one refresh
/// family's rows (it has rotated a token and not yet committed), another family rotates at once
/// and the audit writer appends; only the held family's own rotation waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::disallowed_methods)] // The test measures how long unrelated writes waited.
async fn on_postgres_a_write_waits_only_for_its_own_rows() {
    use std::time::{Duration, Instant};
    use tessera_domain::audit::{AuditEvent, AuditKind};
    use tessera_domain::issued::{RefreshFamily, RefreshTokenRecord, RotateOutcome, TokenHash};
    use tessera_domain::ports::{AuditStore, RefreshTokenStore};
    use tessera_domain::{ScopeSet, UnixTime};
    let db = TestDb::postgres();
    let s = store(&db);
    let record = |family: &str, t: &str| RefreshTokenRecord {
        hash: TokenHash::of(t),
        family_id: family.into(),
        issued_at: UnixTime::from_secs(1),
        rotated_at: None,
        successor: None,
    };
    for family in ["held", "free"] {
        let f = RefreshFamily {
            id: family.into(),
            client_id: tessera_testkit::fixtures::client_id("svc"),
            subject: "svc".into(),
            scope: ScopeSet::empty(),
            created_at: UnixTime::from_secs(0),
            expires_at: UnixTime::from_secs(10_000),
            revoked_at: None,
            user: None,
            resources: Vec::new(),
        };
        s.create_family(&f, &record(family, &format!("{family}-0")))
            .await
            .unwrap();
    }
    // A Tessera write transaction on the held family that stays open until told to finish.
    let (held_tx, held_rx) = std::sync::mpsc::channel::<()>();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let pool = s.pool.clone();
    let held = TokenHash::of("held-0").to_text();
    let holder = std::thread::spawn(move || {
        let mut conn = pool.get().unwrap();
        keyed_tx(&mut conn, |conn| {
            // As a rotation does: lock the token's and its family's rows, then write.
            diesel::sql_query(
                "SELECT 1 FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id \
                 WHERE t.hash = $1 FOR UPDATE",
            )
            .bind::<diesel::sql_types::Text, _>(&held)
            .execute(conn)?;
            diesel::sql_query("UPDATE refresh_tokens SET rotated_at = 1 WHERE hash = $1")
                .bind::<diesel::sql_types::Text, _>(&held)
                .execute(conn)?;
            held_tx.send(()).ok();
            done_rx.recv_timeout(Duration::from_secs(20)).ok();
            Ok(())
        })
        .unwrap();
    });
    held_rx.recv_timeout(Duration::from_secs(10)).unwrap();

    let started = Instant::now();
    let free = s
        .rotate(
            &TokenHash::of("free-0"),
            &tessera_testkit::fixtures::client_id("svc"),
            &TokenHash::of("free-1"),
            UnixTime::from_secs(2),
            5,
        )
        .await
        .unwrap();
    assert!(matches!(free, RotateOutcome::Rotated(f) if f.id == "free"));
    s.append(&[AuditEvent::new(
        AuditKind::TokenIssued,
        UnixTime::from_secs(2),
        "while held",
    )])
    .await
    .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "unrelated writes waited {:?}",
        started.elapsed()
    );
    // The held family's own rotation does wait for the holder.
    let waiting = {
        let s = s.clone();
        tokio::spawn(async move {
            s.rotate(
                &TokenHash::of("held-0"),
                &tessera_testkit::fixtures::client_id("svc"),
                &TokenHash::of("held-1"),
                UnixTime::from_secs(2),
                5,
            )
            .await
        })
    };
    tokio::task::spawn_blocking(|| std::thread::sleep(Duration::from_millis(300)))
        .await
        .unwrap();
    assert!(!waiting.is_finished(), "the held rows were not waited for");
    done_tx.send(()).unwrap();
    holder.join().unwrap();
    // Once the holder committed (it marked the token rotated without a successor), the waiting
    // rotation sees a reused token.
    assert_eq!(waiting.await.unwrap().unwrap(), RotateOutcome::Reused);
}

on_both_backends!(
    private_keys_and_the_pepper_are_sealed_at_rest_and_rewrapped_whole,
    secrets_stored_in_the_clear_before_sealing_are_sealed_at_open,
    keeps_the_client_repository_contract,
    keeps_the_key_repository_contract,
    keeps_the_server_secret_contract,
    data_survives_reopening_and_a_sqlite_file_is_in_wal_mode,
    a_corrupt_row_is_reported_not_trusted,
    concurrent_writers_queue_instead_of_failing,
    keeps_the_issued_token_contracts,
    of_many_concurrent_rotations_of_one_token_exactly_one_rotates,
);
