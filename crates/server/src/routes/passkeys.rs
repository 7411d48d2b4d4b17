//! Passkeys (WebAuthn, issue 17): the caller's passkeys (options, register,
//! list, remove) and the passwordless sign-in (options, finish), which
//! answers like `POST /v1/auth/login` (bearer or cookie mode, DPoP).

use crate::dpop::{with_nonce, DpopKey};
use crate::error::ApiResult;
use crate::extract::{Bearer, Client, JsonBody, PathParam};
use crate::respond::{no_store, token_response};
use crate::routes::auth::cookie_response;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use tessera_api::{
    ErrorBody, MfaPasskeyOptions, MfaPasskeyOptionsRequest, PasskeyList, PasskeyOptions,
    PasskeyRegistration, PasskeySignInRequest, PasskeyView, TokenResponse,
};
use tessera_core::passkeys::{CeremonyOptions, PasskeyInfo};

fn view(p: PasskeyInfo) -> PasskeyView {
    PasskeyView {
        id: p.id,
        name: p.name,
        created_at: p.created_at,
        last_used_at: p.last_used_at,
        synced: p.synced,
    }
}

/// Ceremony options, never cached.
pub(crate) fn options_response(o: CeremonyOptions) -> Response {
    no_store(
        Json(PasskeyOptions {
            ceremony: o.ceremony,
            public_key: o.options.get("publicKey").cloned().unwrap_or_default(),
        })
        .into_response(),
    )
}

#[utoipa::path(
    post,
    path = "/v1/account/passkeys/options",
    tag = "passkeys",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Creation options for a new passkey (discoverable, user \
            verification required, the caller's passkeys excluded) and the ceremony id", body = PasskeyOptions),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "Passkeys are off on this server (see `webauthn_rp_id`)", body = ErrorBody),
    )
)]
pub(crate) async fn registration_options(
    State(s): State<AppState>,
    Bearer(who): Bearer,
) -> ApiResult<Response> {
    let o = s.app.passkeys.registration_options(&who).await?;
    Ok(options_response(o))
}

#[utoipa::path(
    post,
    path = "/v1/account/passkeys",
    tag = "passkeys",
    security(("bearer" = [])),
    request_body = PasskeyRegistration,
    responses(
        (status = 201, description = "The passkey is registered (audited; a notice goes to the \
            account's address)", body = PasskeyView),
        (status = 400, description = "Malformed body; an unknown, used or expired `ceremony`; a \
            credential the relying party refuses (wrong origin, RP ID or challenge, no user \
            verification) or one already registered", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "Passkeys are off on this server", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not `application/json`", body = ErrorBody),
    )
)]
pub(crate) async fn register(
    State(s): State<AppState>,
    Client(ctx): Client,
    Bearer(who): Bearer,
    JsonBody(body): JsonBody<PasskeyRegistration>,
) -> ApiResult<(StatusCode, Json<PasskeyView>)> {
    let p = s
        .app
        .passkeys
        .register(
            &who,
            &body.ceremony,
            &body.credential,
            body.name.as_deref(),
            &ctx,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(view(p))))
}

#[utoipa::path(
    get,
    path = "/v1/account/passkeys",
    tag = "passkeys",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's passkeys, oldest first", body = PasskeyList),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
    )
)]
pub(crate) async fn list(
    State(s): State<AppState>,
    Bearer(who): Bearer,
) -> ApiResult<Json<PasskeyList>> {
    let passkeys = s.app.passkeys.list(&who).await?;
    Ok(Json(PasskeyList {
        passkeys: passkeys.into_iter().map(view).collect(),
    }))
}

#[utoipa::path(
    delete,
    path = "/v1/account/passkeys/{id}",
    tag = "passkeys",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Passkey id (one of the caller's)")),
    responses(
        (status = 204, description = "The passkey is removed (audited; a notice goes to the \
            account's address)"),
        (status = 400, description = "A path segment that does not decode", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 404, description = "No such passkey of the caller", body = ErrorBody),
    )
)]
pub(crate) async fn remove(
    State(s): State<AppState>,
    Client(ctx): Client,
    Bearer(who): Bearer,
    PathParam(id): PathParam<String>,
) -> ApiResult<StatusCode> {
    s.app.passkeys.remove(&who, &id, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/v1/auth/passkey/options",
    tag = "passkeys",
    responses(
        (status = 200, description = "Request options for any discoverable passkey of this \
            relying party (user verification required) and the ceremony id", body = PasskeyOptions),
        (status = 403, description = "Passkeys are off on this server", body = ErrorBody),
        (status = 429, description = "Too many sign-ins started from this address \
            (`passkey_rate_per_minute`); see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub(crate) async fn sign_in_options(
    State(s): State<AppState>,
    Client(ctx): Client,
) -> ApiResult<Response> {
    let o = s.app.passkeys.sign_in_options(&ctx).await?;
    Ok(options_response(o))
}

#[utoipa::path(
    post,
    path = "/v1/auth/passkey",
    tag = "passkeys",
    request_body = PasskeySignInRequest,
    params(
        ("DPoP" = Option<String>, Header, description = "A DPoP proof (RFC 9449), as at login"),
    ),
    responses(
        (status = 200, description = "A token pair, as from login (cookie mode: the refresh token \
            only in `Set-Cookie`). The access token's `amr` says how (RFC 8176): `hwk` or `swk`, \
            `user`, `mfa`", body = TokenResponse),
        (status = 400, description = "Malformed body or credential JSON; an unknown, used or \
            expired `ceremony`; `invalid_dpop_proof`", body = ErrorBody),
        (status = 401, description = "`invalid_credentials`: no such passkey, or an assertion \
            that does not verify (wrong origin, RP ID, challenge or signature)", body = ErrorBody),
        (status = 403, description = "`account_disabled`, `email_not_verified`, or passkeys are \
            off on this server", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not `application/json`", body = ErrorBody),
    )
)]
pub(crate) async fn sign_in(
    State(s): State<AppState>,
    Client(mut ctx): Client,
    DpopKey(jkt): DpopKey,
    JsonBody(body): JsonBody<PasskeySignInRequest>,
) -> ApiResult<Response> {
    ctx.dpop_jkt = jkt;
    let done = s
        .app
        .passkeys
        .sign_in(&body.ceremony, &body.credential, &ctx)
        .await?;
    let res = if body.cookie {
        cookie_response(&s, &done.pair)?
    } else {
        token_response(&done.pair)
    };
    Ok(with_nonce(&s, res))
}

#[utoipa::path(
    post,
    path = "/v1/auth/mfa/passkey/options",
    tag = "passkeys",
    request_body = MfaPasskeyOptionsRequest,
    params(
        ("DPoP" = Option<String>, Header, description = "A DPoP proof from the login's key, when \
            the login carried one (the `mfa_token` is bound to it)"),
    ),
    responses(
        (status = 200, description = "Request options limited to the passkeys of the \
            `mfa_token`'s user; answer at `POST /v1/auth/mfa` with `passkey`", body = MfaPasskeyOptions),
        (status = 400, description = "Malformed body; an `mfa_token` of another login (client, \
            DPoP key, cookie mode) or of an account without a passkey", body = ErrorBody),
        (status = 401, description = "`invalid_mfa_token`: unknown, used or expired", body = ErrorBody),
        (status = 403, description = "Passkeys are off on this server", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not `application/json`", body = ErrorBody),
    )
)]
pub(crate) async fn mfa_options(
    State(s): State<AppState>,
    Client(mut ctx): Client,
    DpopKey(jkt): DpopKey,
    JsonBody(body): JsonBody<MfaPasskeyOptionsRequest>,
) -> ApiResult<Response> {
    ctx.dpop_jkt = jkt;
    let o = s
        .app
        .passkeys
        .second_factor_options(&body.mfa_token, &ctx, body.cookie)
        .await?;
    Ok(no_store(
        Json(MfaPasskeyOptions {
            public_key: o.options.get("publicKey").cloned().unwrap_or_default(),
        })
        .into_response(),
    ))
}
