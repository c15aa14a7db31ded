//! Property-based fuzzing of everything that parses bytes off the wire: the form and Basic
//! parsers, the forwarded-certificate header, the authorization-request query, and every
//! dialect's request parser through the real handlers. Any input must parse or be refused —
//! never panic — and what a well-behaved client encodes must come back unchanged.
//!
//! `cargo xtask fuzz` runs these with many more cases (`PROPTEST_CASES`) in release mode; a
//! failing input proptest finds is kept in `proptest-regressions/` and replayed by every run.

use actix_web::test::{TestRequest, call_service, init_service};
use actix_web::{App, http::header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;

use crate::dialect::semear::certificate_from_header;
use crate::form::{Authorization, Form};

fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                char::from(b).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

proptest! {
    #[test]
    fn any_bytes_parse_as_a_form_or_are_refused(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Form::parse(&body);
    }

    #[test]
    fn encoded_forms_round_trip(
        pairs in proptest::collection::btree_map("[a-z_]{1,12}", "\\PC{1,40}", 1..8)
    ) {
        let body = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let form = Form::parse(body.as_bytes()).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        for (k, v) in &pairs {
            prop_assert_eq!(form.get(k), Some(v.as_str()));
        }
    }

    #[test]
    fn any_authorization_header_parses_or_is_malformed(raw in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = Authorization::parse(Some(&raw));
        let mut basic = b"Basic ".to_vec();
        basic.extend_from_slice(&raw);
        let _ = Authorization::parse(Some(&basic));
    }

    #[test]
    fn basic_credentials_round_trip_through_form_encoding(id in "\\PC{1,40}", secret in "\\PC{0,60}") {
        let header = format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", form_encode(&id), form_encode(&secret)))
        );
        prop_assert_eq!(
            Authorization::parse(Some(header.as_bytes())),
            Authorization::Basic { id, secret }
        );
    }

    #[test]
    fn any_certificate_header_is_a_certificate_or_nothing(value in "\\PC{0,300}") {
        let _ = certificate_from_header(&value);
        let _ = certificate_from_header(&format!("-----BEGIN CERTIFICATE-----{value}-----END CERTIFICATE-----"));
    }
}

/// The handlers of every dialect, with arbitrary bodies and headers, through actix's test
/// service: the answer is always a well-formed refusal (or a token for a well-formed request),
/// never a panic or a 500.
mod handlers {
    use super::*;

    fn paths() -> [(&'static str, &'static str); 7] {
        [
            ("/oauth2/token", "application/x-www-form-urlencoded"),
            ("/oauth2/introspect", "application/x-www-form-urlencoded"),
            ("/oauth2/revoke", "application/x-www-form-urlencoded"),
            (
                "/oauth/v0/oauth/client_token",
                "application/x-www-form-urlencoded",
            ),
            ("/api/id/v1/auth/token", "application/x-www-form-urlencoded"),
            (
                "/oauth-apipix/oauth/token",
                "application/x-www-form-urlencoded",
            ),
            ("/security/iam/v1/generate-token", "application/json"),
        ]
    }

    proptest! {
        // A whole request through actix per case: a twentieth of the cases the parsers get.
        #![proptest_config(ProptestConfig {
            cases: (ProptestConfig::default().cases / 20).max(16),
            ..ProptestConfig::default()
        })]

        #[test]
        fn no_dialect_answers_arbitrary_input_with_a_500(
            body in proptest::collection::vec(any::<u8>(), 0..300),
            auth in proptest::option::of("[ -~]{0,80}"),
            which in 0usize..7,
            json_body in "\\{(\"[a-zA-Z]{1,16}\": ?(\"[ -~]{0,20}\"|[0-9]{1,5}|true|null),? ?){0,6}\\}",
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| TestCaseError::fail(e.to_string()))?;
            rt.block_on(async {
                let state = crate::server::tests::fuzz_state().await;
                let app = init_service(App::new().configure(crate::configure(state))).await;
                let (path, content_type) = paths()[which];
                let payload = if content_type == "application/json" && which % 2 == 0 {
                    json_body.into_bytes()
                } else {
                    body
                };
                let mut req = TestRequest::post()
                    .uri(path)
                    .insert_header((header::CONTENT_TYPE, content_type))
                    .set_payload(payload);
                if let Some(a) = auth
                    && let Ok(v) = header::HeaderValue::from_str(&a)
                {
                    req = req.insert_header((header::AUTHORIZATION, v));
                }
                let res = call_service(&app, req.to_request()).await;
                prop_assert!(res.status().as_u16() < 500, "{} answered {}", path, res.status());
                Ok(())
            })?;
        }

        #[test]
        fn the_authorize_endpoint_never_fails_on_an_arbitrary_query(query in "[ -~]{0,200}") {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| TestCaseError::fail(e.to_string()))?;
            rt.block_on(async {
                let state = crate::server::tests::fuzz_state().await;
                let app = init_service(App::new().configure(crate::configure(state))).await;
                // Keep the structure (`=`, `&`) and percent-encode everything else that a URI
                // cannot carry as is.
                let encoded: String = query.bytes().map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'=' | b'&' => {
                        char::from(b).to_string()
                    }
                    _ => format!("%{b:02X}"),
                }).collect();
                let req = TestRequest::get().uri(&format!("/oauth2/authorize?{encoded}")).to_request();
                let res = call_service(&app, req).await;
                prop_assert!(res.status().as_u16() < 500, "{}", res.status());
                Ok(())
            })?;
        }
    }
}
