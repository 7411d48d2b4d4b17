//! A user's second factors (`/v1/account/mfa*`) and the operator's reset
//! (`/v1/admin/users/{id}/mfa/reset`). Changes need a recent
//! authentication: an access token whose `auth_time` is within
//! `mfa_recent_auth` (ten minutes), or `current_password` in the body.

use super::mfa::{codes_of, enrollment_body};
use crate::error::ApiResult;
use crate::extract::{Admin, Bearer, Client, JsonBody, OptionalJson, PathParam};
use crate::respond::no_store;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use tessera_api::{
    ErrorBody, MfaStateBody, RecentAuthRequest, RecoveryCodesBody, TotpCodeRequest,
    TotpEnrollmentBody, TotpRemoveRequest,
};

#[utoipa::path(
    get,
    path = "/v1/account/mfa",
    tag = "account",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's second factors", body = MfaStateBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
    )
)]
pub(crate) async fn mfa_state(
    State(s): State<AppState>,
    Bearer(who): Bearer,
) -> ApiResult<Json<MfaStateBody>> {
    let st = s.app.mfa.state(who.user_id()).await?;
    Ok(Json(MfaStateBody {
        methods: st.methods(),
        totp: st.totp,
        recovery_codes_left: st.recovery_codes_left,
        passkeys: st.passkeys,
    }))
}

#[utoipa::path(
    post,
    path = "/v1/account/mfa/totp",
    tag = "account",
    security(("bearer" = [])),
    request_body(content = Option<RecentAuthRequest>, description = "`current_password`, unless the \
        access token's `auth_time` is recent (`mfa_recent_auth`); no body (or `{}` or `null`) then"),
    responses(
        (status = 200, description = "A new TOTP secret, shown once; nothing counts until \
            `/v1/account/mfa/totp/confirm`", body = TotpEnrollmentBody),
        (status = 400, description = "Malformed body, or TOTP is already enrolled", body = ErrorBody),
        (status = 401, description = "`invalid_token`, or `invalid_credentials` (wrong \
            `current_password`)", body = ErrorBody),
        (status = 403, description = "`reauthentication_required`: the sign-in is not recent and \
            no `current_password` was sent; or not a user's token", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "A body that is not `application/json`", body = ErrorBody),
        (status = 429, description = "Too many wrong passwords; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub(crate) async fn begin_totp(
    State(s): State<AppState>,
    Client(ctx): Client,
    Bearer(who): Bearer,
    OptionalJson(body): OptionalJson<Option<RecentAuthRequest>>,
) -> ApiResult<Response> {
    let pw = body.flatten().and_then(|b| b.current_password);
    let e = s.app.mfa.begin_totp(&who, pw.as_deref(), &ctx).await?;
    Ok(enrollment_body(e))
}

#[utoipa::path(
    post,
    path = "/v1/account/mfa/totp/confirm",
    tag = "account",
    security(("bearer" = [])),
    request_body = TotpCodeRequest,
    responses(
        (status = 200, description = "TOTP is enrolled; ten recovery codes, shown once (a \
            notice is mailed)", body = RecoveryCodesBody),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "`invalid_token`, or `invalid_mfa_code`", body = ErrorBody),
        (status = 403, description = "Not a user's token", body = ErrorBody),
        (status = 404, description = "No TOTP enrolment pending: start one first", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not `application/json`", body = ErrorBody),
        (status = 429, description = "Too many wrong codes; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub(crate) async fn confirm_totp(
    State(s): State<AppState>,
    Client(ctx): Client,
    Bearer(who): Bearer,
    JsonBody(body): JsonBody<TotpCodeRequest>,
) -> ApiResult<Response> {
    let codes = s.app.mfa.confirm_totp(&who, &body.code, &ctx).await?;
    Ok(no_store(
        Json(RecoveryCodesBody {
            recovery_codes: codes_of(codes),
        })
        .into_response(),
    ))
}

#[utoipa::path(
    delete,
    path = "/v1/account/mfa/totp",
    tag = "account",
    security(("bearer" = [])),
    request_body(content = Option<TotpRemoveRequest>, description = "A current `code`, or `current_password`"),
    responses(
        (status = 204, description = "TOTP removed (with no factor left, the recovery codes go \
            too); a notice is mailed"),
        (status = 400, description = "Malformed body, or neither `code` nor `current_password` \
            (with TOTP enrolled)", body = ErrorBody),
        (status = 401, description = "`invalid_token`, `invalid_mfa_code` or \
            `invalid_credentials`", body = ErrorBody),
        (status = 403, description = "Not a user's token", body = ErrorBody),
        (status = 404, description = "No TOTP factor", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "A body that is not `application/json`", body = ErrorBody),
        (status = 429, description = "Too many wrong codes or passwords; see `Retry-After`",
            body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub(crate) async fn remove_totp(
    State(s): State<AppState>,
    Client(ctx): Client,
    Bearer(who): Bearer,
    OptionalJson(body): OptionalJson<Option<TotpRemoveRequest>>,
) -> ApiResult<StatusCode> {
    let body = body.flatten().unwrap_or_default();
    s.app
        .mfa
        .remove_totp(
            &who,
            body.code.as_deref(),
            body.current_password.as_deref(),
            &ctx,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/v1/account/mfa/recovery-codes",
    tag = "account",
    security(("bearer" = [])),
    request_body(content = Option<RecentAuthRequest>, description = "`current_password`, unless the \
        access token's `auth_time` is recent (`mfa_recent_auth`)"),
    responses(
        (status = 200, description = "Ten new recovery codes (shown once); the old ones no \
            longer work", body = RecoveryCodesBody),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "`invalid_token`, or `invalid_credentials`", body = ErrorBody),
        (status = 403, description = "`reauthentication_required`, or not a user's token",
            body = ErrorBody),
        (status = 404, description = "No second factor enrolled", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "A body that is not `application/json`", body = ErrorBody),
        (status = 429, description = "Too many wrong passwords; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub(crate) async fn regenerate_recovery_codes(
    State(s): State<AppState>,
    Client(ctx): Client,
    Bearer(who): Bearer,
    OptionalJson(body): OptionalJson<Option<RecentAuthRequest>>,
) -> ApiResult<Response> {
    let pw = body.flatten().and_then(|b| b.current_password);
    let codes = s
        .app
        .mfa
        .regenerate_recovery_codes(&who, pw.as_deref(), &ctx)
        .await?;
    Ok(no_store(
        Json(RecoveryCodesBody {
            recovery_codes: codes_of(codes),
        })
        .into_response(),
    ))
}

#[utoipa::path(
    post,
    path = "/v1/admin/users/{id}/mfa/reset",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 204, description = "Every second factor and recovery code of the user removed \
            (audited; a notice is mailed)"),
        (status = 400, description = "A path segment that does not decode", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`: the admin role is required", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
pub(crate) async fn admin_reset_mfa(
    State(s): State<AppState>,
    Client(ctx): Client,
    Admin(_admin): Admin,
    PathParam(id): PathParam<String>,
) -> ApiResult<StatusCode> {
    s.app.mfa.reset(&id, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}
