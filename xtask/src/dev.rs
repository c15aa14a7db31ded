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

pub fn run() -> anyhow::Result<()> {
    crate::cargo(&["build", "-p", "tessera-app"])?;
    let root = crate::root();
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(|_| root.join("target"), Into::into);
    let bin = target.join("debug").join("tessera");
    let data = root.join(".dev");
    std::fs::create_dir_all(&data).context("cannot create .dev")?;
    let secrets_file = data.join("demo-secrets.txt");
    let mut secrets: Vec<(String, String)> = std::fs::read_to_string(&secrets_file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(a, b)| (a.to_owned(), b.to_owned())))
        .collect();

    for (id, name, extra) in DEMO {
        let known = secrets.iter().any(|(i, _)| i == id);
        let exists = tessera(&bin, &data, &["client", "show", id])
            .output()?
            .status
            .success();
        if known && exists {
            continue;
        }
        if exists {
            // Its secret was lost: register it again.
            tessera(&bin, &data, &["client", "delete", id]).output()?;
        }
        let mut args = vec!["client", "create", "--id", id, "--name", name];
        args.extend_from_slice(extra);
        let out = tessera(&bin, &data, &args).output()?;
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

    println!("\nTessera dev server on http://{BIND} (data in .dev/)\n");
    let plain = |id: &str| {
        DEMO.iter()
            .any(|(demo, _, args)| *demo == id && plain_client_credentials(args))
    };
    for (id, secret) in secrets.iter().filter(|(i, _)| plain(i)) {
        println!("# {id}: a client_credentials token (client_secret_basic)");
        println!(
            "curl -s -u '{id}:{secret}' -d grant_type=client_credentials http://{BIND}/oauth2/token\n"
        );
    }
    if let Some((id, secret)) = secrets.first() {
        println!("# the same with client_secret_post and an explicit scope");
        println!(
            "curl -s -d grant_type=client_credentials -d scope=write -d client_id={id} -d client_secret={secret} http://{BIND}/oauth2/token\n"
        );
    }
    if let Some((id, secret)) = secrets.iter().find(|(i, _)| i == "demo-serproid") {
        println!("# SerproID dialect (docs/dialects.md)");
        println!(
            "curl -s -X POST http://{BIND}/oauth/v0/oauth/client_token -H 'Content-Type: application/x-www-form-urlencoded' -d 'grant_type=client_credentials&client_id={id}&client_secret={secret}'\n"
        );
    }
    if let Some((id, secret)) = secrets.iter().find(|(i, _)| i == "demo-eagle") {
        println!("# Screening Eagle dialect (docs/dialects.md)");
        println!(
            "curl -s -X POST http://{BIND}/api/id/v1/auth/token -u '{id}:{secret}' -d grant_type=client_credentials --data-urlencode 'scope=openid email profile inspect'\n"
        );
    }
    if let Some((id, secret)) = secrets.iter().find(|(i, _)| i == "demo-authme") {
        let user = "5ef904d4b91ac90414895f3c";
        let _ = tessera(
            &bin,
            &data,
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
        println!("# AuthMe dialect (docs/dialects.md): a client token");
        println!(
            "curl -s -X POST http://{BIND}/security/iam/v1/generate-token -u '{id}:{secret}' -H 'Content-Type: application/json' -d '{{\"clientId\": \"{id}\", \"tokenRequestType\": \"CLIENT\", \"loginGrantedAuthorities\": \"AUTH-IDENTIFIED\"}}'\n"
        );
        println!(
            "# AuthMe: a user token (a param for the demo user, then the seed's request with it)"
        );
        println!(
            "PARAM=$(curl -s -X POST http://{BIND}/security/iam/v1/generate-param -u '{id}:{secret}' -H 'Content-Type: application/json' -d '{{\"userId\": \"{user}\"}}' | sed 's/.*\"param\":\"\\([A-Z0-9]*\\)\".*/\\1/')"
        );
        println!(
            "curl -s -X POST http://{BIND}/security/iam/v1/generate-token -u '{id}:{secret}' -H 'Content-Type: application/json' -d '{{\"clientId\": \"{id}\", \"tokenRequestType\": \"USER\", \"userId\": \"{user}\", \"logon\": \"A123321B\", \"param\": \"'$PARAM'\", \"rememberMe\": true, \"loginGrantedAuthorities\": \"AUTH_MFA\"}}'\n"
        );
    }
    if let (Some((gw, gw_secret)), Some((pix, pix_secret))) = (
        secrets.iter().find(|(i, _)| i == "demo-pix-gateway"),
        secrets.iter().find(|(i, _)| i == "demo-pix"),
    ) {
        println!(
            "# Banco Semear Pix dialect (docs/dialects.md): the gateway's token, then the Pix token"
        );
        println!(
            "GATEWAY=$(curl -s -u '{gw}:{gw_secret}' -d grant_type=client_credentials http://{BIND}/oauth2/token | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')"
        );
        println!(
            "curl -s -X POST http://{BIND}/oauth-apipix/oauth/token -H \"client-cert: $(tr '\\n' ' ' < xtask/demo-pix.pem)\" -H \"access_token: $GATEWAY\" --data-urlencode client_id={pix} --data-urlencode client_secret={pix_secret} --data-urlencode grant_type=client_credentials --data-urlencode 'scope=cob.write cob.read pix.write pix.read'\n"
        );
    }
    if let Some((id, secret)) = secrets.iter().find(|(i, _)| i == "demo-web") {
        let mut create = tessera(
            &bin,
            &data,
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
        println!(
            "# OpenID Connect (docs/oidc.md): open this in a browser, sign in as {DEMO_LOGON} / '{DEMO_PASSWORD}',"
        );
        println!("# then copy the code from the address bar of the page it lands on");
        println!(
            "http://{BIND}/oauth2/authorize?response_type=code&client_id={id}&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback&scope=openid%20profile%20email&state=demo&nonce=demo&code_challenge={DEMO_CHALLENGE}&code_challenge_method=S256"
        );
        println!(
            "curl -s -u '{id}:{secret}' -d grant_type=authorization_code -d code=<code> --data-urlencode redirect_uri={WEB_CALLBACK} -d code_verifier={DEMO_VERIFIER} http://{BIND}/oauth2/token\n"
        );
    }
    println!("# the public keys and the metadata");
    println!("curl -s http://{BIND}/oauth2/jwks");
    println!("curl -s http://{BIND}/.well-known/oauth-authorization-server\n");

    let status = tessera(&bin, &data, &["serve", "--bind", BIND])
        .env("TESSERA_DIALECTS__SEMEAR__TRUST_CLIENT_CERT_HEADER", "true")
        .status()
        .context("cannot run tessera serve")?;
    if !status.success() {
        bail!("tessera serve exited with {status}");
    }
    Ok(())
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
