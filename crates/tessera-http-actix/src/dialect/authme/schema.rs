//! AuthMe's request bodies as the OpenAPI document describes them: one variant per
//! `tokenRequestType` with exactly the fields that kind requires, so that a request built from
//! the schema is one the endpoint accepts. The handlers read the bodies through their own lenient
//! types (absent fields get AuthMe's `02` error rather than a parse failure).

#![allow(dead_code)] // Describes the bodies the handlers read.

use serde::Deserialize;
use utoipa::ToSchema;

/// The assurance level of a user token (`loginGrantedAuthorities`).
#[derive(Deserialize, ToSchema)]
#[schema(as = AuthMeAssuranceLevel)]
pub(super) enum Level {
    /// Identified, no authentication of the user.
    #[serde(rename = "AUTH-IDENTIFIED")]
    Identified,
    /// Something the user knows.
    #[serde(rename = "AUTH_BASIC")]
    Basic,
    /// Two factors.
    #[serde(rename = "AUTH_MFA")]
    Mfa,
    /// A smart card.
    #[serde(rename = "AUTH_SMART")]
    Smart,
    /// A strong, hardware-bound factor.
    #[serde(rename = "AUTH_STRONG")]
    Strong,
}

/// The `generate-token` body, by `tokenRequestType`.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "tokenRequestType")]
#[schema(as = AuthMeGenerateToken)]
pub(super) enum GenerateToken {
    /// A client token.
    #[serde(rename = "CLIENT")]
    Client {
        /// The authenticated client itself.
        #[serde(rename = "clientId")]
        client_id: String,
        /// The assurance level.
        #[serde(rename = "loginGrantedAuthorities")]
        level: Level,
    },
    /// An opaque product-access token.
    #[serde(rename = "PRODUCT")]
    Product {
        /// The authenticated client itself.
        #[serde(rename = "clientId")]
        client_id: String,
        /// The assurance level.
        #[serde(rename = "loginGrantedAuthorities")]
        level: Level,
    },
    /// A user token for a one-time param from `generate-param`.
    #[serde(rename = "USER")]
    User {
        /// The authenticated client itself.
        #[serde(rename = "clientId")]
        client_id: String,
        /// The assurance level.
        #[serde(rename = "loginGrantedAuthorities")]
        level: Level,
        /// The one-time param (61 characters of `[A-Z0-9]`).
        param: String,
        /// Must name the param's user, if given.
        #[serde(rename = "userId")]
        user_id: Option<String>,
        /// Must name the param's user, if given.
        logon: Option<String>,
        /// Also issue a refresh token (the access token gets the remember-me lifetime).
        #[serde(rename = "rememberMe")]
        remember_me: Option<bool>,
        /// Put into the token as `deviceId`.
        #[serde(rename = "deviceId")]
        device_id: Option<String>,
        /// Put into the token as `defaultClientId`.
        #[serde(rename = "defaultClientId")]
        default_client_id: Option<String>,
    },
    /// A refresh of a remember-me token.
    #[serde(rename = "REMEMBER_ME")]
    RememberMe {
        /// The authenticated client itself.
        #[serde(rename = "clientId")]
        client_id: String,
        /// The assurance level.
        #[serde(rename = "loginGrantedAuthorities")]
        level: Level,
        /// The refresh token.
        #[serde(rename = "refreshToken")]
        refresh_token: String,
    },
}

/// The `generate-opaque-token` body.
#[derive(Deserialize, ToSchema)]
#[schema(as = AuthMeGenerateOpaqueToken)]
pub(super) struct GenerateOpaqueToken {
    /// The authenticated client itself.
    #[serde(rename = "clientId")]
    client_id: String,
}

/// The `generate-param` body: the user by id or by logon.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
#[schema(as = AuthMeGenerateParam)]
pub(super) enum GenerateParam {
    /// By id.
    ById {
        /// The user's id.
        #[serde(rename = "userId")]
        user_id: String,
    },
    /// By logon.
    ByLogon {
        /// The user's logon.
        logon: String,
    },
}
