//! The command line, declared with clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Tessera: an OAuth 2.0 authorization server.
#[derive(Parser, Debug)]
#[command(name = "tessera", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes. Each also has an environment variable and a `tessera.toml` key;
/// a flag beats the environment, which beats the file, which beats the default.
#[derive(Args, Debug, Clone, Default)]
pub struct GlobalArgs {
    /// Configuration file [env: TESSERA_CONFIG] [default: ./tessera.toml when present].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory holding the SQLite database [env: TESSERA_DATA_DIR; key: data_dir]
    /// [default: ./tessera-data].
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL (sqlite://PATH or a path); overrides the data directory
    /// [env: TESSERA_DATABASE_URL; key: database_url].
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Act on a running server through its admin API (`http(s)://HOST:PORT` of `[admin] bind`)
    /// instead of opening the database [env: TESSERA_SERVER].
    #[arg(long, global = true, value_name = "URL", env = "TESSERA_SERVER")]
    pub server: Option<String>,
    /// File holding the admin access token for `--server` (a token of a client with
    /// ROLE_TESSERA-ADMIN) [env: TESSERA_TOKEN_FILE].
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "TESSERA_TOKEN_FILE",
        requires = "server"
    )]
    pub token_file: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Runs the authorization server.
    Serve(ServeArgs),
    /// Registers and manages clients.
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Manages the user directory.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Lists, rotates and retires signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Manages dynamic client registration (RFC 7591): initial access tokens.
    Registration {
        #[command(subcommand)]
        command: RegistrationCommand,
    },
    /// Reads the audit trail of security events.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Applies pending database migrations and exits (serve does this too).
    Migrate,
}

#[derive(Subcommand, Debug)]
pub enum RegistrationCommand {
    /// Issues an initial access token and prints it (shown this once) as JSON.
    IssueToken {
        /// How many registrations it allows [default: 1]; 0 for any number until it expires.
        #[arg(long, default_value_t = 1)]
        uses: u32,
        /// Seconds until it expires (at most 90 days).
        #[arg(long, default_value_t = 86_400)]
        expires_in: u32,
        /// Who it is for.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Lists the initial access tokens (never the tokens themselves).
    ListTokens,
    /// Revokes an initial access token by its id.
    RevokeToken {
        /// Its id (`iat_…`).
        id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Prints the newest events, oldest first, one JSON object per line.
    Tail {
        /// How many.
        #[arg(short = 'n', long, default_value_t = 50)]
        lines: u32,
    },
}

impl Command {
    /// The `serve` flags that override configuration, if this is `serve`.
    pub fn serve_overrides(&self) -> Option<&ServeArgs> {
        match self {
            Self::Serve(args) => Some(args),
            _ => None,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Creates an active user and prints it as JSON.
    Create {
        /// Logon name, unique (e.g. A123321B).
        #[arg(long)]
        logon: String,
        /// E-mail address.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// User id [default: generated].
        #[arg(long)]
        id: Option<String>,
        /// The OpenID Connect profile claims.
        #[command(flatten)]
        profile: Box<ProfileArgs>,
        /// Read the password (8 to 256 characters) from standard input; without it the user
        /// cannot sign in until `user set-password`.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Lists every user as JSON.
    List,
    /// Sets a user's password, read from standard input (stored as argon2id).
    SetPassword {
        /// The user id.
        id: String,
    },
    /// Ends every browser session of a user; the clients that took part are told through
    /// back-channel logout. Locking and disabling do this too.
    SignOut {
        /// The user id.
        id: String,
    },
    /// Locks a user until `user unlock`: no sign-in, no token; their sessions end.
    Lock {
        /// The user id.
        id: String,
    },
    /// Unlocks a user (re-enabling a disabled one), also lifting a lock after failed sign-ins.
    Unlock {
        /// The user id.
        id: String,
    },
    /// Disables a user: no token is issued about them any more; their sessions end.
    Disable {
        /// The user id.
        id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Lists every signing key and its state as JSON (no private material).
    List,
    /// Publishes a new key; it starts signing after keys.publish_lead_seconds, and the current
    /// key then retires.
    Rotate {
        /// Algorithm of the new key [default: tokens.default_algorithm].
        #[arg(long, value_name = "ALG")]
        alg: Option<String>,
    },
    /// Removes a published or retiring key from the JWKS now (tokens it signed stop verifying).
    Retire {
        /// The key id (base64url: it may begin with `-`).
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
    /// Re-encrypts the private signing keys and the secret pepper under a new master key, all at
    /// once. Without --new-key-file a new key is generated into the data directory's master.key
    /// (only when that file is the current key); with a configured key, give the new one in a
    /// file and then configure it.
    Rewrap {
        /// A file holding the new master key (32 bytes, base64).
        #[arg(long, value_name = "FILE")]
        new_key_file: Option<std::path::PathBuf>,
    },
}

#[derive(Args, Debug, Clone, Default)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port [env: TESSERA_SERVER__BIND; key: server.bind]
    /// [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR:PORT")]
    pub bind: Option<String>,
    /// Issuer URL (`iss` of every token) [env: TESSERA_SERVER__ISSUER; key: server.issuer]
    /// [default: derived from the bound address].
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum ClientCommand {
    /// Registers a client and prints it as JSON, with its secret (shown this once).
    Create(Box<CreateArgs>),
    /// Lists every client as JSON.
    List,
    /// Shows one client as JSON.
    Show {
        /// The client id.
        id: String,
    },
    /// Changes a client (only what is named) and prints it as JSON; its secrets stay.
    Update(Box<UpdateArgs>),
    /// Disables a client: it can no longer obtain tokens.
    Disable {
        /// The client id.
        id: String,
    },
    /// Gives a client a new secret (printed once); the old one keeps working for the grace period.
    RotateSecret {
        /// The client id.
        id: String,
        /// How long the old secret keeps working, e.g. `0`, `90s`, `15m`, `24h` (at most 30 days).
        #[arg(long, default_value = "0", value_parser = parse_grace)]
        grace: std::time::Duration,
    },
    /// Deletes a client and its secrets.
    Delete {
        /// The client id.
        id: String,
    },
}

/// A grace period: `0` or a humantime duration, at most 30 days.
fn parse_grace(s: &str) -> Result<std::time::Duration, String> {
    let d = if s == "0" {
        std::time::Duration::ZERO
    } else {
        humantime::parse_duration(s).map_err(|e| e.to_string())?
    };
    if d > std::time::Duration::from_secs(u64::from(tessera_domain::service::MAX_GRACE_SECS)) {
        return Err("at most 30 days".into());
    }
    Ok(d)
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// Client id [default: generated].
    #[arg(long)]
    pub id: Option<String>,
    /// Scopes the client may request, space-separated.
    #[arg(long, default_value = "")]
    pub scope: String,
    /// Scopes granted when the client asks for none [default: all of --scope].
    #[arg(long)]
    pub default_scope: Option<String>,
    /// A role, e.g. ROLE_CLI-1STPARTY (repeatable).
    #[arg(long = "role", value_name = "ROLE")]
    pub roles: Vec<String>,
    /// A grant type (repeatable) [default: client_credentials].
    #[arg(long = "grant", value_name = "GRANT")]
    pub grants: Vec<String>,
    /// A token endpoint authentication method: client_secret_basic, client_secret_post or none
    /// (repeatable) [default: client_secret_basic and client_secret_post].
    #[arg(long = "auth-method", value_name = "METHOD")]
    pub auth_methods: Vec<String>,
    /// Access-token lifetime in seconds [default: the deployment's].
    #[arg(long, value_name = "SECONDS")]
    pub ttl: Option<u64>,
    /// Signing algorithm: ES256, RS256, PS256 or EdDSA [default: the deployment's].
    #[arg(long, value_name = "ALG")]
    pub alg: Option<String>,
    /// The strongest assurance level it may grant in user tokens (AUTH-IDENTIFIED, AUTH_BASIC,
    /// AUTH_MFA, AUTH_SMART, AUTH_STRONG) [default: no limit].
    #[arg(long, value_name = "LEVEL")]
    pub max_assurance: Option<String>,
    /// A PEM certificate file the client must present, its tokens then bound to it (RFC 8705;
    /// repeatable, for rollover).
    #[arg(long = "cert", value_name = "FILE")]
    pub certs: Vec<std::path::PathBuf>,
    /// The subject DN (RFC 4514, e.g. "CN=pix.example,O=Example,C=BR") of the certificates a
    /// trusted CA issues to the client (`tls_client_auth`, RFC 8705 §2.1; the CA is
    /// `server.client_ca_file`). Like `--cert`, its tokens are then bound to the certificate.
    #[arg(long, value_name = "DN")]
    pub subject_dn: Option<String>,
    /// A redirect URI for the authorization code grant (repeatable), matched exactly.
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,
    /// Where the end-session endpoint may send the browser after a logout (repeatable), matched
    /// exactly; its own list, apart from --redirect-uri (RP-Initiated Logout 1.0 §3.1).
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub post_logout_redirect_uris: Vec<String>,
    /// Where logout tokens are posted when a user's session ends (Back-Channel Logout 1.0).
    #[arg(long, value_name = "URL")]
    pub backchannel_logout_uri: Option<String>,
    /// The algorithm of its ID tokens (`id_token_signed_response_alg`) [default: the
    /// deployment's, oidc.id_token_algorithm].
    #[arg(long, value_name = "ALG")]
    pub id_token_alg: Option<String>,
    /// Also issue a refresh token from client_credentials (off by default, RFC 6749 §4.4.3; for
    /// APIs that document one, such as Screening Eagle). Needs --grant refresh_token.
    #[arg(long)]
    pub refresh_with_client_credentials: bool,
    /// A resource (RFC 8707) it may ask tokens for with `resource`, an absolute URI (repeatable);
    /// its tokens' `aud` is then the resources it asked for.
    #[arg(long = "resource", value_name = "URI")]
    pub resources: Vec<String>,
    /// Access-token format: jwt (verifiable offline) or opaque (validated by introspection).
    #[arg(long, default_value = "jwt", value_name = "FORMAT")]
    pub access_token_format: String,
    /// Audience (`aud`) of its tokens [default: the deployment's].
    #[arg(long)]
    pub audience: Option<String>,
    /// Read an existing secret (imported from another provider) from standard input instead of
    /// generating one; it is stored as argon2id.
    #[arg(long)]
    pub secret_stdin: bool,
}

/// What `client update` changes; a list given replaces the client's list.
#[derive(Args, Debug)]
pub struct UpdateArgs {
    /// The client id.
    pub id: String,
    /// Display name.
    #[arg(long)]
    pub name: Option<String>,
    /// Scopes the client may request, space-separated.
    #[arg(long)]
    pub scope: Option<String>,
    /// Scopes granted when the client asks for none.
    #[arg(long)]
    pub default_scope: Option<String>,
    /// Its roles, replacing the current ones (repeatable).
    #[arg(long = "role", value_name = "ROLE")]
    pub roles: Vec<String>,
    /// Remove every role.
    #[arg(long, conflicts_with = "roles")]
    pub no_roles: bool,
    /// Its grant types, replacing the current ones (repeatable).
    #[arg(long = "grant", value_name = "GRANT")]
    pub grants: Vec<String>,
    /// Its token endpoint authentication methods, replacing the current ones (repeatable).
    #[arg(long = "auth-method", value_name = "METHOD")]
    pub auth_methods: Vec<String>,
    /// Its redirect URIs, replacing the current ones (repeatable).
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,
    /// A redirect URI to add (repeatable).
    #[arg(
        long = "add-redirect-uri",
        value_name = "URI",
        conflicts_with = "redirect_uris"
    )]
    pub add_redirect_uris: Vec<String>,
    /// A redirect URI to remove (repeatable).
    #[arg(
        long = "remove-redirect-uri",
        value_name = "URI",
        conflicts_with = "redirect_uris"
    )]
    pub remove_redirect_uris: Vec<String>,
    /// Its post-logout redirect URIs, replacing the current ones (repeatable).
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub post_logout_redirect_uris: Vec<String>,
    /// The resources (RFC 8707) it may ask tokens for, replacing the current ones (repeatable).
    #[arg(long = "resource", value_name = "URI")]
    pub resources: Vec<String>,
    /// Access-token lifetime in seconds.
    #[arg(long, value_name = "SECONDS")]
    pub ttl: Option<u64>,
    /// Signing algorithm: ES256, RS256, PS256 or EdDSA.
    #[arg(long, value_name = "ALG")]
    pub alg: Option<String>,
    /// Access-token format: jwt or opaque.
    #[arg(long, value_name = "FORMAT")]
    pub access_token_format: Option<String>,
    /// Audience (`aud`) of its tokens.
    #[arg(long)]
    pub audience: Option<String>,
    /// Enable the client again.
    #[arg(long, conflicts_with = "disable")]
    pub enable: bool,
    /// Disable the client.
    #[arg(long)]
    pub disable: bool,
    /// Replace its certificate thumbprints (`x5t#S256`, base64url; repeatable).
    #[arg(long = "cert-thumbprint", value_name = "X5T_S256")]
    pub cert_thumbprints: Vec<String>,
    /// Subject DN of its CA-issued certificate (`tls_client_auth`).
    #[arg(long, value_name = "DN")]
    pub tls_subject_dn: Option<String>,
    /// The strongest assurance level it may put in a user token.
    #[arg(long, value_name = "ACR")]
    pub max_assurance: Option<String>,
    /// Back-channel logout URI.
    #[arg(long, value_name = "URI")]
    pub backchannel_logout_uri: Option<String>,
    /// ID-token signing algorithm.
    #[arg(long, value_name = "ALG")]
    pub id_token_alg: Option<String>,
}

/// The OpenID Connect claims of a user (Core §5.1) beside the logon, name and e-mail.
#[derive(Args, Debug)]
pub struct ProfileArgs {
    /// `given_name`.
    #[arg(long)]
    pub given_name: Option<String>,
    /// `family_name`.
    #[arg(long)]
    pub family_name: Option<String>,
    /// `locale` (e.g. pt-BR).
    #[arg(long)]
    pub locale: Option<String>,
    /// The e-mail address has been verified (`email_verified`).
    #[arg(long)]
    pub email_verified: bool,
    /// `phone_number` (scope phone), E.164 recommended: +55 11 91234-5678.
    #[arg(long)]
    pub phone_number: Option<String>,
    /// The phone number has been verified (`phone_number_verified`).
    #[arg(long)]
    pub phone_number_verified: bool,
    /// `address.street_address` (scope address).
    #[arg(long)]
    pub street_address: Option<String>,
    /// `address.locality`: the city.
    #[arg(long)]
    pub locality: Option<String>,
    /// `address.region`: the state or province.
    #[arg(long)]
    pub region: Option<String>,
    /// `address.postal_code`.
    #[arg(long)]
    pub postal_code: Option<String>,
    /// `address.country`.
    #[arg(long)]
    pub country: Option<String>,
}
