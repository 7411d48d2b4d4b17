//! The OpenAPI 3.1 description of the HTTP API, served at `GET /openapi.json`,
//! with Swagger UI at `/docs`. The document is generated from exactly what
//! the handlers take and return: the router is built with utoipa-axum's
//! `OpenApiRouter`, so each route is declared once (by its handler's
//! `#[utoipa::path]`), and every body is a `tessera-api` type. Swagger UI is
//! compiled in (`utoipa-swagger-ui`'s `vendored` feature): nothing is fetched
//! at build or run time, and the page loads no script or style from another
//! host.
//!
//! The document itself is about 130 lines; the rest of the file is the tests
//! that hold the generated document to the server's real answers.

use crate::routes;
use crate::state::AppState;
use axum::Router;
use utoipa::openapi::security::{
    ClientCredentials, Flow, Http, HttpAuthScheme, OAuth2, Password, Scopes, SecurityScheme,
};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::{Config, SwaggerUi};

/// Where the spec is served.
pub(crate) const SPEC_PATH: &str = "/openapi.json";
/// Where Swagger UI is served.
pub(crate) const DOCS_PATH: &str = "/docs";

/// The API document's frame: info, tags and security schemes. The paths and
/// schemas come from the router (see `crate::router`).
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
            require the `X-Tessera-CSRF` header, with no body."
    ),
    components(schemas(tessera_api::ErrorBody)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Registration, login, refresh and logout"),
        (name = "sessions", description = "The caller's own sessions"),
        (name = "account", description = "The account lifecycle: password change and reset, \
            email verification and change, account deletion"),
        (name = "resource-servers", description = "The revocation feed that resource servers follow"),
        (name = "admin", description = "User, key and audit administration (role `admin`)"),
        (name = "oauth2", description = "OAuth 2.0 token, revocation (RFC 7009) and introspection (RFC 7662)"),
        (name = "discovery", description = "Public keys and server metadata"),
        (name = "operations", description = "Health, readiness and metrics"),
    )
)]
pub struct ApiDoc;

/// Adds the `bearer` (JWT access token), `basic` (OAuth client) and
/// `oauth2` (the flows of `/oauth2/token`) schemes.
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
        components.add_security_scheme(
            "oauth2",
            SecurityScheme::OAuth2(OAuth2::with_description(
                [
                    Flow::Password(Password::new("/oauth2/token", Scopes::new())),
                    Flow::ClientCredentials(ClientCredentials::new("/oauth2/token", Scopes::new())),
                ],
                "The OAuth 2.0 grants of `/oauth2/token`. The access tokens they issue are \
                 used as `bearer` (user tokens on Tessera's own endpoints; client tokens at \
                 resource servers).",
            )),
        );
    }
}

/// `/openapi.json` and Swagger UI at `/docs` (`/docs/`) for `doc`, merged
/// into the router. The online validator badge is off: the page talks to
/// this server only.
pub(crate) fn routes(doc: utoipa::openapi::OpenApi) -> Router<AppState> {
    let ui: Router<AppState> = SwaggerUi::new(DOCS_PATH)
        .url(SPEC_PATH, doc)
        .config(Config::default().validator_url("none"))
        .into();
    ui.layer(axum::middleware::map_response(json_not_found))
        .layer(axum::middleware::map_response(docs_headers))
}

/// The Swagger UI page and its assets get the same lock-down as Tessera's
/// own pages: its own scripts only (the vendored bundle and initializer
/// are files, not inline code), no framing, no sniffing. The bundle injects
/// one fixed `<style>` element; its hash is allowed, nothing else inline
/// (`web/test/browser/docs.test.js` fails on any CSP violation, so a new
/// Swagger UI with another style shows up there).
pub(crate) const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='; connect-src 'self'; img-src 'self' data:; \
     font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

async fn docs_headers(mut res: axum::response::Response) -> axum::response::Response {
    use axum::http::{header, HeaderValue};
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOCS_CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
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
        ("/v1/admin/keys/{kid}/revoke", &["post"]),
        ("/v1/admin/audit", &["get"]),
        ("/oauth2/token", &["post"]),
        ("/oauth2/revoke", &["post"]),
        ("/oauth2/introspect", &["post"]),
        ("/oauth2/userinfo", &["get", "post"]),
        ("/v1/account/consents", &["get"]),
        ("/v1/account/consents/{client_id}", &["delete"]),
        ("/v1/admin/clients", &["get", "post"]),
        ("/v1/admin/clients/{id}", &["put", "delete"]),
        ("/.well-known/jwks.json", &["get"]),
        ("/.well-known/openid-configuration", &["get"]),
        ("/.well-known/oauth-authorization-server", &["get"]),
        ("/healthz", &["get"]),
        ("/readyz", &["get"]),
        ("/metrics", &["get"]),
        ("/v1/account/password", &["post"]),
        ("/v1/auth/password/forgot", &["post"]),
        ("/v1/auth/password/reset", &["post"]),
        ("/v1/auth/email/verify", &["post"]),
        ("/v1/account/email/verify", &["post"]),
        ("/v1/account/email", &["post"]),
        ("/v1/account", &["delete"]),
        ("/v1/admin/users/{id}/disable", &["post"]),
        ("/v1/admin/users/{id}/enable", &["post"]),
        ("/v1/admin/users/{id}/password-reset", &["post"]),
        ("/", &["get"]),
        ("/v1/admin/users/{id}", &["get", "delete"]),
        ("/v1/admin/users/{id}/sessions/{sid}", &["delete"]),
        ("/v1/admin/clients/{id}/secret", &["post"]),
        ("/v1/admin/overview", &["get"]),
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
        "/v1/account/password",
        "/v1/account/email/verify",
        "/v1/account/email",
        "/v1/account",
        "/v1/admin/users/{id}/disable",
        "/v1/admin/users/{id}/enable",
        "/v1/admin/users/{id}",
        "/v1/admin/users/{id}/password-reset",
        "/v1/admin/users/{id}/sessions/{sid}",
        "/v1/admin/clients/{id}/secret",
        "/v1/admin/overview",
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

    /// The `(path, method)` pairs registered in `router()` with a plain
    /// `.route(...)`, read from lib.rs: none may be, so that every route is
    /// declared once, by its handler, and is in the spec.
    fn plain_routes_in_lib_rs() -> Vec<String> {
        let src = include_str!("lib.rs");
        let body = src
            .split("pub fn router(")
            .nth(1)
            .and_then(|s| s.split("\n}\n").next())
            .unwrap_or_default();
        let api = src
            .split("fn api() ")
            .nth(1)
            .and_then(|s| s.split("\n}\n").next())
            .unwrap_or_default();
        format!("{body}{api}")
            .split(".route(")
            .skip(1)
            .map(|c| c.chars().take(60).collect())
            .collect()
    }

    /// Sends `method path` and tells whether the router has that route (the
    /// fallbacks answer "no such endpoint" and `method_not_allowed`).
    async fn is_routed(
        app: &Router,
        method: &str,
        path: &str,
    ) -> Result<bool, Box<dyn std::error::Error>> {
        let method: Method = method.to_ascii_uppercase().parse()?;
        let uri = path.replace("{id}", "x").replace("{client_id}", "x");
        let (s, _, b) = call(app, method, &uri, None, None).await?;
        let v: Value = serde_json::from_slice(&b).unwrap_or(Value::Null);
        let fallback = (s == StatusCode::NOT_FOUND && v["error_description"] == "no such endpoint")
            || (s == StatusCode::METHOD_NOT_ALLOWED && v["error"] == "method_not_allowed");
        Ok(!fallback)
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

        // Every route is declared by its handler (utoipa-axum), none by hand,
        // and every documented operation is really routed.
        let plain = plain_routes_in_lib_rs();
        assert!(plain.is_empty(), "routes outside the spec: {plain:?}");
        for (path, methods) in ROUTES {
            for m in *methods {
                assert!(
                    is_routed(&app, m, path).await?,
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
            "LoginRequest",
        ] {
            assert!(schemas[name].is_object(), "schema {name} missing");
        }
        let err = &schemas["ErrorBody"]["properties"];
        assert!(err["error"].is_object() && err["error_description"].is_object());
        assert!(schemas["LoginRequest"]["properties"]["cookie"]["type"] == "boolean");

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
        // Bearer mode needs the token in the body (cookie mode, which sends
        // none, is described in prose: OpenAPI cannot say "body or cookie").
        for p in ["/v1/auth/refresh", "/v1/auth/logout"] {
            let body = &paths[p]["post"]["requestBody"];
            assert_eq!(body["required"], true, "{p}");
            let schema = &body["content"]["application/json"]["schema"]["$ref"];
            assert_eq!(schema, "#/components/schemas/RefreshRequest", "{p}");
        }
        let refresh = &schemas["RefreshRequest"];
        assert_eq!(refresh["required"], serde_json::json!(["refresh_token"]));
        assert_eq!(refresh["properties"]["refresh_token"]["type"], "string");
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
            (Method::GET, "/v1/admin/overview", "Overview"),
            (Method::GET, "/", "FrontDoor"),
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
        conforms(&spec, "AuditEvent", &v["events"][0]);
        let (_, _, b) = call(&app, Method::GET, "/v1/admin/keys", Some(&at), None).await?;
        conforms(&spec, "KeyInfo", &parse(&b)?["keys"][0]);

        let (_, _, b) = call(&app, Method::GET, "/v1/me", Some(&at), None).await?;
        let me = parse(&b)?;
        let id = me["id"].as_str().ok_or("id")?;
        let (s, _, b) = call(
            &app,
            Method::GET,
            &format!("/v1/admin/users/{id}"),
            Some(&at),
            None,
        )
        .await?;
        assert_eq!(s, StatusCode::OK);
        let detail = parse(&b)?;
        conforms(&spec, "UserDetail", &detail);
        conforms(&spec, "AdminSessionView", &detail["sessions"][0]);
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
        let csp = h
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            csp.contains("script-src 'self';") && csp.contains("frame-ancestors 'none'"),
            "/docs/ is served without a strict CSP: {csp:?}"
        );
        assert_eq!(
            h.get("x-frame-options").and_then(|v| v.to_str().ok()),
            Some("DENY")
        );
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
