//! Refresh with rotation and reuse detection (RFC 6749 §6, RFC 9700 §4.14), with the grace window
//! for a retried refresh.

use super::*;

impl TokenService {
    /// RFC 6749 §6 with rotation: every use replaces the token; a reused token revokes its family,
    /// except for a retry of the immediate predecessor within the grace window, which gets the same
    /// successor back.
    ///
    /// The common refresh (no narrower scope or resource asked for) is one store call: the
    /// rotation itself, which checks the client and the family's life in the same atomic step and
    /// answers with the family. A request for a narrower scope or for resources (RFC 8707 §2.2)
    /// is judged against the family first, so a refused one consumes nothing.
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
        let requested = requested.filter(|s| !s.is_empty());
        if requested.is_some() || !shape.resources.is_empty() {
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
            refresh_scope(requested.as_ref(), &family.scope, client.allowed_scopes())?;
            granted_resources(client, &shape.resources, Some(&family.resources))?;
        }
        let successor = presented.successor(&self.pepper);
        let outcome = self
            .ports
            .refresh
            .rotate(
                &hash,
                client.id(),
                &successor.hash(),
                now,
                self.policy.refresh_grace_secs,
            )
            .await
            .map_err(store_error)?;
        let family = match outcome {
            RotateOutcome::Rotated(family) | RotateOutcome::Replayed(family) => family,
            RotateOutcome::Reused => {
                tracing::warn!(client_id = %client.id(), "refresh token reuse: family revoked");
                return Err(invalid_grant());
            }
            RotateOutcome::Dead | RotateOutcome::NotFound => return Err(invalid_grant()),
        };
        let scope = refresh_scope(requested.as_ref(), &family.scope, client.allowed_scopes())?;
        let resources = granted_resources(client, &shape.resources, Some(&family.resources))?;
        // A user grant lives only as long as its user may sign in: the family ends with it.
        if let Some(user) = &family.user
            && self.active_user(&user.user_id).await?.is_none()
        {
            self.ports
                .refresh
                .revoke_family(&family.id, now)
                .await
                .map_err(store_error)?;
            return Err(invalid_grant());
        }
        let mut issued = self
            .access_for(
                client,
                Grantee {
                    subject: family.subject.clone(),
                    scope,
                    user: family.user.clone(),
                    resources,
                },
                shape,
                None,
                now,
            )
            .await?;
        issued.refresh_token = Some(successor);
        Ok(issued)
    }
}

/// The scope of a refreshed access token (RFC 6749 §6): the one asked for, which may not be
/// wider than originally `granted` nor than the client is now `allowed`; without one, what was
/// granted and the client may still have.
///
/// # Errors
/// `InvalidScope` naming what lies beyond.
pub(super) fn refresh_scope(
    requested: Option<&ScopeSet>,
    granted: &ScopeSet,
    allowed: &ScopeSet,
) -> Result<ScopeSet, TokenError> {
    match requested {
        Some(req) if req.is_subset(granted) && req.is_subset(allowed) => Ok(req.clone()),
        Some(req) => {
            let refused: Vec<&str> = req
                .difference(granted)
                .chain(req.difference(allowed))
                .map(|s| s.as_str())
                .collect();
            Err(TokenError::InvalidScope(format!(
                "beyond the originally granted scope: {}",
                refused.join(" ")
            )))
        }
        None => Ok(ScopeSet::from_scopes(
            granted
                .iter()
                .filter(|s| allowed.contains(s.as_str()))
                .cloned(),
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn set(s: &str) -> ScopeSet {
        ScopeSet::parse(s).unwrap()
    }

    #[test]
    fn a_refresh_narrows_never_widens() {
        let (granted, allowed) = (set("a b c"), set("a b"));
        assert_eq!(refresh_scope(None, &granted, &allowed), Ok(set("a b")));
        assert_eq!(
            refresh_scope(Some(&set("a")), &granted, &allowed),
            Ok(set("a"))
        );
        assert!(matches!(
            refresh_scope(Some(&set("c")), &granted, &allowed),
            Err(TokenError::InvalidScope(m)) if m.ends_with(": c")
        ));
        assert!(matches!(
            refresh_scope(Some(&set("a d")), &granted, &allowed),
            Err(TokenError::InvalidScope(m)) if m.contains('d')
        ));
    }
}
