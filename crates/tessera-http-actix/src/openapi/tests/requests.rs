//! Requests built from the served document alone are ones the server accepts: for every
//! operation of the token dialects, a body with each variant's required fields (enum values,
//! examples, the test client's own credentials) is never refused as malformed. It may still be
//! refused on its merits (a made-up code is `invalid_grant`), as any server would.

use serde_json::{Map, Value, json};

use super::*;

/// One body per variant of `schema`, with its required fields.
fn bodies(doc: &Value, schema: &Value) -> Vec<Map<String, Value>> {
    let schema = resolve(doc, schema);
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            return options.iter().flat_map(|o| bodies(doc, o)).collect();
        }
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        let mut out = vec![Map::new()];
        for part in all {
            let variants = bodies(doc, part);
            out = out
                .iter()
                .flat_map(|base| {
                    variants.iter().map(move |v| {
                        let mut merged = base.clone();
                        merged.extend(v.clone());
                        merged
                    })
                })
                .collect();
        }
        return out;
    }
    let mut body = Map::new();
    for name in schema["required"].as_array().into_iter().flatten() {
        let name = name.as_str().unwrap();
        body.insert(name.into(), value(doc, name, &schema["properties"][name]));
    }
    vec![body]
}

/// A value for property `name`: an enum's first value, the example, the test client's id or
/// secret, or a plain string.
fn value(doc: &Value, name: &str, schema: &Value) -> Value {
    let schema = resolve(doc, schema);
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    if let Some(first) = schema["oneOf"].as_array().and_then(|o| o.first()) {
        return value(doc, name, first);
    }
    if !schema["example"].is_null() {
        return schema["example"].clone();
    }
    match (name, &schema["type"]) {
        ("client_id" | "clientId", _) => json!("svc"),
        ("client_secret", _) => json!(secret_of("svc").expose()),
        (_, t) if t == "boolean" => json!(false),
        (_, t) if t == "integer" => json!(1),
        _ => json!("x"),
    }
}

/// Whether an answer says the request itself was malformed, in its dialect's words.
fn malformed(status: StatusCode, body: &Value) -> bool {
    if !(status == StatusCode::BAD_REQUEST || status == StatusCode::PRECONDITION_FAILED) {
        return false;
    }
    if let Some(items) = body.as_array() {
        // AuthMe: not JSON, a required or invalid field, an unknown tokenRequestType.
        return items
            .iter()
            .any(|i| ["01", "02", "03", "79"].contains(&i["code"].as_str().unwrap_or("")));
    }
    if let Some(code) = body["code"].as_str() {
        // SerproID.
        return ["CAMPO_OBRIGATORIO", "VALOR_PARAMETRO_INVALIDO"].contains(&code);
    }
    if let Some(error) = body["error"].as_str()
        && body.get("errorDescription").is_none()
    {
        return ["invalid_request", "unsupported_grant_type"].contains(&error);
    }
    // Screening Eagle words every 400 alike; the description tells a malformed one.
    let description = body["errorDescription"].as_str().unwrap_or("");
    ["missing", "unsupported", "repeated", "must be", "required"]
        .iter()
        .any(|w| description.contains(w))
}

#[actix_web::test]
async fn requests_built_from_their_schema_are_not_refused_as_malformed() {
    let state = fuzz_state().await;
    let doc = served_document(&state).await;
    let app = init_service(App::new().configure(configure(state.clone()))).await;
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("svc:{}", secret_of("svc").expose()))
    );
    let mut checked = 0;
    for (method, path, op) in operations(&doc) {
        // The browser endpoints take forms of their own pages, not API requests.
        if path.starts_with("/oauth2/authorize") || path.starts_with("/oauth2/logout") {
            continue;
        }
        let Some(content) = op["requestBody"]["content"].as_object() else {
            continue;
        };
        for (media_type, media) in content {
            for body in bodies(&doc, &media["schema"]) {
                let payload = if media_type == "application/json" {
                    serde_json::to_vec(&body).unwrap()
                } else {
                    let encode = |s: &str| {
                        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
                            .to_string()
                    };
                    body.iter()
                        .map(|(k, v)| {
                            let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                            format!("{}={}", encode(k), encode(&v))
                        })
                        .collect::<Vec<_>>()
                        .join("&")
                        .into_bytes()
                };
                let mut req = TestRequest::default()
                    .method(method.to_uppercase().parse().unwrap())
                    .uri(&path)
                    .insert_header(("content-type", media_type.as_str()))
                    .set_payload(payload);
                // Credentials in the body or the header, never both (RFC 6749 §2.3).
                if !body.contains_key("client_secret") {
                    req = req.insert_header(("authorization", basic.as_str()));
                }
                let res = call_service(&app, req.to_request()).await;
                let status = res.status();
                let bytes = read_body(res).await;
                let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                assert!(
                    !malformed(status, &answer),
                    "{method} {path} {media_type} {}: {status} {answer}",
                    Value::Object(body)
                );
                checked += 1;
            }
        }
    }
    // Token (3 grants), revoke, introspect, SerproID, Screening Eagle (3), Pix, and AuthMe's five
    // operations with generate-token's four kinds and generate-param's two forms.
    assert!(checked >= 19, "{checked}");
}
