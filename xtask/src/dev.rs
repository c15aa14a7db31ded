//! `cargo xtask dev`: build tessera, make sure the demo clients exist in `.dev/`, print curl
//! commands that work against it, and run the server in the foreground.

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, bail};

/// The demo clients: id, name, extra `client create` arguments.
const DEMO: &[(&str, &str, &[&str])] = &[
    (
        "demo-service",
        "Demo service",
        &["--scope", "read write", "--default-scope", "read"],
    ),
    (
        "demo-serproid",
        "Demo SerproID app",
        &["--auth-method", "client_secret_post"],
    ),
    (
        "demo-eagle",
        "Demo Screening Eagle integration",
        &[
            "--scope",
            "openid email profile inspect",
            "--grant",
            "client_credentials",
            "--grant",
            "refresh_token",
            // The seed's endpoint documents a refresh token from client_credentials.
            "--refresh-with-client-credentials",
        ],
    ),
    (
        "demo-authme",
        "Demo AuthMe first-party app",
        &[
            "--role",
            "ROLE_CLI-1STPARTY",
            "--role",
            "ROLE_CLI-AUTH-BASIC",
        ],
    ),
    ("demo-pix-gateway", "Demo Pix gateway", &[]),
    (
        "demo-pix",
        "Demo Pix app",
        &[
            "--auth-method",
            "client_secret_post",
            "--scope",
            "cob.write cob.read pix.write pix.read",
            "--cert",
            "xtask/demo-pix.pem",
        ],
    ),
    (
        "demo-firstparty",
        "Demo first-party app",
        &[
            "--scope",
            "openid profile",
            "--role",
            "ROLE_CLI-1STPARTY",
            "--role",
            "ROLE_CLI-AUTH-BASIC",
        ],
    ),
    (
        "demo-web",
        "Demo web app (OpenID Connect)",
        &[
            "--role",
            "ROLE_CLI-1STPARTY",
            "--grant",
            "authorization_code",
            "--grant",
            "refresh_token",
            "--redirect-uri",
            WEB_CALLBACK,
            "--post-logout-redirect-uri",
            WEB_SIGNED_OUT,
            "--scope",
            "openid profile email offline_access",
        ],
    ),
];

const BIND: &str = "127.0.0.1:8080";
/// Where the demo web app would receive its code; nothing listens there, the browser's address bar
/// shows the code.
const WEB_CALLBACK: &str = "http://127.0.0.1:8765/callback";
/// Where the demo web app returns after a logout.
const WEB_SIGNED_OUT: &str = "http://127.0.0.1:8765/signed-out";
/// The PKCE pair of RFC 7636 Appendix B.
const DEMO_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const DEMO_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const DEMO_LOGON: &str = "demo";
const DEMO_PASSWORD: &str = "demo password";

/// Whether a client registered with `args` gets a token from a plain `curl -u id:secret -d
/// grant_type=client_credentials`: it has that grant (the default when none is named), may use
/// `client_secret_basic` (a default method when none is named) and needs no certificate.
fn plain_client_credentials(args: &[&str]) -> bool {
    let values = |flag: &str| -> Vec<&str> {
        args.windows(2)
            .filter(|w| w.first() == Some(&flag))
            .filter_map(|w| w.get(1).copied())
            .collect()
    };
    let grants = values("--grant");
    let methods = values("--auth-method");
    (grants.is_empty() || grants.contains(&"client_credentials"))
        && (methods.is_empty() || methods.contains(&"client_secret_basic"))
        && !args.contains(&"--cert")
}

fn tessera(bin: &Path, data: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.current_dir(crate::root())
        .arg("--data-dir")
        .arg(data)
        .args(args);
    cmd
}

/// One printed example: what it shows, the shell lines, and what its output must contain
/// (`None`: it needs a step in a browser first, so `--check` runs only its first line's page).
struct Snippet {
    comment: String,
    lines: Vec<String>,
    expect: Option<&'static str>,
}

fn snippet(comment: impl Into<String>, lines: &[String], expect: Option<&'static str>) -> Snippet {
    Snippet {
        comment: comment.into(),
        lines: lines.to_vec(),
        expect,
    }
}

/// `cargo xtask dev`: the server on `.dev/` in the foreground, after printing the examples.
/// `cargo xtask dev --check`: the same on a temporary directory and a free port, running every
/// printed example against it and failing when one does not answer as it says.
pub fn run(check: bool) -> anyhow::Result<()> {
    crate::cargo(&["build", "-p", "tessera-app"])?;
    let root = crate::root();
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(|_| root.join("target"), Into::into);
    let bin = target.join("debug").join("tessera");
    let scratch = std::env::temp_dir().join(format!("tessera-dev-check-{}", std::process::id()));
    let data = if check {
        scratch.clone()
    } else {
        root.join(".dev")
    };
    let bind = if check {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        format!("127.0.0.1:{port}")
    } else {
        BIND.to_owned()
    };
    std::fs::create_dir_all(&data).context("cannot create the data directory")?;
    let secrets = demo_clients(&bin, &data)?;
    let snippets = examples(&bin, &data, &secrets, &bind)?;
    let mut serve = tessera(&bin, &data, &["serve", "--bind", &bind]);
    serve.env("TESSERA_DIALECTS__SEMEAR__TRUST_CLIENT_CERT_HEADER", "true");
    if check {
        let result = check_examples(&mut serve, &snippets, &bind);
        let _ = std::fs::remove_dir_all(&scratch);
        return result;
    }
    println!("\nTessera dev server on http://{bind} (data in .dev/)\n");
    for s in &snippets {
        println!("# {}", s.comment);
        for line in &s.lines {
            println!("{line}");
        }
        println!();
    }
    let status = serve.status().context("cannot run tessera serve")?;
    if !status.success() {
        bail!("tessera serve exited with {status}");
    }
    Ok(())
}

/// Starts the server, runs every example with `sh`, and stops the server.
fn check_examples(serve: &mut Command, snippets: &[Snippet], bind: &str) -> anyhow::Result<()> {
    let mut server = serve
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("cannot run tessera serve")?;
    let result = (|| {
        let addr: std::net::SocketAddr = bind.parse()?;
        let up = (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(100));
            std::net::TcpStream::connect(addr).is_ok()
        });
        if !up {
            bail!("tessera serve did not start on {bind}");
        }
        for s in snippets {
            let (script, expect) = match s.expect {
                Some(expect) => (s.lines.join("\n"), expect),
                // A browser step: the page it opens must answer.
                None => (
                    format!(
                        "curl -s -o /dev/null -w '%{{http_code}}' '{}'",
                        s.lines.first().map_or("", String::as_str)
                    ),
                    "200",
                ),
            };
            let out = Command::new("sh")
                .args(["-c", &format!("set -e\n{script}")])
                .current_dir(crate::root())
                .output()
                .context("cannot run sh")?;
            let stdout = String::from_utf8_lossy(&out.stdout);
            if !out.status.success() || !stdout.contains(expect) {
                bail!(
                    "the printed example for {:?} does not work: expected {expect:?} in {stdout:?} ({})",
                    s.comment,
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
            eprintln!("xtask dev --check: ok: {}", s.comment);
        }
        Ok(())
    })();
    let _ = server.kill();
    let _ = server.wait();
    result
}

/// Makes sure every demo client exists in `data`, and returns their ids and secrets.
fn demo_clients(bin: &Path, data: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let secrets_file = data.join("demo-secrets.txt");
    let mut secrets: Vec<(String, String)> = std::fs::read_to_string(&secrets_file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(a, b)| (a.to_owned(), b.to_owned())))
        .collect();
    for (id, name, extra) in DEMO {
        let known = secrets.iter().any(|(i, _)| i == id);
        let exists = tessera(bin, data, &["client", "show", id])
            .output()?
            .status
            .success();
        if known && exists {
            continue;
        }
        if exists {
            // Its secret was lost: register it again.
            tessera(bin, data, &["client", "delete", id]).output()?;
        }
        let mut args = vec!["client", "create", "--id", id, "--name", name];
        args.extend_from_slice(extra);
        let out = tessera(bin, data, &args).output()?;
        if !out.status.success() {
            bail!("creating {id}: {}", String::from_utf8_lossy(&out.stderr));
        }
        let shown: serde_json::Value =
            serde_json::from_slice(&out.stdout).context("client create output")?;
        let secret = shown
            .get("client_secret")
            .and_then(serde_json::Value::as_str)
            .context("no client_secret in the output")?
            .to_owned();
        secrets.retain(|(i, _)| i != id);
        secrets.push(((*id).to_owned(), secret));
    }
    let listing: String = secrets.iter().map(|(i, s)| format!("{i} {s}\n")).collect();
    std::fs::write(&secrets_file, listing).context("cannot save demo secrets")?;

    Ok(secrets)
}

/// The examples for the demo clients, creating the demo users they need.
fn examples(
    bin: &Path,
    data: &Path,
    secrets: &[(String, String)],
    bind: &str,
) -> anyhow::Result<Vec<Snippet>> {
    let mut out = Vec::new();
    let find = |id: &str| secrets.iter().find(|(i, _)| i == id);
    let plain = |id: &str| {
        DEMO.iter()
            .any(|(demo, _, args)| *demo == id && plain_client_credentials(args))
    };
    for (id, secret) in secrets.iter().filter(|(i, _)| plain(i)) {
        out.push(snippet(
            format!("{id}: a client_credentials token (client_secret_basic)"),
            &[format!(
                "curl -s -u '{id}:{secret}' -d grant_type=client_credentials http://{bind}/oauth2/token"
            )],
            Some("\"access_token\""),
        ));
    }
    if let Some((id, secret)) = find("demo-service") {
        out.push(snippet(
            "the same with client_secret_post and an explicit scope",
            &[format!(
                "curl -s -d grant_type=client_credentials -d scope=write -d client_id={id} -d client_secret={secret} http://{bind}/oauth2/token"
            )],
            Some("\"access_token\""),
        ));
    }
    if let Some((id, secret)) = find("demo-serproid") {
        out.push(snippet(
            "SerproID dialect (docs/dialects.md)",
            &[format!(
                "curl -s -X POST http://{bind}/oauth/v0/oauth/client_token -H 'Content-Type: application/x-www-form-urlencoded' -d 'grant_type=client_credentials&client_id={id}&client_secret={secret}'"
            )],
            Some("\"access_token\""),
        ));
    }
    if let Some((id, secret)) = find("demo-eagle") {
        out.push(snippet(
            "Screening Eagle dialect (docs/dialects.md)",
            &[format!(
                "curl -s -X POST http://{bind}/api/id/v1/auth/token -u '{id}:{secret}' -d grant_type=client_credentials --data-urlencode 'scope=openid email profile inspect'"
            )],
            Some("\"access_token\""),
        ));
    }
    if let Some((id, secret)) = find("demo-authme") {
        let user = "5ef904d4b91ac90414895f3c";
        // Fails harmlessly when the user exists from an earlier run.
        let _ = tessera(
            bin,
            data,
            &[
                "user",
                "create",
                "--id",
                user,
                "--logon",
                "A123321B",
                "--email",
                "demo@example.com",
                "--name",
                "Demo User",
            ],
        )
        .output();
        out.push(snippet(
            "AuthMe dialect (docs/dialects.md): a client token",
            &[format!(
                "curl -s -X POST http://{bind}/security/iam/v1/generate-token -u '{id}:{secret}' -H 'Content-Type: application/json' -d '{{\"clientId\": \"{id}\", \"tokenRequestType\": \"CLIENT\", \"loginGrantedAuthorities\": \"AUTH-IDENTIFIED\"}}'"
            )],
            Some("\"accessToken\""),
        ));
        out.push(snippet(
            "AuthMe: a user token (a param for the demo user, then the seed's request with it)",
            &[
                format!(
                    "PARAM=$(curl -s -X POST http://{bind}/security/iam/v1/generate-param -u '{id}:{secret}' -H 'Content-Type: application/json' -d '{{\"userId\": \"{user}\"}}' | sed 's/.*\"param\":\"\\([A-Z0-9]*\\)\".*/\\1/')"
                ),
                format!(
                    "curl -s -X POST http://{bind}/security/iam/v1/generate-token -u '{id}:{secret}' -H 'Content-Type: application/json' -d '{{\"clientId\": \"{id}\", \"tokenRequestType\": \"USER\", \"userId\": \"{user}\", \"logon\": \"A123321B\", \"param\": \"'$PARAM'\", \"rememberMe\": true, \"loginGrantedAuthorities\": \"AUTH_MFA\"}}'"
                ),
            ],
            Some("\"refreshToken\""),
        ));
    }
    if let (Some((gw, gw_secret)), Some((pix, pix_secret))) =
        (find("demo-pix-gateway"), find("demo-pix"))
    {
        out.push(snippet(
            "Banco Semear Pix dialect (docs/dialects.md): the gateway's token, then the Pix token",
            &[
                format!(
                    "GATEWAY=$(curl -s -u '{gw}:{gw_secret}' -d grant_type=client_credentials http://{bind}/oauth2/token | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')"
                ),
                format!(
                    "curl -s -X POST http://{bind}/oauth-apipix/oauth/token -H \"client-cert: $(tr '\\n' ' ' < xtask/demo-pix.pem)\" -H \"access_token: $GATEWAY\" --data-urlencode client_id={pix} --data-urlencode client_secret={pix_secret} --data-urlencode grant_type=client_credentials --data-urlencode 'scope=cob.write cob.read pix.write pix.read'"
                ),
            ],
            Some("\"access_token\""),
        ));
    }
    if let Some((id, secret)) = find("demo-web") {
        let mut create = tessera(
            bin,
            data,
            &[
                "user",
                "create",
                "--logon",
                DEMO_LOGON,
                "--email",
                "demo.web@example.com",
                "--name",
                "Demo Web User",
                "--email-verified",
                "--password-stdin",
            ],
        );
        let mut child = create
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?;
        if let Some(mut stdin) = child.stdin.take() {
            std::io::Write::write_all(&mut stdin, DEMO_PASSWORD.as_bytes())?;
        }
        // Fails harmlessly when the user exists from an earlier run.
        let _ = child.wait()?;
        out.push(snippet(
            format!(
                "OpenID Connect (docs/oidc.md): open this in a browser, sign in as {DEMO_LOGON} / '{DEMO_PASSWORD}',\n# then copy the code from the address bar of the page it lands on"
            ),
            &[
                format!(
                    "http://{bind}/oauth2/authorize?response_type=code&client_id={id}&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback&scope=openid%20profile%20email&state=demo&nonce=demo&code_challenge={DEMO_CHALLENGE}&code_challenge_method=S256"
                ),
                format!(
                    "curl -s -u '{id}:{secret}' -d grant_type=authorization_code -d code=<code> --data-urlencode redirect_uri={WEB_CALLBACK} -d code_verifier={DEMO_VERIFIER} http://{bind}/oauth2/token"
                ),
            ],
            None,
        ));
    }
    out.push(snippet(
        "the public keys",
        &[format!("curl -s http://{bind}/oauth2/jwks")],
        Some("\"keys\""),
    ));
    out.push(snippet(
        "the metadata",
        &[format!(
            "curl -s http://{bind}/.well-known/oauth-authorization-server"
        )],
        Some("\"issuer\""),
    ));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_clients_a_plain_basic_curl_works_for_get_one() {
        let plain: Vec<&str> = DEMO
            .iter()
            .filter(|(_, _, args)| plain_client_credentials(args))
            .map(|(id, _, _)| *id)
            .collect();
        for id in ["demo-pix", "demo-web", "demo-serproid"] {
            assert!(
                !plain.contains(&id),
                "{id} is printed with a command that fails"
            );
        }
        assert!(plain.contains(&"demo-service"));
        assert!(plain.contains(&"demo-eagle"));
    }
}
