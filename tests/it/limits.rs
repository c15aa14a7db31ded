//! Per-client and per-address request rates, and backing off after failed authentications: 429
//! with `Retry-After`, in each API's own error format.

use crate::harness::{Tessera, agent, basic, send, token_request};

const CC: &str = "grant_type=client_credentials";

#[test]
fn a_client_over_its_rate_gets_429_with_retry_after_in_every_dialect() {
    let t = Tessera::new();
    let (id, secret) = t.create_client(
        "svc",
        &[
            "--auth-method",
            "client_secret_basic",
            "--auth-method",
            "client_secret_post",
        ],
    );
    let server = t.serve(&[
        ("TESSERA_LIMITS__CLIENT_REQUESTS_PER_SECOND", "0.1"),
        ("TESSERA_LIMITS__CLIENT_BURST", "2"),
    ]);
    for _ in 0..2 {
        assert_eq!(
            token_request(&server, Some(&basic(&id, &secret)), CC).status,
            200
        );
    }
    let reply = token_request(&server, Some(&basic(&id, &secret)), CC);
    assert_eq!(reply.status, 429);
    assert_eq!(reply.json()["error"], "too_many_requests");
    let wait: u32 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=10).contains(&wait), "{wait}");

    // The same client through SerproID and Screening Eagle: the same limit, their formats.
    let serpro = send(
        agent()
            .post(&server.url("/oauth/v0/oauth/client_token"))
            .set("Content-Type", "application/x-www-form-urlencoded"),
        Some(
            format!("grant_type=client_credentials&client_id={id}&client_secret={secret}")
                .as_bytes(),
        ),
    );
    assert_eq!(serpro.status, 429);
    assert_eq!(serpro.json()["code"], "LIMITE_REQUISICOES_EXCEDIDO");
    assert!(serpro.header("retry-after").is_some());
    let eagle = send(
        agent()
            .post(&server.url("/api/id/v1/auth/token"))
            .set("Authorization", &basic(&id, &secret))
            .set("Content-Type", "application/x-www-form-urlencoded"),
        Some(CC.as_bytes()),
    );
    assert_eq!(eagle.status, 429);
    assert_eq!(eagle.json()["error"], "Too Many Requests");
    assert!(eagle.header("retry-after").is_some());
}

#[test]
fn an_address_over_its_rate_gets_429_whatever_the_client() {
    let t = Tessera::new();
    let clients: Vec<(String, String)> = (0..4)
        .map(|i| t.create_client(&format!("c{i}"), &[]))
        .collect();
    let server = t.serve(&[
        ("TESSERA_LIMITS__ADDRESS_REQUESTS_PER_SECOND", "0.1"),
        ("TESSERA_LIMITS__ADDRESS_BURST", "3"),
    ]);
    let statuses: Vec<u16> = clients
        .iter()
        .map(|(id, secret)| token_request(&server, Some(&basic(id, secret)), CC).status)
        .collect();
    assert_eq!(statuses, vec![200, 200, 200, 429]);
}

#[test]
fn failed_authentications_back_off_the_client_id_even_with_the_right_secret() {
    let t = Tessera::new();
    let (id, secret) = t.create_client("svc", &[]);
    let (other, other_secret) = t.create_client("other", &[]);
    let server = t.serve(&[("TESSERA_LIMITS__MAX_FAILED_AUTHENTICATIONS", "3")]);
    for _ in 0..3 {
        let reply = token_request(&server, Some(&basic(&id, "tsec_guess")), CC);
        assert_eq!(reply.status, 401);
    }
    let reply = token_request(&server, Some(&basic(&id, &secret)), CC);
    assert_eq!(reply.status, 429, "backed off");
    let wait: u32 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!((50..=60).contains(&wait), "{wait}");
    // The address made those failures too: it is backed off for every client.
    assert_eq!(
        token_request(&server, Some(&basic(&other, &other_secret)), CC).status,
        429
    );
}

#[test]
fn an_unknown_client_and_a_wrong_secret_take_indistinguishable_time() {
    let t = Tessera::new();
    let (id, _) = t.create_client("svc", &[]);
    let server = t.serve(&[
        ("TESSERA_LIMITS__MAX_FAILED_AUTHENTICATIONS", "1000000"),
        ("TESSERA_LIMITS__ADDRESS_REQUESTS_PER_SECOND", "1000000"),
        ("TESSERA_LIMITS__ADDRESS_BURST", "1000000"),
    ]);
    let guess = "tsec_Ab3dEf6hIj9lMn2pQr5tUv8xYz1bCd4fGh7jKl0nPq3sTv6wXy9aBc2eF";
    let wrong = basic(&id, guess);
    // One keep-alive connection: with a connection per request the two kinds would alternate
    // between the server's workers, and measure the workers instead of the secret check.
    let connection = ureq::AgentBuilder::new().build();
    let url = server.url("/oauth2/token");
    let time = |auth: &str| {
        let started = std::time::Instant::now();
        let status = match connection
            .post(&url)
            .set("Authorization", auth)
            .set("Content-Type", "application/x-www-form-urlencoded")
            .send_string(CC)
        {
            Ok(r) => r.status(),
            Err(ureq::Error::Status(code, r)) => {
                let _ = r.into_string();
                code
            }
            Err(e) => panic!("{e}"),
        };
        let took = started.elapsed();
        assert_eq!(status, 401);
        took.as_secs_f64()
    };
    for i in 0..100 {
        time(&wrong);
        time(&basic(&format!("warm-{i}"), guess));
    }
    // Interleaved pairs, so drift in the machine's load hits both alike; every unknown id is new.
    // The statistic is the median of the per-pair differences, against the median wrong-secret
    // time. The machine also runs the other tests, so one trial can be noisy: a systematic
    // difference shows in every trial, noise does not, so one of three trials must pass.
    let mut report = Vec::new();
    for trial in 0..3 {
        let (mut diffs, mut known) = (Vec::new(), Vec::new());
        for i in 0..500 {
            let u = time(&basic(&format!("ghost-{trial}-{i}"), guess));
            let k = time(&wrong);
            diffs.push(u - k);
            known.push(k);
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (d, k) = (median(&mut diffs), median(&mut known));
        let allowed = (k * 0.15).max(40e-6);
        println!(
            "trial {trial}: median wrong secret {:.1} µs, median paired difference {:+.1} µs (allowed ±{:.1})",
            k * 1e6,
            d * 1e6,
            allowed * 1e6
        );
        if d.abs() <= allowed {
            return;
        }
        report.push(format!("{:+.1} µs of {:.1} µs", d * 1e6, k * 1e6));
    }
    panic!("an unknown client and a wrong secret differ in every trial: {report:?}");
}
