//! Who may use the admin API: a Bearer access token this server issued, not a refresh token, to a
//! client that still holds `ROLE_TESSERA-ADMIN`, with the scope `tessera:admin` (read-only
//! actions also accept `tessera:admin.read`). RFC 6750 §3.1 names the two refusals.

use super::*;

/// The role an admin client holds.
pub const ADMIN_ROLE: &str = "ROLE_TESSERA-ADMIN";
/// The scope of every admin action.
pub const ADMIN_SCOPE: &str = "tessera:admin";
/// The scope of the read-only admin actions.
pub const ADMIN_READ_SCOPE: &str = "tessera:admin.read";

/// What an admin request does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminAccess {
    /// Reads only (list, show, tail).
    Read,
    /// Changes something.
    Write,
}

/// Why an admin request is refused (RFC 6750 §3.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminDenied {
    /// No token, or not an active access token of this server (or one bound to a certificate
    /// the request did not prove): 401 `invalid_token`.
    InvalidToken,
    /// A valid token without the role or the scope: 403 `insufficient_scope`, naming the scope
    /// the action needs.
    InsufficientScope(&'static str),
    /// The store could not answer: 503.
    Unavailable,
}

/// Whether a token with `scope`, of a client holding `roles`, may perform `access` (the decision,
/// apart from finding the token).
///
/// # Errors
/// `InsufficientScope` naming the scope the action needs.
pub fn admin_allows(
    scope: &ScopeSet,
    roles: &crate::client::RoleSet,
    access: AdminAccess,
) -> Result<(), AdminDenied> {
    let needed = match access {
        AdminAccess::Read => ADMIN_READ_SCOPE,
        AdminAccess::Write => ADMIN_SCOPE,
    };
    let role = roles.iter().any(|r| r.as_str() == ADMIN_ROLE);
    let scoped = scope.contains(ADMIN_SCOPE)
        || (access == AdminAccess::Read && scope.contains(ADMIN_READ_SCOPE));
    if role && scoped {
        Ok(())
    } else {
        Err(AdminDenied::InsufficientScope(needed))
    }
}

impl TokenService {
    /// The client an admin request acts as, when `bearer` may perform `access` at `now`. The
    /// role is the client's as it is now (a client that lost it is refused at once), not as it
    /// was when the token was issued.
    ///
    /// # Errors
    /// [`AdminDenied`].
    pub async fn admin_caller(
        &self,
        bearer: Option<&str>,
        access: AdminAccess,
        now: UnixTime,
    ) -> Result<ClientId, AdminDenied> {
        let raw = bearer
            .filter(|b| !b.is_empty())
            .ok_or(AdminDenied::InvalidToken)?;
        let info = self
            .lookup(raw, now)
            .await
            .map_err(|_| AdminDenied::Unavailable)?
            .filter(|i| i.token_type == TokenType::Bearer && i.cnf.is_none())
            .ok_or(AdminDenied::InvalidToken)?;
        let client = self
            .ports
            .clients
            .get(&info.client_id)
            .await
            .map_err(|_| AdminDenied::Unavailable)?
            .filter(|c| c.is_enabled())
            .ok_or(AdminDenied::InvalidToken)?;
        admin_allows(&info.scope, client.roles(), access)?;
        Ok(info.client_id)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::client::{Role, RoleSet};

    #[test]
    fn admin_actions_need_the_role_and_the_scope_and_reads_accept_the_read_scope() {
        let s = |v: &str| ScopeSet::parse(v).unwrap();
        let admin = RoleSet::from_roles([Role::parse(ADMIN_ROLE).unwrap()]);
        let other = RoleSet::from_roles([Role::parse("ROLE_CLI-1STPARTY").unwrap()]);
        use AdminAccess::{Read, Write};
        assert_eq!(admin_allows(&s("tessera:admin"), &admin, Write), Ok(()));
        assert_eq!(admin_allows(&s("tessera:admin"), &admin, Read), Ok(()));
        assert_eq!(admin_allows(&s("tessera:admin.read"), &admin, Read), Ok(()));
        assert_eq!(
            admin_allows(&s("tessera:admin.read"), &admin, Write),
            Err(AdminDenied::InsufficientScope(ADMIN_SCOPE))
        );
        assert_eq!(
            admin_allows(&s("tessera:admin"), &other, Read),
            Err(AdminDenied::InsufficientScope(ADMIN_READ_SCOPE)),
            "the scope without the role"
        );
        assert_eq!(
            admin_allows(&s("read write"), &admin, Read),
            Err(AdminDenied::InsufficientScope(ADMIN_READ_SCOPE)),
            "the role without the scope"
        );
    }
}
