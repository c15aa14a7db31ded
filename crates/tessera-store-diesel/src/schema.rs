//! Diesel's view of the tables, matching `migrations/`.

diesel::table! {
    clients (id) {
        id -> Text,
        name -> Text,
        auth_methods -> Text,
        grant_types -> Text,
        allowed_scopes -> Text,
        default_scopes -> Text,
        roles -> Text,
        audience -> Nullable<Text>,
        access_token_ttl -> Nullable<BigInt>,
        signing_alg -> Nullable<Text>,
        enabled -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
        access_token_format -> Text,
        max_assurance -> Nullable<Text>,
        cert_thumbprints -> Text,
        tls_subject_dn -> Nullable<Text>,
        redirect_uris -> Text,
        post_logout_redirect_uris -> Text,
        backchannel_logout_uri -> Nullable<Text>,
        id_token_alg -> Nullable<Text>,
        refresh_with_client_credentials -> Bool,
        resources -> Text,
    }
}

diesel::table! {
    refresh_families (id) {
        id -> Text,
        client_id -> Text,
        subject -> Text,
        scope -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        acr -> Nullable<Text>,
        user_id -> Nullable<Text>,
        logon -> Nullable<Text>,
        device_id -> Nullable<Text>,
        default_client_id -> Nullable<Text>,
        resources -> Text,
    }
}

diesel::table! {
    params (hash) {
        hash -> Text,
        client_id -> Text,
        user_id -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    refresh_tokens (hash) {
        hash -> Text,
        family_id -> Text,
        issued_at -> BigInt,
        rotated_at -> Nullable<BigInt>,
        successor -> Nullable<Text>,
    }
}

diesel::table! {
    opaque_tokens (hash) {
        hash -> Text,
        iss -> Text,
        sub -> Text,
        aud -> Text,
        client_id -> Text,
        scope -> Text,
        roles -> Text,
        jti -> Text,
        iat -> BigInt,
        exp -> BigInt,
        revoked_at -> Nullable<BigInt>,
        cnf -> Nullable<Text>,
    }
}

diesel::table! {
    revoked_jtis (jti) {
        jti -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    client_secrets (client_id, position) {
        client_id -> Text,
        position -> Integer,
        kind -> Text,
        verifier -> Text,
        created_at -> BigInt,
        expires_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        alg -> Text,
        state -> Text,
        private_der -> Binary,
        created_at -> BigInt,
        activated_at -> Nullable<BigInt>,
        retire_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    server_secrets (name) {
        name -> Text,
        value -> Binary,
        created_at -> BigInt,
    }
}

diesel::table! {
    store_versions (name) {
        name -> Text,
        version -> BigInt,
    }
}

diesel::joinable!(client_secrets -> clients (client_id));
diesel::joinable!(refresh_tokens -> refresh_families (family_id));
diesel::allow_tables_to_appear_in_same_query!(refresh_tokens, refresh_families);
diesel::allow_tables_to_appear_in_same_query!(
    leases,
    clients,
    client_secrets,
    signing_keys,
    server_secrets,
    store_versions
);

diesel::table! {
    users (id) {
        id -> Text,
        logon -> Text,
        email -> Text,
        name -> Text,
        status -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
        password_hash -> Nullable<Text>,
        given_name -> Nullable<Text>,
        family_name -> Nullable<Text>,
        locale -> Nullable<Text>,
        email_verified -> Bool,
        failed_sign_ins -> Integer,
        locked_until -> Nullable<BigInt>,
        phone_number -> Nullable<Text>,
        phone_number_verified -> Bool,
        street_address -> Nullable<Text>,
        locality -> Nullable<Text>,
        region -> Nullable<Text>,
        postal_code -> Nullable<Text>,
        country -> Nullable<Text>,
    }
}

diesel::table! {
    sign_in_failures (address) {
        address -> Text,
        failures -> Integer,
        window_ends -> BigInt,
    }
}

diesel::table! {
    authorization_codes (hash) {
        hash -> Text,
        client_id -> Text,
        user_id -> Text,
        redirect_uri -> Text,
        redirect_uri_explicit -> Bool,
        scope -> Text,
        nonce -> Nullable<Text>,
        code_challenge -> Nullable<Text>,
        auth_time -> BigInt,
        expires_at -> BigInt,
        redeemed_at -> Nullable<BigInt>,
        issued_family_id -> Nullable<Text>,
        issued_jti -> Nullable<Text>,
        issued_expires_at -> Nullable<BigInt>,
        sid -> Nullable<Text>,
        resources -> Text,
    }
}

diesel::table! {
    sessions (hash) {
        hash -> Text,
        user_id -> Text,
        auth_time -> BigInt,
        expires_at -> BigInt,
        sid -> Nullable<Text>,
    }
}

diesel::table! {
    session_clients (sid, client_id) {
        sid -> Text,
        client_id -> Text,
        user_id -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    logout_notices (jti) {
        jti -> Text,
        client_id -> Text,
        uri -> Text,
        sub -> Text,
        sid -> Nullable<Text>,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        give_up_at -> BigInt,
    }
}

diesel::table! {
    consents (user_id, client_id) {
        user_id -> Text,
        client_id -> Text,
        scope -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        at -> BigInt,
        kind -> Text,
        client_id -> Nullable<Text>,
        subject -> Nullable<Text>,
        source -> Nullable<Text>,
        detail -> Text,
    }
}

diesel::table! {
    leases (name) {
        name -> Text,
        holder -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    client_registrations (client_id) {
        client_id -> Text,
        token_hash -> Text,
        issued_at -> BigInt,
    }
}

diesel::table! {
    initial_access_tokens (id) {
        id -> Text,
        token_hash -> Text,
        uses_left -> Nullable<Integer>,
        expires_at -> BigInt,
        created_at -> BigInt,
        note -> Text,
    }
}
