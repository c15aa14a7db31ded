// A relying party nobody on this project wrote — panva's oauth4webapi — against the real tessera
// binary. Run by tests/it/rp_node.rs, which registers the clients and the user, starts the server
// and sets the environment below. The browser is fetch with manual redirects and a cookie jar.
//
// The tests run in order and share state (the provider's metadata, the tokens, the browser's
// session): a later test reads what an earlier one left.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import * as oauth from 'oauth4webapi';

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (this file is run by tests/it/rp_node.rs)`);
  return value;
}

const ISSUER = env('TESSERA_ISSUER');
const CLIENT_ID = env('RP_CLIENT_ID');
const CLIENT_SECRET = env('RP_CLIENT_SECRET');
const PUBLIC_CLIENT_ID = env('RP_PUBLIC_CLIENT_ID');
const REDIRECT_URI = env('RP_REDIRECT_URI');
const POST_LOGOUT_URI = env('RP_POST_LOGOUT_URI');
const LOGON = env('RP_LOGON');
const PASSWORD = env('RP_PASSWORD');
// Optional: the user's email address, to compare with the claims.
const EMAIL = process.env.RP_EMAIL;

// The issuer is plain http on loopback; oauth4webapi only talks to https unless told otherwise.
const insecure = { [oauth.allowInsecureRequests]: true };
// No clock tolerance at all (oauth4webapi's default is 30 s): exp, iat and auth_time exactly.
const web = { client_id: CLIENT_ID, [oauth.clockTolerance]: 0 };
const spa = { client_id: PUBLIC_CLIENT_ID, [oauth.clockTolerance]: 0 };
const webAuth = () => oauth.ClientSecretBasic(CLIENT_SECRET);

const TIMEOUT = { timeout: 60_000 };
const now = () => Math.floor(Date.now() / 1000);

/** A browser: fetch without following redirects, and a cookie jar (Set-Cookie → Cookie). */
class Browser {
  jar = new Map();

  async fetch(url, init = {}) {
    const headers = new Headers(init.headers);
    if (this.jar.size) {
      headers.set('cookie', [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '));
    }
    const res = await fetch(url, {
      ...init,
      headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(30_000),
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age\s*=\s*(0|-\d+)\s*$/i.test(a));
      if (!value || expired) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return res;
  }

  has(name) {
    return this.jar.has(name);
  }

  copy() {
    const other = new Browser();
    other.jar = new Map(this.jar);
    return other;
  }
}

function unescapeHtml(s) {
  return s
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}

function attributes(tag) {
  const out = {};
  for (const m of tag.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*"([^"]*)")?/g)) {
    out[m[1].toLowerCase()] = m[2] === undefined ? '' : unescapeHtml(m[2]);
  }
  return out;
}

/**
 * The sign-in form of `html`, after checking its shape: the fields a browser submits when the
 * user presses "sign in" — the hidden ones and the pressed button's own name and value.
 */
function signInForm(html) {
  const forms = [...html.matchAll(/<form\b([^>]*)>/gi)].map((m) => attributes(m[1]));
  assert.equal(forms.length, 1, `one form on the sign-in page:\n${html}`);
  assert.equal(forms[0].method?.toLowerCase(), 'post', `a POST form:\n${html}`);
  assert.equal(forms[0].action, '/oauth2/authorize', `posted to the authorization endpoint:\n${html}`);
  const inputs = [...html.matchAll(/<input\b([^>]*)>/gi)].map((m) => attributes(m[1]));
  const names = inputs.map((i) => i.name);
  assert.ok(names.includes('logon') && names.includes('password'), `logon and password:\n${html}`);
  const button = [...html.matchAll(/<button\b([^>]*)>/gi)]
    .map((m) => attributes(m[1]))
    .find((b) => (b.type ?? 'submit') === 'submit' && b.value === 'login' && b.name);
  assert.ok(button, `a submit button with value="login":\n${html}`);
  const fields = inputs.filter((i) => i.type === 'hidden').map((i) => [i.name, i.value ?? '']);
  return { action: forms[0].action, fields, button: [button.name, button.value] };
}

async function discovery() {
  return oauth.processDiscoveryResponse(
    new URL(ISSUER),
    await oauth.discoveryRequest(new URL(ISSUER), { algorithm: 'oidc', ...insecure }),
  );
}

let as; // the provider's metadata (test a)

/** A new authorization request: PKCE S256, state and nonce, and `extra` parameters. */
async function authorizationRequest(clientId, scope, extra = {}) {
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    scope,
    state,
    nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    ...extra,
  }).toString();
  return { url, codeVerifier, state, nonce };
}

async function text(res) {
  return `${res.status} ${res.headers.get('location') ?? ''}\n${await res.text()}`;
}

/** Shows the sign-in page of `request`, signs in, and returns the Location of the redirect back. */
async function signIn(browser, request) {
  const page = await browser.fetch(request.url);
  assert.equal(page.status, 200, `the sign-in page: ${await text(page.clone())}`);
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  const form = signInForm(await page.text());
  const body = new URLSearchParams(form.fields);
  body.set('logon', LOGON);
  body.set('password', PASSWORD);
  body.set(...form.button);
  const reply = await browser.fetch(new URL(form.action, ISSUER), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  assert.equal(reply.status, 303, `the answer to the sign-in form: ${await text(reply.clone())}`);
  assert.ok(browser.has('tessera_session'), 'a session cookie');
  return reply.headers.get('location');
}

/** The redirect back without any page, for a browser with a session. */
async function straightBack(browser, request) {
  const reply = await browser.fetch(request.url);
  assert.ok(
    reply.status === 302 || reply.status === 303,
    `a redirect back without a page: ${await text(reply.clone())}`,
  );
  return reply.headers.get('location');
}

/** The callback's parameters, checked by oauth4webapi (iss per RFC 9207, state). */
function callback(client, location, request) {
  assert.ok(location, 'a Location header');
  const url = new URL(location);
  assert.equal(`${url.origin}${url.pathname}`, REDIRECT_URI, location);
  assert.equal(url.searchParams.get('iss'), ISSUER, `iss in ${location}`);
  return oauth.validateAuthResponse(as, client, url, request.state);
}

/**
 * Exchanges the code and validates the ID token: its claims (iss, aud, exp, iat, nonce, and
 * auth_time against `maxAge` when given) by processAuthorizationCodeResponse, and its signature
 * against the keys published at jwks_uri by validateApplicationLevelSignature (oauth4webapi
 * does not check the signature of a token-endpoint response on its own).
 */
async function exchange(client, clientAuth, params, request, maxAge) {
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    client,
    clientAuth,
    params,
    REDIRECT_URI,
    request.codeVerifier,
    insecure,
  );
  const raw = response.clone();
  const options = { expectedNonce: request.nonce, requireIdToken: true };
  if (maxAge !== undefined) options.maxAge = maxAge;
  const result = await oauth.processAuthorizationCodeResponse(as, client, response, options);
  await oauth.validateApplicationLevelSignature(as, response, insecure);
  const claims = oauth.getValidatedIdTokenClaims(result);
  assert.ok(claims, 'an ID token');
  assert.equal(claims.iss, ISSUER);
  assert.ok([claims.aud].flat().includes(client.client_id), `aud ${claims.aud}`);
  assert.equal(claims.nonce, request.nonce);
  return { result, claims, raw };
}

// Shared by the tests below.
const browser = new Browser();
let sub;
let sessionAuthTime;
let accessToken;
let refreshToken;
let idToken;

test('a. discovery', TIMEOUT, async () => {
  as = await discovery();
  assert.equal(as.issuer, ISSUER);
  for (const endpoint of [
    'authorization_endpoint',
    'token_endpoint',
    'userinfo_endpoint',
    'jwks_uri',
    'introspection_endpoint',
    'revocation_endpoint',
  ]) {
    assert.equal(typeof as[endpoint], 'string', endpoint);
    assert.ok(as[endpoint].startsWith(`${ISSUER}/`), `${endpoint}: ${as[endpoint]}`);
  }
  assert.ok(as.code_challenge_methods_supported?.includes('S256'));
  assert.ok(as.id_token_signing_alg_values_supported?.includes('RS256'));
  assert.ok(as.response_types_supported?.includes('code'));
  // With this, validateAuthResponse refuses a callback without iss (RFC 9207 §3).
  assert.equal(as.authorization_response_iss_parameter_supported, true);
});

test('b. confidential client: code, PKCE, nonce, a verified ID token', TIMEOUT, async () => {
  const request = await authorizationRequest(CLIENT_ID, 'openid profile email offline_access');
  const before = now();
  const params = callback(web, await signIn(browser, request), request);
  const { result, claims, raw } = await exchange(web, webAuth(), params, request);

  assert.equal(result.token_type, 'bearer');
  assert.equal(typeof result.access_token, 'string');
  assert.equal(typeof result.refresh_token, 'string', 'offline_access: a refresh token');
  assert.equal(typeof claims.sub, 'string');
  assert.equal(typeof claims.auth_time, 'number', 'auth_time');
  assert.ok(claims.auth_time >= before && claims.auth_time <= now(), `auth_time ${claims.auth_time}`);
  sub = claims.sub;
  sessionAuthTime = claims.auth_time;
  accessToken = result.access_token;
  refreshToken = result.refresh_token;
  idToken = result.id_token;

  // The signature check is real: the same response with one signature byte changed passes the
  // claim checks and fails validateApplicationLevelSignature.
  const body = await raw.json();
  const [h, p, s] = body.id_token.split('.');
  const sig = Buffer.from(s, 'base64url');
  sig[sig.length >> 1] ^= 0x01;
  const forged = new Response(
    JSON.stringify({ ...body, id_token: `${h}.${p}.${sig.toString('base64url')}` }),
    { status: 200, headers: { 'content-type': 'application/json' } },
  );
  await oauth.processAuthorizationCodeResponse(as, web, forged, { expectedNonce: request.nonce });
  await assert.rejects(oauth.validateApplicationLevelSignature(as, forged, insecure), (err) => {
    assert.equal(err.code, oauth.INVALID_RESPONSE);
    assert.match(err.message, /signature verification failed/);
    return true;
  });

  // OpenID Connect Front-/Back-Channel Logout and RP-Initiated Logout: the session's id.
  assert.equal(typeof claims.sid, 'string', `sid in the ID token: ${JSON.stringify(claims)}`);
  assert.ok(claims.sid.length > 0);
});

test('c. userinfo', TIMEOUT, async () => {
  assert.ok(accessToken, 'needs b');
  const response = await oauth.userInfoRequest(as, web, accessToken, insecure);
  const info = await oauth.processUserInfoResponse(as, web, sub, response);
  assert.equal(info.sub, sub);
  assert.equal(typeof info.email, 'string');
  assert.match(info.email, /@/);
  if (EMAIL) assert.equal(info.email, EMAIL);
});

test('d. refresh: the refresh token rotates', TIMEOUT, async () => {
  assert.ok(refreshToken, 'needs b');
  const response = await oauth.refreshTokenGrantRequest(as, web, webAuth(), refreshToken, insecure);
  const result = await oauth.processRefreshTokenResponse(as, web, response);
  assert.equal(typeof result.access_token, 'string');
  assert.equal(typeof result.refresh_token, 'string', 'a new refresh token');
  assert.notEqual(result.refresh_token, refreshToken, 'rotated');
  const claims = oauth.getValidatedIdTokenClaims(result);
  if (claims) {
    // OpenID Connect Core §12.2: the same subject, and (if there) the same auth_time.
    await oauth.validateApplicationLevelSignature(as, response, insecure);
    assert.equal(claims.sub, sub);
    if (claims.auth_time !== undefined) assert.equal(claims.auth_time, sessionAuthTime);
  }
  accessToken = result.access_token;
  refreshToken = result.refresh_token;
});

async function introspect(token) {
  const response = await oauth.introspectionRequest(as, web, webAuth(), token, insecure);
  return oauth.processIntrospectionResponse(as, web, response);
}

async function revoke(token, hint) {
  const response = await oauth.revocationRequest(as, web, webAuth(), token, {
    ...insecure,
    additionalParameters: { token_type_hint: hint },
  });
  await oauth.processRevocationResponse(response);
}

test('e. introspection and revocation', TIMEOUT, async () => {
  assert.ok(accessToken && refreshToken, 'needs d');
  const access = await introspect(accessToken);
  assert.equal(access.active, true, JSON.stringify(access));
  assert.equal(access.client_id, CLIENT_ID);
  assert.equal(access.sub, sub);
  const refresh = await introspect(refreshToken);
  assert.equal(refresh.active, true, JSON.stringify(refresh));

  await revoke(refreshToken, 'refresh_token');
  assert.equal((await introspect(refreshToken)).active, false, 'a revoked refresh token');
  await revoke(accessToken, 'access_token');
  assert.equal((await introspect(accessToken)).active, false, 'a revoked access token');
});

test('f. public client: code, PKCE, no client authentication', TIMEOUT, async () => {
  const own = new Browser();
  const request = await authorizationRequest(PUBLIC_CLIENT_ID, 'openid profile email');
  const params = callback(spa, await signIn(own, request), request);
  const { result, claims } = await exchange(spa, oauth.None(), params, request);
  assert.equal(typeof result.access_token, 'string');
  assert.equal(claims.sub, sub);
  assert.equal(typeof claims.auth_time, 'number');
});

test('g. max_age=1 after 2 s asks for the password again', TIMEOUT, async () => {
  assert.ok(browser.has('tessera_session'), 'needs the session of b');
  await sleep(2000);
  const request = await authorizationRequest(CLIENT_ID, 'openid email', { max_age: '1' });
  const before = now();
  // OpenID Connect Core §3.1.2.1: the session is older than max_age, so the user signs in again.
  const params = callback(web, await signIn(browser, request), request);
  const { claims, result } = await exchange(web, webAuth(), params, request, 1);
  assert.ok(claims.auth_time >= before, `a new auth_time: ${claims.auth_time} < ${before}`);
  assert.ok(claims.auth_time > sessionAuthTime, 'later than the first sign-in');
  assert.ok(now() - claims.auth_time <= 5, `auth_time within the last seconds: ${claims.auth_time}`);
  sessionAuthTime = claims.auth_time;
  idToken = result.id_token;
});

test('g. max_age=10000 with a session: straight back, the same auth_time', TIMEOUT, async () => {
  assert.ok(browser.has('tessera_session'), 'needs the session of b');
  const request = await authorizationRequest(CLIENT_ID, 'openid email', { max_age: '10000' });
  const params = callback(web, await straightBack(browser, request), request);
  const { claims, result } = await exchange(web, webAuth(), params, request, 10000);
  assert.equal(claims.auth_time, sessionAuthTime, 'the session’s own authentication time');
  idToken = result.id_token;
});

/** prompt=none for a browser without a session: back with login_required (Core §3.1.2.6). */
async function expectLoginRequired(someBrowser) {
  const request = await authorizationRequest(CLIENT_ID, 'openid', { prompt: 'none' });
  const reply = await someBrowser.fetch(request.url);
  assert.ok(
    reply.status === 302 || reply.status === 303,
    `prompt=none never shows a page: ${await text(reply.clone())}`,
  );
  const location = reply.headers.get('location');
  const url = new URL(location);
  assert.equal(url.searchParams.get('error'), 'login_required', location);
  assert.equal(url.searchParams.get('state'), request.state, location);
  assert.equal(url.searchParams.get('code'), null, location);
  assert.throws(
    () => callback(web, location, request),
    (err) => {
      assert.ok(err instanceof oauth.AuthorizationResponseError, String(err));
      assert.equal(err.code, oauth.AUTHORIZATION_RESPONSE_ERROR);
      assert.equal(err.error, 'login_required');
      return true;
    },
  );
}

test('h. prompt=none without a session: login_required', TIMEOUT, async () => {
  await expectLoginRequired(new Browser());
});

test('i. prompt=none with a session: a code, no page', TIMEOUT, async () => {
  assert.ok(browser.has('tessera_session'), 'needs the session of b');
  const request = await authorizationRequest(CLIENT_ID, 'openid email', { prompt: 'none' });
  const params = callback(web, await straightBack(browser, request), request);
  const { claims, result } = await exchange(web, webAuth(), params, request);
  assert.equal(claims.sub, sub);
  assert.equal(claims.auth_time, sessionAuthTime);
  idToken = result.id_token;
});

test('j. RP-initiated logout ends the session', TIMEOUT, async () => {
  assert.ok(as.end_session_endpoint, 'end_session_endpoint in the metadata');
  assert.ok(idToken, 'needs an ID token');
  assert.ok(browser.has('tessera_session'), 'needs the session of b');
  const before = browser.copy();
  const state = oauth.generateRandomState();
  const url = new URL(as.end_session_endpoint);
  url.search = new URLSearchParams({
    id_token_hint: idToken,
    post_logout_redirect_uri: POST_LOGOUT_URI,
    state,
  }).toString();
  const reply = await browser.fetch(url);
  // RP-Initiated Logout 1.0 §2–3: the client is the ID token's audience, the URI is registered
  // for it, so the OP returns there with state.
  assert.ok(
    reply.status === 302 || reply.status === 303,
    `back to post_logout_redirect_uri: ${await text(reply.clone())}`,
  );
  const location = new URL(reply.headers.get('location'));
  assert.equal(`${location.origin}${location.pathname}`, POST_LOGOUT_URI, location.href);
  assert.equal(location.searchParams.get('state'), state, location.href);

  // The session is over: neither this browser nor its old cookie has one any more.
  await expectLoginRequired(browser);
  await expectLoginRequired(before);
});
