//! The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636):
//! [`AuthorizeParams`] as sent, [`AuthorizeRequest`] once valid, and
//! [`AuthorizeError`], which says whether the browser may be sent back to the
//! client at all.

use super::redirect::redirect_matches;
use tessera_store::Client;

/// The scopes of OpenID Connect itself (beside a client's API scopes).
pub const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// The `acr` of an authentication with a second factor (OpenID PAPE's
/// multi-factor policy), asked for with `acr_values`.
pub const MFA_ACR: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";

/// The `acr` values discovery advertises: [`MFA_ACR`], and `0` (no
/// assurance claimed: a password alone).
pub const ACR_VALUES: [&str; 2] = [MFA_ACR, "0"];

/// The parameters of `GET`/`POST /oauth2/authorize`, as sent: an absent or
/// empty parameter is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthorizeParams {
    /// `response_type` (only `code`).
    pub response_type: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `redirect_uri` (required when the client has several).
    pub redirect_uri: Option<String>,
    /// `scope`.
    pub scope: Option<String>,
    /// `state` (returned as sent).
    pub state: Option<String>,
    /// `nonce` (copied into the ID token).
    pub nonce: Option<String>,
    /// `code_challenge` (RFC 7636).
    pub code_challenge: Option<String>,
    /// `code_challenge_method` (only `S256`).
    pub code_challenge_method: Option<String>,
    /// `prompt`: `none`, `login`, `consent`.
    pub prompt: Option<String>,
    /// `max_age` (seconds).
    pub max_age: Option<String>,
    /// `login_hint` (an email to prefill).
    pub login_hint: Option<String>,
    /// `acr_values`: [`MFA_ACR`] asks for a second factor.
    pub acr_values: Option<String>,
    /// `response_mode` (only `query`).
    pub response_mode: Option<String>,
    /// `request` / `request_uri` (refused: `request_not_supported`).
    pub request_object: Option<String>,
}

impl AuthorizeParams {
    /// The parameters a lookup function (query string or form) gives.
    pub fn from_lookup<'a>(param: impl Fn(&str) -> Option<&'a str>) -> Self {
        let get = |n: &str| param(n).filter(|v| !v.is_empty()).map(str::to_owned);
        AuthorizeParams {
            response_type: get("response_type"),
            client_id: get("client_id"),
            redirect_uri: get("redirect_uri"),
            scope: get("scope"),
            state: get("state"),
            nonce: get("nonce"),
            code_challenge: get("code_challenge"),
            code_challenge_method: get("code_challenge_method"),
            prompt: get("prompt"),
            max_age: get("max_age"),
            login_hint: get("login_hint"),
            acr_values: get("acr_values"),
            response_mode: get("response_mode"),
            request_object: get("request").or_else(|| get("request_uri")),
        }
    }

    /// The parameters of an `application/x-www-form-urlencoded` string
    /// (a query string without `?`, or a form body). A repeated parameter
    /// keeps its first value; [`crate::oidc::Oidc::validate_authorize`]
    /// does not see repeats, so callers that must refuse them check first.
    pub fn from_query(query: &str) -> Self {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Self::from_lookup(|n| pairs.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str()))
    }
}

/// `prompt` values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    /// `none`: never show a page; fail with `login_required` /
    /// `consent_required` instead.
    pub none: bool,
    /// `login`: re-authenticate even with an SSO session.
    pub login: bool,
    /// `consent`: show the consent page even if consent is remembered.
    pub consent: bool,
}

/// A valid authorization request. `redirect_uri` is the one the answer goes
/// to (the one sent, or the client's only one).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthorizeRequest {
    /// The client.
    pub client_id: String,
    /// Where the answer goes (verified against the registration).
    pub redirect_uri: String,
    /// Whether `redirect_uri` was sent (then the token request must repeat it).
    pub redirect_uri_sent: bool,
    /// The requested scopes, deduplicated, in request order.
    pub scopes: Vec<String>,
    /// `state`, returned as sent.
    pub state: Option<String>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// The S256 `code_challenge`, if sent.
    pub code_challenge: Option<String>,
    /// `prompt`.
    pub prompt: Prompt,
    /// `max_age` in seconds.
    pub max_age: Option<i64>,
    /// `login_hint`.
    pub login_hint: Option<String>,
    /// `acr_values` asked for [`MFA_ACR`]: the SSO session must have used
    /// a second factor, and the ID token carries `acr`.
    pub acr_mfa: bool,
    /// The client skips consent.
    pub first_party: bool,
    /// The client's display name (its id for now).
    pub client_name: String,
    /// The issuer (for `iss` on the answer, RFC 9207).
    pub issuer: String,
}

impl AuthorizeRequest {
    /// The space-separated scope.
    pub fn scope(&self) -> String {
        self.scopes.join(" ")
    }

    /// True if `openid` was asked for.
    pub fn is_openid(&self) -> bool {
        self.scopes.iter().any(|s| s == "openid")
    }

    /// The request as a query string (without `?`), so a page can carry it
    /// through a form and validate it again: `validate_authorize` of
    /// `AuthorizeParams::from_query(&req.to_query())` gives the same request.
    pub fn to_query(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("response_type", "code");
        q.append_pair("client_id", &self.client_id);
        if self.redirect_uri_sent {
            q.append_pair("redirect_uri", &self.redirect_uri);
        }
        if !self.scopes.is_empty() {
            q.append_pair("scope", &self.scope());
        }
        let opt = [
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("code_challenge", &self.code_challenge),
            ("login_hint", &self.login_hint),
        ];
        for (k, v) in opt {
            if let Some(v) = v {
                q.append_pair(k, v);
            }
        }
        if self.code_challenge.is_some() {
            q.append_pair("code_challenge_method", "S256");
        }
        let p = &self.prompt;
        let prompts: Vec<&str> = [(p.none, "none"), (p.login, "login"), (p.consent, "consent")]
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect();
        if !prompts.is_empty() {
            q.append_pair("prompt", &prompts.join(" "));
        }
        if let Some(m) = self.max_age {
            q.append_pair("max_age", &m.to_string());
        }
        if self.acr_mfa {
            q.append_pair("acr_values", MFA_ACR);
        }
        q.finish()
    }

    /// The redirect back to the client with `params`, `state` and `iss`.
    pub(crate) fn answer(&self, params: &[(&str, &str)]) -> String {
        build_redirect(
            &self.redirect_uri,
            params,
            self.state.as_deref(),
            &self.issuer,
        )
    }

    /// An error to send back to the client (RFC 6749 §4.1.2.1).
    pub fn error(&self, error: &'static str, description: impl Into<String>) -> AuthorizeError {
        AuthorizeError::Redirect {
            redirect_uri: self.redirect_uri.clone(),
            error,
            description: description.into(),
            state: self.state.clone(),
            issuer: self.issuer.clone(),
        }
    }
}

/// Appends the answer's parameters to a redirect URI (keeping its query).
pub(crate) fn build_redirect(
    uri: &str,
    params: &[(&str, &str)],
    state: Option<&str>,
    iss: &str,
) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        q.append_pair(k, v);
    }
    if let Some(s) = state {
        q.append_pair("state", s);
    }
    q.append_pair("iss", iss);
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{}", q.finish())
}

/// Why an authorization request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthorizeError {
    /// Show an error page; **never** redirect (unknown client, missing or
    /// unregistered `redirect_uri`): the redirect target is not trusted.
    Page {
        /// The OAuth error code (`invalid_request`, `invalid_client`).
        error: &'static str,
        /// Text for the page.
        description: String,
    },
    /// Send the browser back to the client with the error (RFC 6749
    /// §4.1.2.1, with `iss` per RFC 9207): see [`AuthorizeError::redirect_url`].
    Redirect {
        /// The verified redirect URI.
        redirect_uri: String,
        /// The OAuth error code.
        error: &'static str,
        /// `error_description`.
        description: String,
        /// `state`, as sent.
        state: Option<String>,
        /// The issuer.
        issuer: String,
    },
}

impl AuthorizeError {
    fn page(error: &'static str, description: impl Into<String>) -> Self {
        AuthorizeError::Page {
            error,
            description: description.into(),
        }
    }

    /// The URL to redirect to (`error`, `error_description`, `state`,
    /// `iss`), or `None` for a [`AuthorizeError::Page`].
    pub fn redirect_url(&self) -> Option<String> {
        match self {
            AuthorizeError::Page { .. } => None,
            AuthorizeError::Redirect {
                redirect_uri,
                error,
                description,
                state,
                issuer,
            } => Some(build_redirect(
                redirect_uri,
                &[("error", error), ("error_description", description)],
                state.as_deref(),
                issuer,
            )),
        }
    }

    /// The OAuth error code.
    pub fn code(&self) -> &'static str {
        match self {
            AuthorizeError::Page { error, .. } | AuthorizeError::Redirect { error, .. } => error,
        }
    }

    /// The human-readable description.
    pub fn description(&self) -> &str {
        match self {
            AuthorizeError::Page { description, .. }
            | AuthorizeError::Redirect { description, .. } => description,
        }
    }
}

impl std::fmt::Display for AuthorizeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.description())
    }
}

impl std::error::Error for AuthorizeError {}

/// Checks a request against its client (already looked up: `None` if
/// unknown). `openid_ok` is false when ID tokens cannot be signed (HS mode).
pub(crate) fn validate(
    p: &AuthorizeParams,
    client: Option<&Client>,
    issuer: &str,
    openid_ok: bool,
) -> Result<AuthorizeRequest, AuthorizeError> {
    // First what decides whether the browser may go back to the client.
    let Some(client) = client else {
        return Err(match p.client_id {
            None => AuthorizeError::page("invalid_request", "missing parameter `client_id`"),
            Some(_) => AuthorizeError::page("invalid_client", "unknown client"),
        });
    };
    if !client.grants.iter().any(|g| g == "authorization_code") {
        return Err(AuthorizeError::page(
            "unauthorized_client",
            "the client may not use the authorization code flow",
        ));
    }
    let (redirect_uri, sent) = match &p.redirect_uri {
        Some(uri) => {
            if !client
                .redirect_uris
                .iter()
                .any(|r| redirect_matches(r, uri))
            {
                return Err(AuthorizeError::page(
                    "invalid_request",
                    "the redirect_uri is not registered for this client",
                ));
            }
            (uri.clone(), true)
        }
        None => match client.redirect_uris.as_slice() {
            [only] => (only.clone(), false),
            [] => {
                return Err(AuthorizeError::page(
                    "invalid_request",
                    "the client has no registered redirect_uri",
                ))
            }
            _ => {
                return Err(AuthorizeError::page(
                    "invalid_request",
                    "missing parameter `redirect_uri` (the client has several)",
                ))
            }
        },
    };
    let mut req = AuthorizeRequest {
        client_id: client.id.clone(),
        redirect_uri,
        redirect_uri_sent: sent,
        scopes: Vec::new(),
        state: p.state.clone(),
        nonce: p.nonce.clone(),
        code_challenge: None,
        prompt: Prompt::default(),
        max_age: None,
        login_hint: p.login_hint.clone(),
        acr_mfa: p
            .acr_values
            .as_deref()
            .is_some_and(|v| v.split_ascii_whitespace().any(|a| a == MFA_ACR)),
        first_party: client.first_party,
        client_name: client.id.clone(),
        issuer: issuer.to_owned(),
    };
    // From here on, errors go back to the client.
    check_rest(p, client, &mut req, openid_ok)?;
    Ok(req)
}

fn check_rest(
    p: &AuthorizeParams,
    client: &Client,
    req: &mut AuthorizeRequest,
    openid_ok: bool,
) -> Result<(), AuthorizeError> {
    if p.request_object.is_some() {
        return Err(req.error("request_not_supported", "request objects are not supported"));
    }
    match p.response_type.as_deref() {
        Some("code") => {}
        None => return Err(req.error("invalid_request", "missing parameter `response_type`")),
        Some(_) => {
            return Err(req.error(
                "unsupported_response_type",
                "only response_type=code is supported",
            ))
        }
    }
    if p.response_mode.as_deref().is_some_and(|m| m != "query") {
        return Err(req.error("invalid_request", "only response_mode=query is supported"));
    }
    if req.state.as_ref().is_some_and(|s| s.len() > 2048) {
        return Err(req.error("invalid_request", "state is too long"));
    }
    if req.nonce.as_ref().is_some_and(|s| s.len() > 512) {
        return Err(req.error("invalid_request", "nonce is too long"));
    }
    if req.login_hint.as_ref().is_some_and(|s| s.len() > 320) {
        req.login_hint = None;
    }
    req.scopes =
        scopes(p.scope.as_deref(), client, openid_ok).map_err(|m| req.error("invalid_scope", m))?;
    req.code_challenge = challenge(p, client).map_err(|m| req.error("invalid_request", m))?;
    req.prompt = prompt(p.prompt.as_deref()).map_err(|m| req.error("invalid_request", m))?;
    if let Some(m) = &p.max_age {
        let v: i64 = m.parse().ok().filter(|v| *v >= 0).ok_or_else(|| {
            req.error("invalid_request", "max_age must be a non-negative integer")
        })?;
        req.max_age = Some(v);
    }
    Ok(())
}

fn scopes(scope: Option<&str>, client: &Client, openid_ok: bool) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for tok in scope
        .unwrap_or_default()
        .split(' ')
        .filter(|t| !t.is_empty())
    {
        if !crate::oauth::valid_scope_token(tok) {
            return Err("malformed scope".into());
        }
        let oidc = OIDC_SCOPES.contains(&tok);
        if !oidc && !client.scopes.iter().any(|s| s == tok) {
            return Err(format!("`{tok}` is not allowed for this client"));
        }
        if tok == "openid" && !openid_ok {
            return Err(
                "this server cannot sign ID tokens (HS mode): `openid` is not available".into(),
            );
        }
        if !out.iter().any(|s| s == tok) {
            out.push(tok.to_owned());
        }
    }
    if out.is_empty() {
        return Err("scope is required (for OpenID Connect: openid)".into());
    }
    Ok(out)
}

fn challenge(p: &AuthorizeParams, client: &Client) -> Result<Option<String>, String> {
    match (&p.code_challenge, p.code_challenge_method.as_deref()) {
        (None, None) if client.public => Err("PKCE is required: send code_challenge with \
             code_challenge_method=S256"
            .into()),
        (None, None) => Ok(None),
        (None, Some(_)) => Err("code_challenge_method without code_challenge".into()),
        (Some(_), None) | (Some(_), Some("plain")) => {
            Err("code_challenge_method must be S256 (plain is refused)".into())
        }
        (Some(c), Some("S256")) => {
            // RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters.
            if c.len() == 43
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                Ok(Some(c.clone()))
            } else {
                Err("code_challenge must be 43 base64url characters (S256)".into())
            }
        }
        (Some(_), Some(_)) => Err("code_challenge_method must be S256".into()),
    }
}

fn prompt(p: Option<&str>) -> Result<Prompt, String> {
    let mut out = Prompt::default();
    for v in p.unwrap_or_default().split(' ').filter(|t| !t.is_empty()) {
        match v {
            "none" => out.none = true,
            "login" => out.login = true,
            "consent" => out.consent = true,
            "select_account" => {}
            _ => return Err(format!("unknown prompt value `{v}`")),
        }
    }
    if out.none && (out.login || out.consent) {
        return Err("prompt=none cannot be combined with other values".into());
    }
    Ok(out)
}
