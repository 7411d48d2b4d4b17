//! The account lifecycle (issue 15) against a real store, with mail caught
//! by a `MemoryMailer`: single-use hashed tokens, password change and
//! reset, email verification and change, deletion, disabling.

use crate::{cfg, ctx, no_throttle, secret, PASSWORD, T0};
use std::sync::Arc;
use std::time::Duration;
use tessera_core::mail::{MailKind, MemoryMailer, Message, Templates};
use tessera_core::throttle::{Limiter, Throttle, ThrottleConfig};
use tessera_core::{App, AuthConfig, ClientInfo, Error, Principal, TokenPair};
use tessera_jose::ManualClock;
use tessera_store::Store;

pub(crate) const NEW_PASSWORD: &str = "a brand new passphrase";
const WAIT: Duration = Duration::from_secs(10);

/// An app whose mail lands in `mail`.
pub(crate) struct MailEnv {
    pub(crate) _dir: tempfile::TempDir,
    pub(crate) db_url: Option<String>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) app: App,
    pub(crate) mail: Arc<MemoryMailer>,
}

pub(crate) async fn mail_env_with(auth: AuthConfig, limiter: Limiter) -> MailEnv {
    let dir = tempfile::tempdir().unwrap();
    let db_url = tessera_store::testing::fresh_database_url().await.unwrap();
    let store = tessera_store::open(db_url.as_deref(), dir.path())
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let mail = MemoryMailer::new();
    let app = App::new_with_mailer(
        store.clone(),
        secret(),
        auth,
        limiter,
        clock.clone(),
        mail.clone(),
        Templates::load(None, "Acme ID").unwrap(),
    )
    .await
    .unwrap();
    MailEnv {
        _dir: dir,
        db_url,
        store,
        clock,
        app,
        mail,
    }
}

pub(crate) async fn mail_env() -> MailEnv {
    mail_env_with(cfg(), no_throttle()).await
}

/// The token of the link in a message.
pub(crate) fn token_of(m: &Message) -> String {
    let at = m.text.find("token=").expect("a link with a token") + 6;
    m.text[at..].chars().take(43).collect()
}

impl MailEnv {
    pub(crate) async fn register(&self, email: &str) -> TokenPair {
        self.app
            .accounts
            .register(email, PASSWORD, &ctx())
            .await
            .unwrap();
        self.login(email, PASSWORD).await.unwrap()
    }

    pub(crate) async fn login(&self, email: &str, pw: &str) -> Result<TokenPair, Error> {
        self.app.sessions.login_unthrottled(email, pw, &ctx()).await
    }

    pub(crate) async fn principal(&self, pair: &TokenPair) -> Principal {
        self.app
            .sessions
            .authenticate(&pair.access_token)
            .await
            .unwrap()
    }

    /// Every message delivered so far, after the outbox has drained.
    pub(crate) async fn mail(&self) -> Vec<Message> {
        assert!(self.app.lifecycle.flush_mail(WAIT).await, "mail drained");
        self.mail.messages()
    }

    /// The newest message of `kind` to `to`.
    pub(crate) async fn last(&self, kind: MailKind, to: &str) -> Message {
        self.mail()
            .await
            .into_iter()
            .rev()
            .find(|m| m.kind == kind && m.to == to)
            .unwrap_or_else(|| panic!("no {kind:?} mail to {to}"))
    }

    pub(crate) async fn events(&self) -> Vec<tessera_store::AuditEvent> {
        let rows = self.store.audit_after(0, 500).await.unwrap();
        rows.into_iter().map(|r| r.event).collect()
    }

    pub(crate) async fn revoked(&self, sid: &str) -> bool {
        let s = self.store.session(sid).await.unwrap().unwrap();
        let feed = self.store.revocations_since(0, 500).await.unwrap();
        let in_feed = feed.iter().any(|(id, _)| id == sid);
        assert_eq!(
            s.revoked_at.is_some(),
            in_feed,
            "revoked sessions are in the feed"
        );
        in_feed
    }
}

pub(crate) fn invalid(r: Result<(), Error>) {
    assert!(matches!(r, Err(Error::InvalidLinkToken)), "{r:?}");
}

#[tokio::test]
async fn a_reset_link_works_once_and_ends_every_session() {
    let env = mail_env().await;
    let first = env.register("ada@example.com").await;
    let second = env.login("ada@example.com", PASSWORD).await.unwrap();
    env.app
        .lifecycle
        .forgot_password("Ada@Example.com ", &ctx())
        .await
        .unwrap();
    let m = env.last(MailKind::PasswordReset, "ada@example.com").await;
    assert!(m.subject.contains("Acme ID"), "{}", m.subject);
    let link = format!("{}/account/reset?token=", cfg().issuer);
    assert!(m.text.contains(&link), "{}", m.text);
    assert!(m.html.contains(&link), "both parts carry the link");
    let token = token_of(&m);

    // A policy failure consumes nothing.
    let weak = env
        .app
        .lifecycle
        .reset_password(&token, "short", &ctx())
        .await;
    assert!(matches!(
        weak,
        Err(Error::InvalidInput {
            field: "new_password",
            ..
        })
    ));
    env.app
        .lifecycle
        .reset_password(&token, NEW_PASSWORD, &ctx())
        .await
        .unwrap();
    assert!(env.revoked(&first.session_id).await);
    assert!(env.revoked(&second.session_id).await);
    assert!(matches!(
        env.login("ada@example.com", PASSWORD).await,
        Err(Error::InvalidCredentials)
    ));
    let fresh = env.login("ada@example.com", NEW_PASSWORD).await.unwrap();
    // Used: refused, and nothing changes.
    invalid(
        env.app
            .lifecycle
            .reset_password(&token, "yet another passphrase", &ctx())
            .await,
    );
    assert!(!env.revoked(&fresh.session_id).await);
    env.login("ada@example.com", NEW_PASSWORD).await.unwrap();
    let names: Vec<String> = env.events().await.into_iter().map(|e| e.event).collect();
    for want in ["password.reset_requested", "password.reset"] {
        assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
    }
    let notice = env.last(MailKind::PasswordChanged, "ada@example.com").await;
    assert!(!notice.text.contains("token="), "a notice carries no link");
}

#[tokio::test]
async fn the_store_never_holds_a_raw_token() {
    let env = mail_env().await;
    env.register("ada@example.com").await;
    env.app
        .lifecycle
        .forgot_password("ada@example.com", &ctx())
        .await
        .unwrap();
    let token = token_of(&env.last(MailKind::PasswordReset, "ada@example.com").await);
    let verify = token_of(&env.last(MailKind::VerifyEmail, "ada@example.com").await);
    let hash = tessera_jose::crypto::sha256(token.as_bytes());
    let row = env.store.one_time_token(&hash, T0).await.unwrap().unwrap();
    assert_eq!(row.purpose, "password_reset");
    assert!(!format!("{row:?}").contains(&token));
    // The raw text is found nowhere: not as a key, and not in the files.
    assert!(env
        .store
        .one_time_token(token.as_bytes(), T0)
        .await
        .unwrap()
        .is_none());
    if env.db_url.is_none() {
        let mut bytes = Vec::new();
        for f in std::fs::read_dir(env._dir.path()).unwrap() {
            let p = f.unwrap().path();
            if p.to_string_lossy().contains("tessera.db") {
                bytes.extend(std::fs::read(&p).unwrap());
            }
        }
        let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        assert!(has(&hash), "the hash is stored");
        assert!(!has(token.as_bytes()), "the reset token is not");
        assert!(!has(verify.as_bytes()), "the verification token is not");
    }
}

#[tokio::test]
async fn expired_unknown_and_wrong_purpose_tokens_change_nothing() {
    let env = mail_env().await;
    env.register("ada@example.com").await;
    let verify = token_of(&env.last(MailKind::VerifyEmail, "ada@example.com").await);
    env.app
        .lifecycle
        .forgot_password("ada@example.com", &ctx())
        .await
        .unwrap();
    let reset = token_of(&env.last(MailKind::PasswordReset, "ada@example.com").await);
    let l = &env.app.lifecycle;
    // A verification token cannot reset, a reset token cannot verify.
    invalid(l.reset_password(&verify, NEW_PASSWORD, &ctx()).await);
    invalid(l.verify_email(&reset, &ctx()).await);
    for junk in ["", "x", &"A".repeat(43), &format!("{}\0", &reset[..42])] {
        invalid(l.reset_password(junk, NEW_PASSWORD, &ctx()).await);
        invalid(l.verify_email(junk, &ctx()).await);
    }
    env.login("ada@example.com", PASSWORD).await.unwrap();
    // Past the reset TTL (30 minutes) the reset link is dead; the
    // verification link (24 h) still works, once.
    env.clock.set(T0 + 30 * 60);
    invalid(l.reset_password(&reset, NEW_PASSWORD, &ctx()).await);
    env.login("ada@example.com", PASSWORD).await.unwrap();
    l.verify_email(&verify, &ctx()).await.unwrap();
    invalid(l.verify_email(&verify, &ctx()).await);
    let me = env.app.accounts.user_by_email("ada@example.com").await;
    assert!(me.unwrap().unwrap().email_verified());
}

#[tokio::test]
async fn of_concurrent_uses_of_one_token_exactly_one_wins() {
    let env = mail_env().await;
    env.register("ada@example.com").await;
    env.app
        .lifecycle
        .forgot_password("ada@example.com", &ctx())
        .await
        .unwrap();
    let token = token_of(&env.last(MailKind::PasswordReset, "ada@example.com").await);
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let l = env.app.lifecycle.clone();
            let t = token.clone();
            tokio::spawn(async move {
                l.reset_password(&t, &format!("concurrent passphrase {i}"), &ctx())
                    .await
            })
        })
        .collect();
    let mut won = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await.unwrap() {
            Ok(()) => won.push(i),
            Err(Error::InvalidLinkToken) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(won.len(), 1, "{won:?}");
    let pw = format!("concurrent passphrase {}", won[0]);
    env.login("ada@example.com", &pw).await.unwrap();
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions_only() {
    let env = mail_env().await;
    let here = env.register("ada@example.com").await;
    let there = env.login("ada@example.com", PASSWORD).await.unwrap();
    let who = env.principal(&here).await;
    let l = &env.app.lifecycle;
    let wrong = l
        .change_password(&who, "not my password", NEW_PASSWORD, &ctx())
        .await;
    assert!(matches!(wrong, Err(Error::InvalidCredentials)), "{wrong:?}");
    let weak = l.change_password(&who, PASSWORD, "password", &ctx()).await;
    assert!(matches!(
        weak,
        Err(Error::InvalidInput {
            field: "new_password",
            ..
        })
    ));
    env.login("ada@example.com", PASSWORD).await.unwrap();
    l.change_password(&who, PASSWORD, NEW_PASSWORD, &ctx())
        .await
        .unwrap();
    assert!(
        !env.revoked(&here.session_id).await,
        "the current session survives"
    );
    assert!(env.revoked(&there.session_id).await);
    env.app
        .sessions
        .authenticate(&here.access_token)
        .await
        .unwrap();
    env.login("ada@example.com", NEW_PASSWORD).await.unwrap();
    env.last(MailKind::PasswordChanged, "ada@example.com").await;
    let rows = env.events().await;
    let row = rows.iter().find(|e| e.event == "password.changed").unwrap();
    assert_eq!(row.session_id.as_deref(), Some(here.session_id.as_str()));
}

#[tokio::test]
async fn a_mail_failure_never_fails_the_request() {
    let env = mail_env().await;
    env.register("ada@example.com").await;
    env.mail.fail_next(usize::MAX);
    env.app
        .lifecycle
        .forgot_password("ada@example.com", &ctx())
        .await
        .unwrap();
    let who = env
        .principal(&env.login("ada@example.com", PASSWORD).await.unwrap())
        .await;
    env.app
        .lifecycle
        .resend_verification(&who, &ctx())
        .await
        .unwrap();
    env.mail.fail_next(0);
}

#[tokio::test]
async fn verification_shows_in_claims_me_and_the_login_rule() {
    let env = mail_env_with(
        AuthConfig {
            require_verified_email: true,
            ..cfg()
        },
        no_throttle(),
    )
    .await;
    env.app
        .accounts
        .register("ada@example.com", PASSWORD, &ctx())
        .await
        .unwrap();
    let refused = env.login("ada@example.com", PASSWORD).await;
    assert!(
        matches!(refused, Err(Error::EmailNotVerified)),
        "{refused:?}"
    );
    // Nothing about anyone else: a wrong password or an unknown email is
    // the usual failure.
    for (email, pw) in [
        ("ada@example.com", "wrong password"),
        ("bob@example.com", PASSWORD),
    ] {
        let e = env.login(email, pw).await;
        assert!(matches!(e, Err(Error::InvalidCredentials)), "{e:?}");
    }
    let token = token_of(&env.last(MailKind::VerifyEmail, "ada@example.com").await);
    env.app
        .lifecycle
        .verify_email(&token, &ctx())
        .await
        .unwrap();
    let pair = env.login("ada@example.com", PASSWORD).await.unwrap();
    let who = env.principal(&pair).await;
    assert_eq!(who.claims.email_verified, Some(true));
    assert!(env.app.accounts.me(&who).await.unwrap().email_verified);
    let rows = env.events().await;
    assert!(rows.iter().any(|e| e.event == "email.verified"));
    // Resending once verified sends nothing.
    let before = env.mail().await.len();
    env.app
        .lifecycle
        .resend_verification(&who, &ctx())
        .await
        .unwrap();
    assert_eq!(env.mail().await.len(), before);
}

#[tokio::test]
async fn an_unverified_user_gets_a_false_claim_and_can_ask_again() {
    let env = mail_env().await;
    let pair = env.register("ada@example.com").await;
    let who = env.principal(&pair).await;
    assert_eq!(who.claims.email_verified, Some(false));
    let first = token_of(&env.last(MailKind::VerifyEmail, "ada@example.com").await);
    env.app
        .lifecycle
        .resend_verification(&who, &ctx())
        .await
        .unwrap();
    let second = token_of(&env.last(MailKind::VerifyEmail, "ada@example.com").await);
    assert_ne!(first, second);
    env.app
        .lifecycle
        .verify_email(&second, &ctx())
        .await
        .unwrap();
}

#[tokio::test]
async fn client_info_is_recorded_without_any_address() {
    let env = mail_env().await;
    let pair = env.register("ada@example.com").await;
    let who = env.principal(&pair).await;
    let info = ClientInfo {
        ip: Some("198.51.100.7".into()),
        ..ClientInfo::default()
    };
    env.app
        .lifecycle
        .delete_account(&who, PASSWORD, &info)
        .await
        .unwrap();
    let rows = env.events().await;
    let deleted = rows.iter().find(|e| e.event == "user.deleted").unwrap();
    assert_eq!(deleted.user_id.as_deref(), Some(who.user_id()));
    assert_eq!(deleted.ip.as_deref(), Some("198.51.100.7"));
    for r in &rows {
        assert!(!format!("{r:?}").contains("ada@example.com"), "{r:?}");
    }
}

/// A limiter with the mail limits on and the login backoff tight.
pub(crate) fn tight() -> Limiter {
    let mut t = ThrottleConfig {
        mail_per_ip_per_minute: 5,
        mail_per_account_per_hour: 3,
        ..ThrottleConfig::default()
    };
    t.account.free_failures = 2;
    Limiter::Memory(Throttle::new(t))
}
