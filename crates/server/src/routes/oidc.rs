//! OpenID Connect's JSON side: userinfo, the caller's consents, and the
//! admin API of OAuth clients. (The browser side, `/oauth2/authorize` and
//! `/oauth2/logout`, is in `pages`.)

use crate::error::{ApiError, ApiResult};
use crate::extract::{bearer_token, Acting, Admin, Bearer, Client as Peer, PathParam};
use crate::state::AppState;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use tessera_api::{
    ClientList, ClientRegistration, ClientSecret, ClientView, ConsentList, ConsentView, ErrorBody,
    UserInfoResponse,
};
use tessera_core::oauth::ClientSpec;
use tessera_core::Principal;

/// The caller of userinfo: any live user access token (the `openid` scope
/// is checked by core).
pub(crate) struct UserInfoCaller(Principal);

impl FromRequestParts<AppState> for UserInfoCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(parts)?;
        let who = s.app.sessions.authenticate(token).await?;
        if who.session_id().is_none() {
            return Err(ApiError::invalid_token("a user's access token is required"));
        }
        Ok(UserInfoCaller(who))
    }
}

async fn userinfo_answer(s: &AppState, who: &Principal) -> ApiResult<Json<UserInfoResponse>> {
    let info = s.app.oidc.userinfo(who).await?;
    Ok(Json(UserInfoResponse {
        sub: info.sub,
        email: info.email,
        email_verified: info.email_verified,
    }))
}

#[utoipa::path(
    get,
    path = "/oauth2/userinfo",
    tag = "oauth2",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Claims by scope (`sub`; `email`, `email_verified` with `email`)", body = UserInfoResponse),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`: the token lacks `openid`", body = ErrorBody),
    )
)]
pub(crate) async fn userinfo(
    State(s): State<AppState>,
    UserInfoCaller(who): UserInfoCaller,
) -> ApiResult<Json<UserInfoResponse>> {
    userinfo_answer(&s, &who).await
}

#[utoipa::path(
    post,
    path = "/oauth2/userinfo",
    tag = "oauth2",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Claims by scope", body = UserInfoResponse),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`: the token lacks `openid`", body = ErrorBody),
    )
)]
pub(crate) async fn userinfo_post(
    State(s): State<AppState>,
    UserInfoCaller(who): UserInfoCaller,
) -> ApiResult<Json<UserInfoResponse>> {
    userinfo_answer(&s, &who).await
}

#[utoipa::path(
    get,
    path = "/v1/account/consents",
    tag = "account",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The clients the caller consented to, with the scopes", body = ConsentList),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
    )
)]
pub(crate) async fn consents(
    State(s): State<AppState>,
    Bearer(who): Bearer,
) -> ApiResult<Json<ConsentList>> {
    let mut out: Vec<ConsentView> = Vec::new();
    for c in s.app.oidc.consents(&who).await? {
        match out.last_mut() {
            Some(v) if v.client_id == c.client_id => {
                v.scopes.push(c.scope);
                v.granted_at = v.granted_at.min(c.granted_at);
            }
            _ => out.push(ConsentView {
                client_id: c.client_id,
                scopes: vec![c.scope],
                granted_at: c.granted_at,
            }),
        }
    }
    Ok(Json(ConsentList { consents: out }))
}

#[utoipa::path(
    delete,
    path = "/v1/account/consents/{client_id}",
    tag = "account",
    security(("bearer" = [])),
    params(("client_id" = String, Path, description = "The client")),
    responses(
        (status = 204, description = "Consent forgotten; the client's sessions of the caller are ended"),
        (status = 400, description = "A path segment that does not decode", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 404, description = "No consent to that client", body = ErrorBody),
    )
)]
pub(crate) async fn revoke_consent(
    State(s): State<AppState>,
    Bearer(who): Bearer,
    Peer(ctx): Peer,
    PathParam(client_id): PathParam<String>,
) -> ApiResult<StatusCode> {
    s.app.oidc.revoke_consent(&who, &client_id, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn view(c: tessera_store::Client) -> ClientView {
    ClientView {
        token_endpoint_auth_method: if c.public {
            "none".into()
        } else {
            "client_secret_basic".into()
        },
        client_id: c.id,
        redirect_uris: c.redirect_uris,
        post_logout_redirect_uris: c.post_logout_redirect_uris,
        grant_types: c.grants,
        scopes: c.scopes,
        public: c.public,
        first_party: c.first_party,
        id_token_signed_response_alg: c.id_token_alg,
        dpop_bound_access_tokens: c.require_dpop,
        id_token_encrypted_response_alg: c.id_token_enc_alg,
        id_token_encrypted_response_enc: c.id_token_enc_enc,
        jwks: c.jwks.and_then(|j| serde_json::from_str(&j).ok()),
        created_at: c.created_at,
    }
}

fn spec(id: String, r: ClientRegistration) -> ClientSpec {
    let mut spec = ClientSpec::new(id);
    spec.secret = r.client_secret;
    spec.scopes = r.scopes;
    spec.grants = r.grant_types;
    spec.redirect_uris = r.redirect_uris;
    spec.post_logout_redirect_uris = r.post_logout_redirect_uris;
    spec.public = r.public;
    spec.first_party = r.first_party;
    spec.id_token_alg = r.id_token_signed_response_alg;
    spec.require_dpop = r.dpop_bound_access_tokens;
    spec.id_token_enc_alg = r.id_token_encrypted_response_alg;
    spec.id_token_enc_enc = r.id_token_encrypted_response_enc;
    spec.jwks = r.jwks.map(|j| j.to_string());
    spec
}

type Body = Result<Json<ClientRegistration>, axum::extract::rejection::JsonRejection>;

fn body(b: Body) -> ApiResult<ClientRegistration> {
    b.map(|Json(r)| r)
        .map_err(|e| ApiError::bad_request(e.body_text()))
}

#[utoipa::path(
    get,
    path = "/v1/admin/clients",
    tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every OAuth client", body = ClientList),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`: the admin role is required", body = ErrorBody),
    )
)]
pub(crate) async fn admin_clients(
    State(s): State<AppState>,
    Admin(_admin): Admin,
) -> ApiResult<Json<ClientList>> {
    let clients = s.app.clients.list().await?.into_iter().map(view).collect();
    Ok(Json(ClientList { clients }))
}

#[utoipa::path(
    post,
    path = "/v1/admin/clients",
    tag = "admin",
    security(("bearer" = [])),
    request_body = ClientRegistration,
    responses(
        (status = 201, description = "Registered", body = ClientView),
        (status = 400, description = "An invalid field (`invalid_request`)", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`: the admin role is required", body = ErrorBody),
    )
)]
pub(crate) async fn admin_create_client(
    State(s): State<AppState>,
    Acting(ctx): Acting,
    b: Body,
) -> ApiResult<(StatusCode, Json<ClientView>)> {
    let r = body(b)?;
    let c = s
        .app
        .clients
        .register_as(&spec(r.client_id.clone(), r), &ctx)
        .await?;
    Ok((StatusCode::CREATED, Json(view(c))))
}

#[utoipa::path(
    put,
    path = "/v1/admin/clients/{id}",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Client id")),
    request_body = ClientRegistration,
    responses(
        (status = 200, description = "The new registration", body = ClientView),
        (status = 400, description = "An invalid field (`invalid_request`)", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`: the admin role is required", body = ErrorBody),
        (status = 404, description = "No such client", body = ErrorBody),
    )
)]
pub(crate) async fn admin_update_client(
    State(s): State<AppState>,
    Acting(ctx): Acting,
    PathParam(id): PathParam<String>,
    b: Body,
) -> ApiResult<Json<ClientView>> {
    let r = body(b)?;
    let c = s.app.clients.update_as(&spec(id, r), &ctx).await?;
    Ok(Json(view(c)))
}

#[utoipa::path(
    delete,
    path = "/v1/admin/clients/{id}",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Client id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`: the admin role is required", body = ErrorBody),
        (status = 404, description = "No such client", body = ErrorBody),
    )
)]
pub(crate) async fn admin_delete_client(
    State(s): State<AppState>,
    Acting(ctx): Acting,
    PathParam(id): PathParam<String>,
) -> ApiResult<StatusCode> {
    if s.app.clients.delete_as(&id, &ctx).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("client not found"))
    }
}

#[utoipa::path(
    post,
    path = "/v1/admin/clients/{id}/secret",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Client id")),
    responses(
        (status = 200, description = "The new secret, shown this once (only its keyed hash is \
            stored); the old secret stops working at once", body = ClientSecret),
        (status = 400, description = "A path segment that does not decode", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`: the admin role is required", body = ErrorBody),
        (status = 404, description = "No such client", body = ErrorBody),
        (status = 409, description = "`public_client`: a public client has no secret to rotate",
            body = ErrorBody),
    )
)]
pub(crate) async fn admin_rotate_client_secret(
    State(s): State<AppState>,
    Acting(ctx): Acting,
    PathParam(id): PathParam<String>,
) -> ApiResult<Json<ClientSecret>> {
    // A well-formed request about a public client conflicts with the
    // client's state (it has no secret): 409, not 400.
    if s.app.clients.get(&id).await?.is_some_and(|c| c.public) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "public_client",
            "a public client has no secret to rotate",
        ));
    }
    let (client, secret) = s.app.clients.rotate_secret(&id, &ctx).await?;
    Ok(Json(ClientSecret {
        client_id: client.id,
        client_secret: secret,
    }))
}
