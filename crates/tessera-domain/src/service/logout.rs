//! The end-session endpoint's use case (RP-Initiated Logout 1.0): checks the hint, finds the
//! client, decides with [`crate::logout::plan`] and ends the session when the plan says so.

use crate::client::ClientId;
use crate::error::StoreError;
use crate::logout::{HintCheck, LogoutPlan, LogoutRequest, client_of, plan};
use crate::service::AuthorizeService;
use crate::time::UnixTime;

/// The parameters of a logout request (§2).
#[derive(Clone, Copy, Debug, Default)]
pub struct LogoutParams<'a> {
    /// `id_token_hint`.
    pub id_token_hint: Option<&'a str>,
    /// `client_id`.
    pub client_id: Option<&'a str>,
    /// `post_logout_redirect_uri`.
    pub post_logout_redirect_uri: Option<&'a str>,
    /// `state`.
    pub state: Option<&'a str>,
}

impl AuthorizeService {
    /// Handles a logout request from the browser holding session cookie `cookie`; `confirmed`
    /// when the user confirmed on Tessera's page. Ends the session when the plan says so.
    ///
    /// # Errors
    /// When the store fails (nothing is ended then).
    pub async fn logout(
        &self,
        params: &LogoutParams<'_>,
        cookie: Option<&str>,
        confirmed: bool,
        now: UnixTime,
    ) -> Result<LogoutPlan, StoreError> {
        let hint = match params.id_token_hint.filter(|h| !h.is_empty()) {
            None => HintCheck::Absent,
            Some(raw) => self
                .verify_hint(raw)
                .map_or(HintCheck::Invalid, HintCheck::Valid),
        };
        let client_id = match params
            .client_id
            .filter(|c| !c.is_empty())
            .map(ClientId::parse)
        {
            None => None,
            Some(Ok(id)) => Some(id),
            Some(Err(_)) => {
                return Ok(LogoutPlan::Refuse(
                    "The application that asks to sign you out is not known.",
                ));
            }
        };
        let client = match client_of(&hint, client_id.as_ref()) {
            Some(id) => self.client(id).await?,
            None => None,
        };
        let signed = match cookie {
            Some(c) => self.session(c, now).await?,
            None => None,
        };
        let decided = plan(&LogoutRequest {
            hint: &hint,
            client_id: client_id.as_ref(),
            client: client.as_deref(),
            post_logout_redirect_uri: params.post_logout_redirect_uri,
            state: params.state,
            session_user: signed.as_ref().map(|(_, u)| &u.id),
            session_sid: signed.as_ref().map(|(s, _)| s.sid.as_str()),
            confirmed,
        });
        if let (LogoutPlan::End(_), Some(c)) = (&decided, cookie) {
            self.end_session(c, now).await?;
        }
        Ok(decided)
    }
}
