//! The `/.well-known` documents: the JWK Set and the server metadata.

use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use tessera_api::{JwkSet, ServerMetadata, TesseraEndpoints};

/// `GET /.well-known/jwks.json`. The body is the JWK Set that core
/// serialises once per key change (`KeyState::jwks_json`), sent as is.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "discovery",
    responses(
        (status = 200, description = "The public keys", body = JwkSet, content_type = "application/jwk-set+json",
            headers(("Cache-Control" = String, description = "`public, max-age=N, must-revalidate`"))),
    )
)]
pub(crate) async fn jwks(State(s): State<AppState>) -> Response {
    let jwks = s.app.tokens.jwks_json();
    let max_age = s.config.key_publish_lead.0.as_secs().min(3600);
    let mut res = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/jwk-set+json"),
        )],
        jwks.to_string(),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}, must-revalidate")) {
        res.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    res
}

/// The server metadata: one document for both discovery paths.
fn metadata(s: &AppState) -> ServerMetadata {
    let iss = s.config.issuer();
    let at = |path: &str| format!("{iss}{path}");
    let list = |items: &[&str]| items.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    let auth_methods = list(&["client_secret_basic", "client_secret_post", "none"]);
    let oidc = s.app.oidc.id_tokens_available();
    let scopes: Vec<String> = tessera_core::oidc::OIDC_SCOPES
        .iter()
        .filter(|x| oidc || **x != "openid")
        .map(|x| (*x).to_owned())
        .collect();
    ServerMetadata {
        authorization_endpoint: at("/oauth2/authorize"),
        userinfo_endpoint: oidc.then(|| at("/oauth2/userinfo")),
        end_session_endpoint: at("/oauth2/logout"),
        scopes_supported: scopes,
        response_modes_supported: list(&["query"]),
        subject_types_supported: list(&["public"]),
        id_token_signing_alg_values_supported: oidc.then(|| {
            s.app
                .oidc
                .id_token_algs()
                .into_iter()
                .map(str::to_owned)
                .collect()
        }),
        id_token_encryption_alg_values_supported: oidc
            .then(|| list(&s.app.oidc.id_token_encryption_algs())),
        id_token_encryption_enc_values_supported: oidc
            .then(|| list(&s.app.oidc.id_token_encryption_encs())),
        code_challenge_methods_supported: list(&["S256"]),
        authorization_response_iss_parameter_supported: true,
        jwks_uri: at("/.well-known/jwks.json"),
        token_endpoint: at("/oauth2/token"),
        revocation_endpoint: at("/oauth2/revoke"),
        introspection_endpoint: at("/oauth2/introspect"),
        revocation_feed_endpoint: at("/v1/revocations"),
        grant_types_supported: list(&[
            "authorization_code",
            "password",
            "refresh_token",
            "client_credentials",
            tessera_core::oauth::MFA_GRANT,
        ]),
        response_types_supported: list(&["code"]),
        token_endpoint_auth_methods_supported: auth_methods.clone(),
        revocation_endpoint_auth_methods_supported: list(&[
            "client_secret_basic",
            "client_secret_post",
        ]),
        introspection_endpoint_auth_methods_supported: list(&[
            "client_secret_basic",
            "client_secret_post",
        ]),
        access_token_signing_alg_values_supported: vec![s.config.signing_alg.clone()],
        dpop_signing_alg_values_supported: list(&tessera_core::DPOP_ALGORITHMS),
        claims_supported: list(&[
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "jti",
            "sid",
            "roles",
            "scope",
            "client_id",
            "cnf",
            "auth_time",
            "nonce",
            "azp",
            "amr",
            "at_hash",
            "email",
            "email_verified",
            "acr",
        ]),
        acr_values_supported: list(&tessera_core::oidc::ACR_VALUES),
        tessera_endpoints: TesseraEndpoints {
            register: at("/v1/auth/register"),
            login: at("/v1/auth/login"),
            refresh: at("/v1/auth/refresh"),
            logout: at("/v1/auth/logout"),
            logout_all: at("/v1/auth/logout-all"),
            sessions: at("/v1/sessions"),
            me: at("/v1/me"),
        },
        issuer: iss,
    }
}

fn metadata_response(s: &AppState) -> Response {
    let mut res = Json(metadata(s)).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}

#[utoipa::path(
    get,
    path = "/.well-known/openid-configuration",
    tag = "discovery",
    responses(
        (status = 200, description = "Server metadata (OpenID Connect Discovery / RFC 8414)", body = ServerMetadata,
            headers(("Cache-Control" = String, description = "`public, max-age=300`"))),
    )
)]
pub(crate) async fn discovery(State(s): State<AppState>) -> Response {
    metadata_response(&s)
}

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
pub(crate) async fn oauth_authorization_server(State(s): State<AppState>) -> Response {
    metadata_response(&s)
}
