//! The account lifecycle (issue 15): password change, forgotten and reset
//! passwords, email verification and change, account deletion, and the
//! operator's disable, enable, delete and reset-mail. Every rule is in
//! `tessera_core::Lifecycle`; mail leaves off the request path.

use crate::error::ApiResult;
use crate::extract::{Acting, Bearer, Client, JsonBody, PathParam};
use crate::respond::user_view;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use tessera_api::{
    ChangeEmailRequest, ChangePasswordRequest, DeleteAccountRequest, ErrorBody,
    ForgotPasswordRequest, ResetPasswordRequest, UserView, VerifyEmailRequest,
};

#[utoipa::path(
    post,
    path = "/v1/account/password",
    tag = "account",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed; every other session of the user is ended (they \
            appear in the revocation feed), the current one survives; a notice is mailed"),
        (status = 400, description = "Malformed body, or a new password that is out of bounds \
            or too common", body = ErrorBody),
        (status = 401, description = "`invalid_token`, or `invalid_credentials`: the current \
            password is wrong", body = ErrorBody),
        (status = 403, description = "Not a user's token (no session)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not `application/json`", body = ErrorBody),
        (status = 429, description = "Too many wrong passwords; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub(crate) async fn change_password(
    State(s): State<AppState>,
    Client(ctx): Client,
    Bearer(who): Bearer,
    JsonBody(body): JsonBody<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    s.app
        .lifecycle
        .change_password(&who, &body.current_password, &body.new_password, &ctx)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/v1/auth/password/forgot",
    tag = "account",
    request_body = ForgotPasswordRequest,
    responses(
        (status = 202, description = "Accepted. The same answer, in the same time, whether or not \
            an account has this email; if one does, a reset link is mailed to it"),
        (status = 400, description = "Malformed body or not an email address", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not `application/json`", body = ErrorBody),
        (status = 429, description = "Rate limited per email and per IP; see `Retry-After`",
            body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub(crate) async fn forgot_password(
    State(s): State<AppState>,
    Client(ctx): Client,
    JsonBody(body): JsonBody<ForgotPasswordRequest>,
) -> ApiResult<StatusCode> {
    s.app.lifecycle.forgot_password(&body.email, &ctx).await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(
    post,
    path = "/v1/auth/password/reset",
    tag = "account",
    request_body = ResetPasswordRequest,
    responses(
        (status = 204, description = "The password is reset; every session of the user is ended"),
        (status = 400, description = "Malformed body, a new password that is out of bounds or too \
            common, or `invalid_grant`: the token is unknown, used, expired or for another \
            purpose (nothing changed)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not `application/json`", body = ErrorBody),
    )
)]
pub(crate) async fn reset_password(
    State(s): State<AppState>,
    Client(ctx): Client,
    JsonBody(body): JsonBody<ResetPasswordRequest>,
) -> ApiResult<StatusCode> {
    s.app
        .lifecycle
        .reset_password(&body.token, &body.new_password, &ctx)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/v1/auth/email/verify",
    tag = "account",
    request_body = VerifyEmailRequest,
    responses(
        (status = 204, description = "The email is verified (or, with an email-change link, \
            changed)"),
        (status = 400, description = "Malformed body, or `invalid_grant`: the token is unknown, \
            used, expired or for another purpose, or the new address is taken", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not `application/json`", body = ErrorBody),
    )
)]
pub(crate) async fn verify_email(
    State(s): State<AppState>,
    Client(ctx): Client,
    JsonBody(body): JsonBody<VerifyEmailRequest>,
) -> ApiResult<StatusCode> {
    s.app.lifecycle.verify_email(&body.token, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/v1/account/email/verify",
    tag = "account",
    security(("bearer" = [])),
    responses(
        (status = 202, description = "A new verification link is mailed (nothing is sent if the \
            email is already verified)"),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "Not a user's token (no session)", body = ErrorBody),
        (status = 429, description = "Rate limited; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub(crate) async fn resend_verification(
    State(s): State<AppState>,
    Client(ctx): Client,
    Bearer(who): Bearer,
) -> ApiResult<StatusCode> {
    s.app.lifecycle.resend_verification(&who, &ctx).await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(
    post,
    path = "/v1/account/email",
    tag = "account",
    security(("bearer" = [])),
    request_body = ChangeEmailRequest,
    responses(
        (status = 202, description = "A confirmation link is mailed to the new address and a \
            notice to the current one; the change happens when the link is used. An address \
            another account holds gets the same answer (its link then fails)"),
        (status = 400, description = "Malformed body or not an email address", body = ErrorBody),
        (status = 401, description = "`invalid_token`, or `invalid_credentials`: the current \
            password is wrong", body = ErrorBody),
        (status = 403, description = "Not a user's token (no session)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not `application/json`", body = ErrorBody),
        (status = 429, description = "Too many attempts; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub(crate) async fn change_email(
    State(s): State<AppState>,
    Client(ctx): Client,
    Bearer(who): Bearer,
    JsonBody(body): JsonBody<ChangeEmailRequest>,
) -> ApiResult<StatusCode> {
    s.app
        .lifecycle
        .change_email(&who, &body.new_email, &body.current_password, &ctx)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(
    delete,
    path = "/v1/account",
    tag = "account",
    security(("bearer" = [])),
    request_body = DeleteAccountRequest,
    responses(
        (status = 204, description = "Deleted: every session is ended and the personal data \
            (email, password hash) removed; the email can be registered again"),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "`invalid_token`, or `invalid_credentials`: the current \
            password is wrong", body = ErrorBody),
        (status = 403, description = "Not a user's token (no session)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not `application/json`", body = ErrorBody),
        (status = 429, description = "Too many wrong passwords; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub(crate) async fn delete_account(
    State(s): State<AppState>,
    Client(ctx): Client,
    Bearer(who): Bearer,
    JsonBody(body): JsonBody<DeleteAccountRequest>,
) -> ApiResult<StatusCode> {
    s.app
        .lifecycle
        .delete_account(&who, &body.current_password, &ctx)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/v1/admin/users/{id}/disable",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The user, disabled: no login or refresh, every session \
            ended (in the revocation feed)", body = UserView),
        (status = 400, description = "A path segment that does not decode", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`: the admin role is required", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
pub(crate) async fn admin_disable_user(
    State(s): State<AppState>,
    Acting(ctx): Acting,
    PathParam(id): PathParam<String>,
) -> ApiResult<Json<UserView>> {
    let user = s.app.lifecycle.disable_user(&id, &ctx).await?;
    Ok(Json(user_view(user)))
}

#[utoipa::path(
    post,
    path = "/v1/admin/users/{id}/enable",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The user, enabled", body = UserView),
        (status = 400, description = "A path segment that does not decode", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`: the admin role is required", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
pub(crate) async fn admin_enable_user(
    State(s): State<AppState>,
    Acting(ctx): Acting,
    PathParam(id): PathParam<String>,
) -> ApiResult<Json<UserView>> {
    let user = s.app.lifecycle.enable_user(&id, &ctx).await?;
    Ok(Json(user_view(user)))
}

#[utoipa::path(
    delete,
    path = "/v1/admin/users/{id}",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 204, description = "Deleted: every session ended, personal data removed"),
        (status = 400, description = "A path segment that does not decode", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`: the admin role is required", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
pub(crate) async fn admin_delete_user(
    State(s): State<AppState>,
    Acting(ctx): Acting,
    PathParam(id): PathParam<String>,
) -> ApiResult<StatusCode> {
    s.app.lifecycle.delete_user(&id, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/v1/admin/users/{id}/password-reset",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 202, description = "A password-reset link is mailed to the user"),
        (status = 400, description = "A path segment that does not decode", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 403, description = "`insufficient_scope`: the admin role is required; or \
            `account_disabled`: enable the account first", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
pub(crate) async fn admin_password_reset(
    State(s): State<AppState>,
    Acting(ctx): Acting,
    PathParam(id): PathParam<String>,
) -> ApiResult<StatusCode> {
    s.app.lifecycle.send_password_reset(&id, &ctx).await?;
    Ok(StatusCode::ACCEPTED)
}
