//! The second step of a login (`/v1/auth/mfa*`): trading the `mfa_token`
//! of a `mfa_required` answer and a second factor for the token pair, and,
//! under `require_mfa`, enrolling TOTP with the token of a
//! `mfa_enrollment_required` answer. Every rule is in `tessera_core::Mfa`.

use crate::dpop::{with_nonce, DpopKey};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Client, JsonBody};
use crate::respond::{no_store, token_body, token_response};
use crate::routes::auth::cookie_response;
use crate::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use tessera_api::{
    EnrolledTokenResponse, ErrorBody, MfaEnrollConfirmRequest, MfaEnrollRequest, MfaLoginRequest,
    TokenResponse, TotpEnrollmentBody,
};
use tessera_core::mfa::{RecoveryCodes, TotpEnrollment};
use tessera_core::{MfaProof, TokenPair};

/// The pair as `/v1/auth/login` answers it in this mode.
fn pair_response(s: &AppState, pair: &TokenPair, cookie: bool) -> ApiResult<Response> {
    let res = if cookie {
        cookie_response(s, pair)?
    } else {
        token_response(pair)
    };
    Ok(with_nonce(s, res))
}

pub(crate) fn enrollment_body(e: TotpEnrollment) -> Response {
    no_store(
        Json(TotpEnrollmentBody {
            secret: e.secret.to_string(),
            otpauth_uri: e.otpauth_uri.to_string(),
            qr_svg: e.qr_svg,
        })
        .into_response(),
    )
}

pub(crate) fn codes_of(c: RecoveryCodes) -> Vec<String> {
    c.0.iter().map(|c| c.to_string()).collect()
}

#[utoipa::path(
    post,
    path = "/v1/auth/mfa",
    tag = "auth",
    request_body = MfaLoginRequest,
    params(
        ("DPoP" = Option<String>, Header, description = "A DPoP proof, from the key of the login's \
            proof if it had one (the `mfa_token` is bound to it)"),
    ),
    responses(
        (status = 200, description = "The login's token pair, as `/v1/auth/login` answers it \
            (cookie mode: the refresh token in `Set-Cookie`); `amr` is `[pwd, otp, mfa]` (a passkey: \
            `[pwd, hwk, mfa]` or `[pwd, swk, mfa]`)",
            body = TokenResponse),
        (status = 400, description = "Malformed body; not exactly one factor; a `passkey` that \
            is not WebAuthn JSON, or without open options (`/v1/auth/mfa/passkey/options`); an `mfa_token` issued to another login (OAuth client, DPoP key or \
            cookie mode differ); `invalid_dpop_proof`", body = ErrorBody),
        (status = 401, description = "`invalid_mfa_token` (unknown, used, expired, or one that \
            must enrol first) or `invalid_mfa_code` (wrong or replayed code); `invalid_credentials` (a passkey \
            assertion that does not verify, or not the user's)", body = ErrorBody),
        (status = 403, description = "`account_disabled`", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not `application/json`", body = ErrorBody),
        (status = 429, description = "Too many wrong codes; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub(crate) async fn complete_mfa(
    State(s): State<AppState>,
    Client(mut ctx): Client,
    DpopKey(jkt): DpopKey,
    JsonBody(body): JsonBody<MfaLoginRequest>,
) -> ApiResult<Response> {
    ctx.dpop_jkt = jkt;
    let proof = match (&body.totp, &body.recovery_code, &body.passkey) {
        (Some(code), None, None) => MfaProof::Totp(code),
        (None, Some(code), None) => MfaProof::RecoveryCode(code),
        (None, None, Some(credential)) => {
            // Passkeys (h17b): the assertion answers the options of
            // `/v1/auth/mfa/passkey/options`, kept under this mfa_token.
            let pair = s
                .app
                .passkeys
                .complete_second_factor(&body.mfa_token, credential, &ctx, body.cookie)
                .await?;
            return pair_response(&s, &pair, body.cookie);
        }
        _ => {
            return Err(ApiError::bad_request(
                "send exactly one of totp, recovery_code, passkey",
            ))
        }
    };
    let pair = s
        .app
        .mfa
        .complete(&body.mfa_token, proof, &ctx, body.cookie)
        .await?;
    pair_response(&s, &pair, body.cookie)
}

#[utoipa::path(
    post,
    path = "/v1/auth/mfa/totp",
    tag = "auth",
    request_body = MfaEnrollRequest,
    responses(
        (status = 200, description = "A new TOTP secret for the user of an enrolment token \
            (`mfa_enrollment_required`), shown once; confirm it at `/v1/auth/mfa/totp/confirm`",
            body = TotpEnrollmentBody),
        (status = 400, description = "Malformed body; an `mfa_token` issued to another login",
            body = ErrorBody),
        (status = 401, description = "`invalid_mfa_token` (unknown, used, expired, or not an \
            enrolment token)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not `application/json`", body = ErrorBody),
    )
)]
pub(crate) async fn enroll_totp(
    State(s): State<AppState>,
    Client(mut ctx): Client,
    DpopKey(jkt): DpopKey,
    JsonBody(body): JsonBody<MfaEnrollRequest>,
) -> ApiResult<Response> {
    ctx.dpop_jkt = jkt;
    let e = s
        .app
        .mfa
        .begin_totp_with_token(&body.mfa_token, &ctx, body.cookie)
        .await?;
    Ok(enrollment_body(e))
}

#[utoipa::path(
    post,
    path = "/v1/auth/mfa/totp/confirm",
    tag = "auth",
    request_body = MfaEnrollConfirmRequest,
    responses(
        (status = 200, description = "TOTP is enrolled: the login's token pair and ten recovery \
            codes (shown once)", body = EnrolledTokenResponse),
        (status = 400, description = "Malformed body; no enrolment pending; an `mfa_token` \
            issued to another login", body = ErrorBody),
        (status = 401, description = "`invalid_mfa_token` or `invalid_mfa_code`", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not `application/json`", body = ErrorBody),
        (status = 429, description = "Too many wrong codes; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub(crate) async fn confirm_enrolled_totp(
    State(s): State<AppState>,
    Client(mut ctx): Client,
    DpopKey(jkt): DpopKey,
    JsonBody(body): JsonBody<MfaEnrollConfirmRequest>,
) -> ApiResult<Response> {
    ctx.dpop_jkt = jkt;
    let (codes, pair) = s
        .app
        .mfa
        .confirm_totp_with_token(&body.mfa_token, &body.code, &ctx, body.cookie)
        .await?;
    let tokens = TokenResponse {
        refresh_token: if body.cookie {
            None
        } else {
            Some(pair.refresh_token.to_string())
        },
        ..token_body(&pair)
    };
    let mut res = no_store(
        Json(EnrolledTokenResponse {
            tokens,
            recovery_codes: codes_of(codes),
        })
        .into_response(),
    );
    if body.cookie {
        let c = crate::cookie::set(
            &s.config,
            &pair.refresh_token,
            pair.refresh_token_expires_in,
        )
        .ok_or_else(|| ApiError::bad_request("the refresh token cannot be set as a cookie"))?;
        res.headers_mut().append(axum::http::header::SET_COOKIE, c);
    }
    Ok(with_nonce(&s, res))
}
