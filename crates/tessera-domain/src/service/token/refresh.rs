//! Refresh with rotation and reuse detection (RFC 6749 §6, RFC 9700 §4.14), with the grace window
//! for a retried refresh.

use super::*;

impl TokenService {
    // Longer than most: one RFC 6749 §6 sequence (find, narrow, check the user, rotate, mint),
    // each step a few lines; split, it would only pass its state around.
    /// RFC 6749 §6 with rotation: every use replaces the token; a reused token revokes its family,
    /// except for a retry of the immediate predecessor within the grace window, which gets the same
    /// successor back.
    pub(super) async fn refresh(
        &self,
        client: &Client,
        raw: &str,
        requested: Option<ScopeSet>,
        shape: Shape,
        now: UnixTime,
    ) -> Result<Issued, TokenError> {
        let presented = ReferenceToken::recognise(REFRESH_PREFIX, raw).ok_or_else(invalid_grant)?;
        let hash = presented.hash();
        let (_, family) = self
            .ports
            .refresh
            .find(&hash)
            .await
            .map_err(store_error)?
            .ok_or_else(invalid_grant)?;
        // Another client's token is indistinguishable from an unknown one, and changes nothing.
        if family.client_id != *client.id() || !family.is_live(now) {
            return Err(invalid_grant());
        }
        let scope = match requested.filter(|s| !s.is_empty()) {
            // RFC 6749 §6: never wider than originally granted, nor than the client may now have.
            Some(req) if req.is_subset(&family.scope) && req.is_subset(client.allowed_scopes()) => {
                req
            }
            Some(req) => {
                let refused: Vec<&str> = req
                    .difference(&family.scope)
                    .chain(req.difference(client.allowed_scopes()))
                    .map(|s| s.as_str())
                    .collect();
                return Err(TokenError::InvalidScope(format!(
                    "beyond the originally granted scope: {}",
                    refused.join(" ")
                )));
            }
            None => ScopeSet::from_scopes(
                family
                    .scope
                    .iter()
                    .filter(|s| client.allowed_scopes().contains(s.as_str()))
                    .cloned(),
            ),
        };
        // A user grant lives only as long as its user may sign in.
        if let Some(user) = &family.user
            && self.active_user(&user.user_id).await?.is_none()
        {
            return Err(invalid_grant());
        }
        let successor = presented.successor(&self.pepper);
        let record = RefreshTokenRecord {
            hash: successor.hash(),
            family_id: family.id.clone(),
            issued_at: now,
            rotated_at: None,
            successor: None,
        };
        match self
            .ports
            .refresh
            .rotate(&hash, &record, now, self.policy.refresh_grace_secs)
            .await
            .map_err(store_error)?
        {
            RotateOutcome::Rotated | RotateOutcome::Replayed => {
                let mut issued = self
                    .access_for(
                        client,
                        Grantee {
                            subject: family.subject.clone(),
                            scope,
                            user: family.user.clone(),
                        },
                        shape.clone(),
                        None,
                        now,
                    )
                    .await?;
                issued.refresh_token = Some(successor);
                Ok(issued)
            }
            RotateOutcome::Reused => {
                tracing::warn!(family = %family.id, client_id = %client.id(), "refresh token reuse: family revoked");
                Err(invalid_grant())
            }
            RotateOutcome::Dead | RotateOutcome::NotFound => Err(invalid_grant()),
        }
    }
}
