//! The OpenAPI 3.1 description of the HTTP API, generated from the handlers'
//! `#[utoipa::path]` annotations, served at `GET /openapi.json`, with Swagger
//! UI at `/docs`. Swagger UI is compiled in (`utoipa-swagger-ui`'s `vendored`
//! feature): nothing is fetched at build or run time, and the page loads no
//! script or style from another host.
//!
//! The response types below only describe JSON bodies that handlers build
//! with `json!`; they are never constructed. Tests check them against real
//! answers.
#![allow(dead_code)]

use crate::state::AppState;
use crate::{oauth, observe, routes};
use axum::Router;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_swagger_ui::{Config, SwaggerUi};

/// Where the spec is served.
pub(crate) const SPEC_PATH: &str = "/openapi.json";
/// Where Swagger UI is served.
pub(crate) const DOCS_PATH: &str = "/docs";

/// The API document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tessera",
        version = env!("CARGO_PKG_VERSION"),
        description = "Tessera issues and verifies JWT access tokens with rotating refresh \
            tokens and server-side sessions.\n\n\
            Every error answer is `{\"error\": \"...\", \"error_description\": \"...\"}` \
            (see `ErrorBody`). Bearer failures carry an RFC 6750 `WWW-Authenticate` header; \
            `429` answers carry `Retry-After`. The `/oauth2/*` endpoints take \
            `application/x-www-form-urlencoded` bodies and answer with RFC 6749 §5.2 error codes.\n\n\
            Browsers may use cookie mode: `POST /v1/auth/login` with `\"cookie\": true` sets the \
            refresh token as an HttpOnly cookie (`__Host-tessera_refresh` over HTTPS, \
            `tessera_refresh` otherwise); `refresh` and `logout` then read the cookie and \
            require the `X-Tessera-CSRF` header."
    ),
    paths(
        routes::register,
        routes::login,
        routes::refresh,
        routes::logout,
        routes::logout_all,
        routes::me,
        routes::sessions,
        routes::end_session,
        routes::admin_users,
        routes::admin_set_roles,
        routes::admin_revoke_sessions,
        routes::admin_keys,
        routes::admin_rotate_keys,
        routes::admin_audit,
        oauth::token,
        oauth::revoke,
        oauth::introspect,
        crate::feed::revocations,
        routes::jwks,
        routes::discovery,
        oauth_authorization_server,
        routes::healthz,
        routes::readyz,
        observe::render,
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Registration, login, refresh and logout"),
        (name = "sessions", description = "The caller's own sessions"),
        (name = "resource-servers", description = "The revocation feed that resource servers follow"),
        (name = "admin", description = "User, key and audit administration (role `admin`)"),
        (name = "oauth2", description = "OAuth 2.0 token, revocation (RFC 7009) and introspection (RFC 7662)"),
        (name = "discovery", description = "Public keys and server metadata"),
        (name = "operations", description = "Health, readiness and metrics"),
    )
)]
pub struct ApiDoc;

/// Adds the `bearer` (JWT access token) and `basic` (OAuth client) schemes.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from login, refresh or `/oauth2/token`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "OAuth client authentication (`client_secret_basic`): the client id \
                         and secret, each form-urlencoded (RFC 6749 §2.3.1). `client_id` and \
                         `client_secret` form parameters (`client_secret_post`) work too, but \
                         not both methods at once.",
                    ))
                    .build(),
            ),
        );
    }
}

/// `/openapi.json` and Swagger UI at `/docs` (`/docs/`), merged into the router.
/// The online validator badge is off: the page talks to this server only.
pub(crate) fn routes() -> Router<AppState> {
    let ui: Router<AppState> = SwaggerUi::new(DOCS_PATH)
        .url(SPEC_PATH, ApiDoc::openapi())
        .config(Config::default().validator_url("none"))
        .into();
    ui.layer(axum::middleware::map_response(json_not_found))
}

/// Swagger UI answers an unknown file under `/docs/` with an empty 404; make
/// it the JSON error every other 404 is.
async fn json_not_found(res: axum::response::Response) -> axum::response::Response {
    use axum::response::IntoResponse;
    let is_json = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if res.status() == axum::http::StatusCode::NOT_FOUND && !is_json {
        routes::not_found().await.into_response()
    } else {
        res
    }
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414) is served by the
/// same handler as `openid-configuration`; this stub only describes it.
#[utoipa::path(
    get,
    path = "/.well-known/oauth-authorization-server",
    tag = "discovery",
    responses(
        (status = 200, description = "Authorization server metadata (RFC 8414); same body as `/.well-known/openid-configuration`",
            body = ServerMetadata,
            headers(("Cache-Control" = String, description = "`public, max-age=300`"))),
    )
)]
fn oauth_authorization_server() {}

/// Every error answer.
#[derive(ToSchema)]
#[schema(example = json!({"error": "invalid_request", "error_description": "missing field `email`"}))]
pub(crate) struct ErrorBody {
    /// Machine-readable code, e.g. `invalid_request`, `invalid_token`,
    /// `insufficient_scope`, `invalid_grant`, `invalid_client`, `too_many_requests`.
    error: String,
    /// Human-readable description (never a secret).
    error_description: String,
}

/// A token answer from login or refresh (`Cache-Control: no-store`).
#[derive(ToSchema)]
pub(crate) struct TokenResponse {
    /// The signed JWT access token.
    access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    token_type: String,
    /// Seconds until the access token expires.
    expires_in: i64,
    /// The refresh token. Absent in cookie mode, where it is only in `Set-Cookie`.
    refresh_token: Option<String>,
    /// Seconds until the refresh token expires (absolute or idle, whichever is first).
    refresh_token_expires_in: i64,
}

/// `GET /v1/me`.
#[derive(ToSchema)]
pub(crate) struct MeResponse {
    /// User id.
    id: String,
    /// Normalised email.
    email: String,
    /// Roles.
    roles: Vec<String>,
    /// The session of the access token (null for client-credential tokens).
    #[schema(required = true)]
    sid: Option<String>,
}

/// One session.
#[derive(ToSchema)]
pub(crate) struct SessionView {
    /// Session id.
    id: String,
    /// Unix seconds.
    created_at: i64,
    /// Unix seconds.
    last_used_at: i64,
    /// Unix seconds: the earlier of the absolute and idle expiry.
    expires_at: i64,
    /// User agent at login.
    #[schema(required = true)]
    user_agent: Option<String>,
    /// Client IP at login.
    #[schema(required = true)]
    ip: Option<String>,
    /// True for the session of the calling access token.
    current: bool,
}

/// `GET /v1/sessions`.
#[derive(ToSchema)]
pub(crate) struct SessionList {
    /// The caller's live sessions.
    sessions: Vec<SessionView>,
}

/// `GET /v1/admin/users`.
#[derive(ToSchema)]
pub(crate) struct UserList {
    /// One page of users, by email.
    users: Vec<routes::UserView>,
    /// The `after` cursor for the next page; null on the last page.
    #[schema(required = true)]
    next: Option<String>,
}

/// `DELETE /v1/admin/users/{id}/sessions`.
#[derive(ToSchema)]
pub(crate) struct RevokedCount {
    /// How many sessions were revoked.
    revoked: u64,
}

/// What an operator may see about a signing key.
#[derive(ToSchema)]
pub(crate) struct KeyInfo {
    /// Key id.
    kid: String,
    /// JWS algorithm.
    alg: String,
    /// Unix seconds: published since.
    created_at: i64,
    /// Unix seconds: signs from.
    activates_at: i64,
    /// Unix seconds: stopped signing at.
    #[schema(required = true)]
    retired_at: Option<i64>,
    /// True for the key that signs now.
    signing: bool,
}

/// `GET /v1/admin/keys`.
#[derive(ToSchema)]
pub(crate) struct KeyList {
    /// Published keys.
    keys: Vec<KeyInfo>,
}

/// One audit event.
#[derive(ToSchema)]
pub(crate) struct AuditEventView {
    /// Monotonic id (the paging cursor).
    id: i64,
    /// Unix seconds.
    at: i64,
    /// Event name, e.g. `login.success`.
    event: String,
    /// User, if known.
    #[schema(required = true)]
    user_id: Option<String>,
    /// Session, if any.
    #[schema(required = true)]
    session_id: Option<String>,
    /// Client IP.
    #[schema(required = true)]
    ip: Option<String>,
    /// User agent.
    #[schema(required = true)]
    user_agent: Option<String>,
    /// Free-form detail (never a secret).
    #[schema(required = true)]
    detail: Option<String>,
}

/// `GET /v1/admin/audit`.
#[derive(ToSchema)]
pub(crate) struct AuditList {
    /// Newest first.
    events: Vec<AuditEventView>,
    /// The `before` cursor for the next (older) page; null on the last page.
    #[schema(required = true)]
    next: Option<i64>,
}

/// `GET /healthz`, `GET /readyz`.
#[derive(ToSchema)]
pub(crate) struct Status {
    /// `ok` (healthz) or `ready` (readyz).
    #[schema(example = "ok")]
    status: String,
}

/// A JWK Set (RFC 7517 §5).
#[derive(ToSchema)]
pub(crate) struct JwkSet {
    /// Public keys: the signing key, keys about to sign, and recently retired ones.
    #[schema(value_type = Vec<Object>)]
    keys: Vec<serde_json::Value>,
}

/// Tessera's own endpoints, in discovery metadata.
#[derive(ToSchema)]
pub(crate) struct TesseraEndpoints {
    register: String,
    login: String,
    refresh: String,
    logout: String,
    logout_all: String,
    sessions: String,
}

/// OpenID Provider / OAuth authorization server metadata.
#[derive(ToSchema)]
pub(crate) struct ServerMetadata {
    issuer: String,
    jwks_uri: String,
    token_endpoint: String,
    revocation_endpoint: String,
    introspection_endpoint: String,
    /// Tessera's revocation feed for resource servers (`GET`, client authentication).
    revocation_feed_endpoint: String,
    registration_endpoint: String,
    userinfo_endpoint: String,
    grant_types_supported: Vec<String>,
    response_types_supported: Vec<String>,
    token_endpoint_auth_methods_supported: Vec<String>,
    revocation_endpoint_auth_methods_supported: Vec<String>,
    introspection_endpoint_auth_methods_supported: Vec<String>,
    subject_types_supported: Vec<String>,
    id_token_signing_alg_values_supported: Vec<String>,
    access_token_signing_alg_values_supported: Vec<String>,
    claims_supported: Vec<String>,
    tessera_endpoints: TesseraEndpoints,
}

/// `POST /oauth2/token` parameters.
#[derive(ToSchema)]
pub(crate) struct TokenRequest {
    /// `password`, `refresh_token` or `client_credentials`.
    #[schema(example = "password")]
    grant_type: String,
    /// The user's email (`password` grant).
    username: Option<String>,
    /// The user's password (`password` grant).
    password: Option<String>,
    /// The refresh token (`refresh_token` grant).
    refresh_token: Option<String>,
    /// Requested scope (`client_credentials` grant only).
    scope: Option<String>,
    /// Client id (`client_secret_post`, or a public client identifying itself).
    client_id: Option<String>,
    /// Client secret (`client_secret_post`).
    client_secret: Option<String>,
}

/// `POST /oauth2/token` answer (`Cache-Control: no-store`).
#[derive(ToSchema)]
pub(crate) struct OAuthTokenResponse {
    /// The signed JWT access token.
    access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    token_type: String,
    /// Seconds until the access token expires.
    expires_in: i64,
    /// The refresh token (`password` and `refresh_token` grants).
    refresh_token: Option<String>,
    /// Seconds until the refresh token expires (`password` and `refresh_token` grants).
    refresh_token_expires_in: Option<i64>,
    /// Granted scope (`client_credentials`, when not empty).
    scope: Option<String>,
}

/// `POST /oauth2/revoke` and `POST /oauth2/introspect` parameters.
#[derive(ToSchema)]
pub(crate) struct TokenParams {
    /// The token.
    token: String,
    /// `access_token` or `refresh_token`.
    token_type_hint: Option<String>,
    /// Client id (`client_secret_post`, or a public client identifying itself).
    client_id: Option<String>,
    /// Client secret (`client_secret_post`).
    client_secret: Option<String>,
}

/// RFC 7662 introspection answer: `{"active": false}` for any token that is
/// not live, else the token's claims.
#[derive(ToSchema)]
pub(crate) struct IntrospectionResponse {
    /// Whether the token is live.
    active: bool,
    /// `Bearer` for access tokens, `refresh_token` for refresh tokens.
    token_type: Option<String>,
    iss: Option<String>,
    /// User id (or client id for client-credential tokens).
    sub: Option<String>,
    aud: Option<String>,
    exp: Option<i64>,
    iat: Option<i64>,
    jti: Option<String>,
    /// Session id.
    sid: Option<String>,
    roles: Option<Vec<String>>,
    scope: Option<String>,
    client_id: Option<String>,
    /// The user id, for user tokens.
    username: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use axum::body::Body;
    use axum::http::{Method, Request, StatusCode};
    use serde_json::Value;
    use std::sync::Arc;
    use tower::ServiceExt;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// Every route `router()` registers, with its methods.
    const ROUTES: &[(&str, &[&str])] = &[
        ("/v1/auth/register", &["post"]),
        ("/v1/auth/login", &["post"]),
        ("/v1/auth/refresh", &["post"]),
        ("/v1/auth/logout", &["post"]),
        ("/v1/auth/logout-all", &["post"]),
        ("/v1/me", &["get"]),
        ("/v1/sessions", &["get"]),
        ("/v1/sessions/{id}", &["delete"]),
        ("/v1/revocations", &["get"]),
        ("/v1/admin/users", &["get"]),
        ("/v1/admin/users/{id}/roles", &["put"]),
        ("/v1/admin/users/{id}/sessions", &["delete"]),
        ("/v1/admin/keys", &["get"]),
        ("/v1/admin/keys/rotate", &["post"]),
        ("/v1/admin/audit", &["get"]),
        ("/oauth2/token", &["post"]),
        ("/oauth2/revoke", &["post"]),
        ("/oauth2/introspect", &["post"]),
        ("/.well-known/jwks.json", &["get"]),
        ("/.well-known/openid-configuration", &["get"]),
        ("/.well-known/oauth-authorization-server", &["get"]),
        ("/healthz", &["get"]),
        ("/readyz", &["get"]),
        ("/metrics", &["get"]),
    ];

    /// Routes that describe the spec itself and are not in it.
    const UNDOCUMENTED: &[&str] = &[SPEC_PATH, DOCS_PATH];

    const BEARER: &[&str] = &[
        "/v1/auth/logout-all",
        "/v1/me",
        "/v1/sessions",
        "/v1/sessions/{id}",
        "/v1/admin/users",
        "/v1/admin/users/{id}/roles",
        "/v1/admin/users/{id}/sessions",
        "/v1/admin/keys",
        "/v1/admin/keys/rotate",
        "/v1/admin/audit",
    ];

    async fn state() -> Result<(AppState, tempfile::TempDir), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let cfg = Config {
            data_dir: dir.path().to_path_buf(),
            argon2_memory_kib: 256,
            argon2_iterations: 1,
            ..Config::default()
        };
        let clock = Arc::new(tessera_jose::ManualClock::new(1_800_000_000));
        Ok((crate::build_state(cfg, clock).await?, dir))
    }

    async fn call(
        app: &Router,
        method: Method,
        uri: &str,
        bearer: Option<&str>,
        json: Option<Value>,
    ) -> Result<(StatusCode, axum::http::HeaderMap, Vec<u8>), Box<dyn std::error::Error>> {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = bearer {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let body = match json {
            Some(v) => {
                req = req.header("content-type", "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let res = app.clone().oneshot(req.body(body)?).await?;
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 4 << 20).await?;
        Ok((status, headers, bytes.to_vec()))
    }

    async fn spec(app: &Router) -> Result<Value, Box<dyn std::error::Error>> {
        let (status, headers, body) = call(app, Method::GET, SPEC_PATH, None, None).await?;
        assert_eq!(status, StatusCode::OK);
        let ct = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(ct.starts_with("application/json"), "content-type {ct}");
        Ok(serde_json::from_slice(&body)?)
    }

    /// The `(path, method)` pairs registered in `router()`, read from lib.rs,
    /// so a new route without a spec entry fails this test.
    fn routes_in_lib_rs() -> Vec<(String, String)> {
        let src = include_str!("lib.rs");
        let body = src
            .split("pub fn router(")
            .nth(1)
            .and_then(|s| s.split("\n}\n").next())
            .unwrap_or_default();
        let mut out = Vec::new();
        for chunk in body.split(".route(").skip(1) {
            let mut parts = chunk.splitn(3, '"');
            let (Some(_), Some(path), Some(rest)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
            let method: String = rest.chars().take_while(char::is_ascii_alphabetic).collect();
            out.push((path.to_owned(), method));
        }
        out
    }

    #[tokio::test]
    async fn spec_describes_every_route() -> TestResult {
        let (state, _dir) = state().await?;
        let app = crate::router(state);
        let spec = spec(&app).await?;

        let version = spec["openapi"].as_str().unwrap_or_default();
        assert!(version.starts_with("3."), "openapi version {version}");
        assert_eq!(spec["info"]["title"], "Tessera");
        assert_eq!(spec["info"]["version"], env!("CARGO_PKG_VERSION"));
        assert!(spec["info"]["description"].as_str().is_some());

        let paths = spec["paths"].as_object().ok_or("no paths")?;
        for (path, methods) in ROUTES {
            let item = paths
                .get(*path)
                .ok_or_else(|| format!("{path} missing from the spec"))?;
            for m in *methods {
                let op = &item[*m];
                assert!(op.is_object(), "{m} {path} missing from the spec");
                assert!(op["tags"].as_array().is_some_and(|t| !t.is_empty()));
                let responses = op["responses"].as_object().ok_or("no responses")?;
                assert!(!responses.is_empty(), "{m} {path}: no responses");
            }
            let documented: Vec<&String> = item
                .as_object()
                .ok_or("path item")?
                .keys()
                .filter(|k| ["get", "post", "put", "delete", "patch"].contains(&k.as_str()))
                .collect();
            assert_eq!(documented.len(), methods.len(), "{path}: {documented:?}");
        }
        assert_eq!(paths.len(), ROUTES.len(), "undeclared paths in the spec");

        // Everything router() registers is either listed above or undocumented by design.
        let registered = routes_in_lib_rs();
        assert!(
            registered.len() >= ROUTES.len(),
            "lib.rs parse: {registered:?}"
        );
        for (path, method) in &registered {
            assert!(
                ROUTES
                    .iter()
                    .any(|(p, ms)| p == path && ms.contains(&method.as_str())),
                "{method} {path} is routed but not in the spec"
            );
        }
        for (path, methods) in ROUTES {
            for m in *methods {
                assert!(
                    registered.iter().any(|(p, rm)| p == path && rm == m),
                    "{m} {path} is in the spec but not routed"
                );
            }
        }
        for p in UNDOCUMENTED {
            assert!(!paths.contains_key(*p));
        }
        Ok(())
    }

    #[tokio::test]
    async fn spec_security_and_bodies() -> TestResult {
        let (state, _dir) = state().await?;
        let spec = spec(&crate::router(state)).await?;
        let schemes = &spec["components"]["securitySchemes"];
        assert_eq!(schemes["bearer"]["type"], "http");
        assert_eq!(schemes["bearer"]["scheme"], "bearer");
        assert_eq!(schemes["bearer"]["bearerFormat"], "JWT");
        assert_eq!(schemes["basic"]["type"], "http");
        assert_eq!(schemes["basic"]["scheme"], "basic");

        let schemas = &spec["components"]["schemas"];
        for name in [
            "ErrorBody",
            "TokenResponse",
            "UserView",
            "Credentials",
            "LoginBody",
        ] {
            assert!(schemas[name].is_object(), "schema {name} missing");
        }
        let err = &schemas["ErrorBody"]["properties"];
        assert!(err["error"].is_object() && err["error_description"].is_object());
        assert!(schemas["LoginBody"]["properties"]["cookie"]["type"] == "boolean");

        let paths = &spec["paths"];
        for p in BEARER {
            let item = paths[*p].as_object().ok_or("path")?;
            for (m, op) in item {
                let sec = op["security"]
                    .as_array()
                    .ok_or_else(|| format!("{m} {p}"))?;
                assert!(
                    sec.iter().any(|s| s.get("bearer").is_some()),
                    "{m} {p} lacks bearer security"
                );
                assert!(
                    op["responses"]["401"]["content"]["application/json"]["schema"]["$ref"]
                        == "#/components/schemas/ErrorBody",
                    "{m} {p}: 401 body"
                );
            }
        }
        let intro = &paths["/oauth2/introspect"]["post"];
        assert!(intro["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|x| x.get("basic").is_some())));
        for p in ["/oauth2/token", "/oauth2/revoke", "/oauth2/introspect"] {
            let content = &paths[p]["post"]["requestBody"]["content"];
            assert!(
                content["application/x-www-form-urlencoded"].is_object(),
                "{p}: {content}"
            );
        }
        for p in ["/v1/auth/register", "/v1/auth/login"] {
            let body = &paths[p]["post"]["requestBody"];
            assert_eq!(body["required"], true);
            assert!(body["content"]["application/json"].is_object());
        }
        assert_ne!(
            paths["/v1/auth/refresh"]["post"]["requestBody"]["required"],
            true
        );
        Ok(())
    }

    /// Keys a documented object schema declares, and the ones it requires.
    fn keys_of(spec: &Value, schema: &str) -> (Vec<String>, Vec<String>) {
        let s = &spec["components"]["schemas"][schema];
        let props = s["properties"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        let req = s["required"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        (props, req)
    }

    /// `value`'s keys are all declared by `schema`, and it has every required one.
    fn conforms(spec: &Value, schema: &str, value: &Value) {
        let (props, req) = keys_of(spec, schema);
        assert!(!props.is_empty(), "schema {schema} has no properties");
        let obj = value
            .as_object()
            .unwrap_or_else(|| panic!("{schema}: not an object: {value}"));
        for k in obj.keys() {
            assert!(props.contains(k), "{schema}: undeclared key {k} in {value}");
        }
        for k in &req {
            assert!(
                obj.contains_key(k),
                "{schema}: required key {k} missing in {value}"
            );
        }
    }

    /// The schemas that describe `json!` bodies match what the handlers send.
    #[tokio::test]
    async fn documented_shapes_match_answers() -> TestResult {
        let (state, _dir) = state().await?;
        state
            .app
            .accounts
            .create_user(
                "root@example.com",
                "correct horse battery",
                &["admin".into()],
            )
            .await?;
        let app = crate::router(state);
        let spec = spec(&app).await?;
        let parse = |b: &[u8]| serde_json::from_slice::<Value>(b);

        let (s, _, b) = call(
            &app,
            Method::POST,
            "/v1/auth/register",
            None,
            Some(
                serde_json::json!({"email": "a@example.com", "password": "correct horse battery"}),
            ),
        )
        .await?;
        assert_eq!(s, StatusCode::CREATED);
        conforms(&spec, "UserView", &parse(&b)?);

        let login =
            serde_json::json!({"email": "root@example.com", "password": "correct horse battery"});
        let (s, _, b) = call(&app, Method::POST, "/v1/auth/login", None, Some(login)).await?;
        assert_eq!(s, StatusCode::OK);
        let tokens = parse(&b)?;
        conforms(&spec, "TokenResponse", &tokens);
        let at = tokens["access_token"]
            .as_str()
            .ok_or("access_token")?
            .to_owned();

        let cookie_login = serde_json::json!({"email": "a@example.com", "password": "correct horse battery", "cookie": true});
        let (s, h, b) = call(
            &app,
            Method::POST,
            "/v1/auth/login",
            None,
            Some(cookie_login),
        )
        .await?;
        assert_eq!(s, StatusCode::OK);
        assert!(h.get("set-cookie").is_some());
        conforms(&spec, "TokenResponse", &parse(&b)?);

        let rt = tokens["refresh_token"].as_str().ok_or("refresh_token")?;
        let (s, _, b) = call(
            &app,
            Method::POST,
            "/v1/auth/refresh",
            None,
            Some(serde_json::json!({ "refresh_token": rt })),
        )
        .await?;
        assert_eq!(s, StatusCode::OK);
        let tokens = parse(&b)?;
        conforms(&spec, "TokenResponse", &tokens);
        assert_ne!(tokens["access_token"], at.as_str());

        let checks: &[(Method, &str, &str)] = &[
            (Method::GET, "/v1/me", "MeResponse"),
            (Method::GET, "/v1/sessions", "SessionList"),
            (Method::GET, "/v1/admin/users", "UserList"),
            (Method::GET, "/v1/admin/keys", "KeyList"),
            (Method::GET, "/v1/admin/audit", "AuditList"),
            (Method::POST, "/v1/admin/keys/rotate", "KeyInfo"),
        ];
        for (m, uri, schema) in checks {
            let (s, _, b) = call(&app, m.clone(), uri, Some(&at), None).await?;
            assert!(s.is_success(), "{m} {uri}: {s}");
            conforms(&spec, schema, &parse(&b)?);
        }
        let (_, _, b) = call(&app, Method::GET, "/v1/sessions", Some(&at), None).await?;
        let v = parse(&b)?;
        let first = &v["sessions"][0];
        conforms(&spec, "SessionView", first);
        let (_, _, b) = call(&app, Method::GET, "/v1/admin/audit", Some(&at), None).await?;
        let v = parse(&b)?;
        conforms(&spec, "AuditEventView", &v["events"][0]);
        let (_, _, b) = call(&app, Method::GET, "/v1/admin/keys", Some(&at), None).await?;
        conforms(&spec, "KeyInfo", &parse(&b)?["keys"][0]);

        let (_, _, b) = call(&app, Method::GET, "/v1/me", Some(&at), None).await?;
        let me = parse(&b)?;
        let id = me["id"].as_str().ok_or("id")?;
        let (s, _, b) = call(
            &app,
            Method::DELETE,
            &format!("/v1/admin/users/{id}/sessions"),
            Some(&at),
            None,
        )
        .await?;
        assert_eq!(s, StatusCode::OK);
        conforms(&spec, "RevokedCount", &parse(&b)?);

        for (uri, schema) in [
            ("/healthz", "Status"),
            ("/readyz", "Status"),
            ("/.well-known/openid-configuration", "ServerMetadata"),
            ("/.well-known/oauth-authorization-server", "ServerMetadata"),
            ("/.well-known/jwks.json", "JwkSet"),
        ] {
            let (s, _, b) = call(&app, Method::GET, uri, None, None).await?;
            assert_eq!(s, StatusCode::OK, "{uri}");
            conforms(&spec, schema, &parse(&b)?);
        }
        let (_, _, b) = call(
            &app,
            Method::GET,
            "/.well-known/openid-configuration",
            None,
            None,
        )
        .await?;
        conforms(&spec, "TesseraEndpoints", &parse(&b)?["tessera_endpoints"]);

        let (s, _, b) = call(&app, Method::GET, "/v1/me", None, None).await?;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        conforms(&spec, "ErrorBody", &parse(&b)?);
        Ok(())
    }

    #[tokio::test]
    async fn docs_serve_swagger_ui_without_a_cdn() -> TestResult {
        let (state, _dir) = state().await?;
        let app = crate::router(state);

        let (s, h, _) = call(&app, Method::GET, DOCS_PATH, None, None).await?;
        assert!(s.is_redirection(), "{DOCS_PATH}: {s}");
        assert_eq!(
            h.get("location").and_then(|v| v.to_str().ok()),
            Some("/docs/")
        );

        let (s, h, b) = call(&app, Method::GET, "/docs/", None, None).await?;
        assert_eq!(s, StatusCode::OK);
        let ct = h
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(ct.starts_with("text/html"), "content-type {ct}");
        let html = String::from_utf8(b)?;
        assert!(html.to_lowercase().contains("swagger"));
        assert_no_external_sources(&html, "/docs/");

        // Every asset the page loads is served locally, and none loads more from elsewhere.
        let assets = local_sources(&html);
        assert!(
            assets.iter().any(|a| a.ends_with(".js")),
            "no scripts: {assets:?}"
        );
        for a in &assets {
            let uri = format!("/docs/{}", a.trim_start_matches("./"));
            let (s, _, b) = call(&app, Method::GET, &uri, None, None).await?;
            assert_eq!(s, StatusCode::OK, "{uri}");
            if a.contains("initializer") {
                let js = String::from_utf8(b)?;
                assert!(
                    js.contains(SPEC_PATH),
                    "initializer does not load {SPEC_PATH}"
                );
                assert!(
                    !js.contains("petstore"),
                    "initializer still points at petstore"
                );
                assert!(!js.contains("https://"), "initializer loads from elsewhere");
                assert!(js.contains("\"validatorUrl\": \"none\""), "{js}");
            }
        }
        Ok(())
    }

    /// `src` / `href` values in an HTML page.
    fn sources(html: &str) -> Vec<String> {
        let mut out = Vec::new();
        for attr in ["src=\"", "href=\""] {
            for chunk in html.split(attr).skip(1) {
                if let Some(v) = chunk.split('"').next() {
                    out.push(v.to_owned());
                }
            }
        }
        out
    }

    fn local_sources(html: &str) -> Vec<String> {
        sources(html)
            .into_iter()
            .filter(|s| !s.contains("://") && !s.starts_with("//") && !s.starts_with('#'))
            .collect()
    }

    fn assert_no_external_sources(html: &str, page: &str) {
        for s in sources(html) {
            assert!(
                !s.contains("://") && !s.starts_with("//"),
                "{page} loads {s} from another host"
            );
        }
        for host in ["unpkg.com", "cdn.jsdelivr.net", "cdnjs.cloudflare.com"] {
            assert!(!html.contains(host), "{page} mentions {host}");
        }
    }
}
