//! A passkey as the second factor of a password login: options limited to
//! the user's passkeys (the ceremony kept under the login's `mfa_token`),
//! and the assertion that completes the step, for the JSON API
//! (`POST /v1/auth/mfa`) and for the hosted page's second step.

use super::ceremony::{begin_for_mfa, take_for_mfa, unknown_ceremony, Ceremony};
use super::{CeremonyOptions, Passkeys};
use crate::error::{Error, Result};
use crate::events::{AuditEvent, ClientInfo};
use crate::sessions::TokenPair;
use serde_json::Value;
use tessera_store::User;
use webauthn_rs::prelude::{Passkey, PublicKeyCredential};

impl Passkeys {
    /// The request options of a login's second step: only the passkeys of
    /// the `mfa_token`'s user are allowed. The ceremony is kept under the
    /// token (asking again replaces it); `cookie` and the DPoP key of
    /// `info` must be the login's, as at `POST /v1/auth/mfa`.
    pub async fn second_factor_options(
        &self,
        mfa_token: &str,
        info: &ClientInfo,
        cookie: bool,
    ) -> Result<CeremonyOptions> {
        let rp = self.rp()?;
        let pending = self.mfa.pending(mfa_token, info, cookie).await?;
        let keys: Vec<Passkey> = self
            .ctx
            .store
            .passkeys(&pending.user_id)
            .await?
            .iter()
            .filter_map(|p| serde_json::from_str(&p.data).ok())
            .collect();
        if pending.enrollment || keys.is_empty() {
            return Err(Error::InvalidInput {
                field: "mfa_token",
                message: "this account has no passkey: use another method".into(),
            });
        }
        let (rcr, state) = rp
            .start_passkey_authentication(&keys)
            .map_err(Error::internal)?;
        let mut options = serde_json::to_value(&rcr).map_err(Error::internal)?;
        if let Some(o) = options.as_object_mut() {
            o.remove("mediation");
        }
        let c = Ceremony::SecondFactor {
            user_id: pending.user_id,
            state,
        };
        begin_for_mfa(&self.ctx, mfa_token, &c).await?;
        Ok(CeremonyOptions {
            ceremony: String::new(),
            options,
        })
    }

    /// Completes a login's second step with a passkey assertion for the
    /// options of [`Passkeys::second_factor_options`]: the token pair, with
    /// `amr` `pwd`, `hwk` or `swk`, `mfa`.
    pub async fn complete_second_factor(
        &self,
        mfa_token: &str,
        credential: &Value,
        info: &ClientInfo,
        cookie: bool,
    ) -> Result<TokenPair> {
        let (pending, factor) = self
            .verify_second(mfa_token, credential, info, cookie)
            .await?;
        self.mfa.finish(&pending, factor, info).await
    }

    /// The hosted login page's second step with a passkey: checks the
    /// `mfa_token` (the page's, bound to cookie mode) and the assertion,
    /// spends the token, and answers the user and the factor's `amr` value
    /// (`hwk` or `swk`); the page starts the SSO session.
    pub async fn verify_second_factor_for_sso(
        &self,
        mfa_token: &str,
        credential: &Value,
        info: &ClientInfo,
    ) -> Result<(User, &'static str)> {
        let (pending, factor) = self
            .verify_second(mfa_token, credential, info, true)
            .await?;
        let user = self.mfa.finish_sso(&pending, factor, info).await?;
        Ok((user, factor))
    }

    /// The checks of a second step with a passkey: the token's login, its
    /// open ceremony, an assertion of one of the user's passkeys.
    async fn verify_second(
        &self,
        mfa_token: &str,
        credential: &Value,
        info: &ClientInfo,
        cookie: bool,
    ) -> Result<(crate::PendingMfa, &'static str)> {
        // Junk is a 400 naming `passkey` whether or not passkeys are on.
        let cred: PublicKeyCredential =
            serde_json::from_value(credential.clone()).map_err(|e| Error::InvalidInput {
                field: "passkey",
                message: format!("is not a WebAuthn credential: {e}"),
            })?;
        let rp = self.rp()?;
        let pending = self.mfa.pending(mfa_token, info, cookie).await?;
        let state = match take_for_mfa(&self.ctx, mfa_token).await? {
            Ceremony::SecondFactor { user_id, state } if user_id == pending.user_id => state,
            _ => return Err(unknown_ceremony()),
        };
        let refused = || async {
            self.ctx
                .audit(
                    AuditEvent::PasskeyFailure,
                    Some(&pending.user_id),
                    None,
                    info,
                    Some("second factor".into()),
                )
                .await;
            Error::InvalidCredentials
        };
        let found = self
            .ctx
            .store
            .passkey_by_credential(cred.get_credential_id())
            .await?;
        let row = match found {
            Some(r) if r.user_id == pending.user_id => r,
            _ => return Err(refused().await),
        };
        let pk: Passkey = serde_json::from_str(&row.data).map_err(Error::internal)?;
        let Ok(res) = rp.finish_passkey_authentication(&cred, &state) else {
            return Err(refused().await);
        };
        self.record_use(&row, pk, &res).await?;
        let factor = if res.backup_eligible() { "swk" } else { "hwk" };
        Ok((pending, factor))
    }
}
