//! The JSON-lines format of `tessera users import` and `export`: one user a
//! line.
//!
//! ```text
//! {"email":"ada@example.com","email_verified":true,"roles":["admin"],"created_at":1700000000,"password_hash":"$2b$12$…"}
//! {"email":"bob@example.com","keycloak_credential":{"algorithm":"pbkdf2-sha256","hashIterations":27500,"salt":"…","value":"…"}}
//! ```
//!
//! - `email` (required), normalised as at registration;
//! - `email_verified` (default false), `disabled` (default false);
//! - `roles` (default none), as `tessera users set-roles` accepts them;
//! - `created_at`: Unix seconds (default: the time of the import);
//! - exactly one of `password_hash` (a hash [`crate::imported`] accepts) and
//!   `keycloak_credential`: either the flat object above, or a credential
//!   exactly as Keycloak exports it (`secretData` and `credentialData`, the
//!   JSON strings holding `value`, `salt`, `hashIterations`, `algorithm`).
//!
//! Export writes the same fields (a Keycloak credential as the PHC PBKDF2
//! string it became), so an export imports again.

use crate::error::{Error, Result};
use crate::imported;
use serde::Deserialize;
use serde_json::json;
use tessera_store::User;

/// One line of an import file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    email: String,
    #[serde(default)]
    email_verified: bool,
    #[serde(default)]
    disabled: bool,
    #[serde(default)]
    roles: Vec<String>,
    created_at: Option<i64>,
    password_hash: Option<String>,
    keycloak_credential: Option<Keycloak>,
}

/// A Keycloak password credential, flat or as Keycloak exports it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Keycloak {
    algorithm: Option<String>,
    hash_iterations: Option<u32>,
    salt: Option<String>,
    value: Option<String>,
    /// Keycloak's export: `{"value":…,"salt":…}` as a JSON string.
    secret_data: Option<String>,
    /// Keycloak's export: `{"hashIterations":…,"algorithm":…}` as a JSON string.
    credential_data: Option<String>,
}

fn bad(field: &'static str, message: impl Into<String>) -> Error {
    Error::InvalidInput {
        field,
        message: message.into(),
    }
}

impl Keycloak {
    /// The nested JSON strings of Keycloak's own export, merged in.
    fn flatten(mut self) -> Result<Self> {
        let field = "keycloak_credential";
        for data in [self.secret_data.take(), self.credential_data.take()]
            .into_iter()
            .flatten()
        {
            let inner: Keycloak = serde_json::from_str(&data)
                .map_err(|_| bad(field, "secretData/credentialData is not a JSON object"))?;
            self.algorithm = self.algorithm.or(inner.algorithm);
            self.hash_iterations = self.hash_iterations.or(inner.hash_iterations);
            self.salt = self.salt.or(inner.salt);
            self.value = self.value.or(inner.value);
        }
        Ok(self)
    }

    fn into_phc(self) -> Result<String> {
        let field = "keycloak_credential";
        let k = self.flatten()?;
        let (Some(iterations), Some(salt), Some(value)) = (k.hash_iterations, k.salt, k.value)
        else {
            return Err(bad(field, "needs hashIterations, salt and value"));
        };
        let algorithm = k.algorithm.as_deref().unwrap_or("pbkdf2-sha256");
        imported::keycloak_to_phc(algorithm, iterations, &salt, &value).map_err(|m| bad(field, m))
    }
}

/// What is wrong with a line that is no user record, without quoting any
/// value from it (serde's type errors would quote one, perhaps a hash).
fn describe(e: serde_json::Error) -> Error {
    let text = e.to_string();
    let message = match e.classify() {
        serde_json::error::Category::Data
            if text.starts_with("unknown field") || text.starts_with("missing field") =>
        {
            // Names the field (and the accepted ones), no value.
            text
        }
        serde_json::error::Category::Data => {
            format!("has a value of the wrong type (column {})", e.column())
        }
        _ => format!("is not one JSON object (column {})", e.column()),
    };
    bad("line", message)
}

/// Parses and checks one line into the user it makes, with this id and
/// `now` as the default creation time and the time of a verified email.
pub(crate) fn parse_line(text: &str, id: String, now: i64) -> Result<User> {
    let line: Line = serde_json::from_str(text).map_err(describe)?;
    let email = crate::normalize_email(&line.email)?;
    crate::check_roles(&line.roles)?;
    let password_hash = match (line.password_hash, line.keycloak_credential) {
        (Some(h), None) => {
            imported::check(&h).map_err(|m| bad("password_hash", m))?;
            h
        }
        (None, Some(k)) => k.into_phc()?,
        _ => {
            return Err(bad(
                "password_hash",
                "give exactly one of password_hash and keycloak_credential",
            ))
        }
    };
    let created_at = line.created_at.unwrap_or(now);
    if !(0..=now.saturating_add(86_400)).contains(&created_at) {
        return Err(bad("created_at", "must be Unix seconds, not in the future"));
    }
    Ok(User {
        id,
        email,
        password_hash,
        roles: line.roles,
        created_at,
        email_verified_at: line.email_verified.then_some(now),
        disabled_at: line.disabled.then_some(now),
        last_login_at: None,
    })
}

/// One line of an export (without its line break).
pub fn export_line(user: &User) -> String {
    json!({
        "email": user.email,
        "email_verified": user.email_verified(),
        "disabled": user.disabled(),
        "roles": user.roles,
        "created_at": user.created_at,
        "password_hash": user.password_hash,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DJANGO: &str = "pbkdf2_sha256$1000$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

    #[test]
    fn a_line_needs_a_valid_email_roles_and_exactly_one_password() {
        let ok =
            format!(r#"{{"email":" Ada@X.io ","roles":["admin"],"password_hash":"{DJANGO}"}}"#);
        let u = parse_line(&ok, "id1".into(), 1000).unwrap();
        assert_eq!((u.email.as_str(), u.created_at), ("ada@x.io", 1000));
        assert_eq!((u.email_verified_at, u.disabled_at), (None, None));
        let refused = [
            ("{", "line"),
            (
                r#"{"email":"a@x.io","password_hash":"x","extra":1}"#,
                "line",
            ),
            (r#"{"email":"nope","password_hash":"x"}"#, "email"),
            (r#"{"email":"a@x.io"}"#, "password_hash"),
            (
                r#"{"email":"a@x.io","password_hash":"md5:abc"}"#,
                "password_hash",
            ),
            (
                r#"{"email":"a@x.io","roles":["a b"],"password_hash":"x"}"#,
                "roles",
            ),
            (
                r#"{"email":"a@x.io","keycloak_credential":{"salt":"c2FsdA=="}}"#,
                "keycloak_credential",
            ),
        ];
        for (line, field) in refused {
            match parse_line(line, "id".into(), 1000) {
                Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field, "{line}"),
                other => panic!("{line}: {:?}", other.map(|u| u.email)),
            }
        }
        let typed = r#"{"email":"a@x.io","created_at":"$2b$secret-looking"}"#;
        let e = parse_line(typed, "id".into(), 1000)
            .err()
            .unwrap()
            .to_string();
        assert!(!e.contains("secret-looking"), "{e}");
        let future =
            format!(r#"{{"email":"a@x.io","created_at":999999,"password_hash":"{DJANGO}"}}"#);
        assert!(parse_line(&future, "id".into(), 1000).is_err());
    }

    #[test]
    fn keycloak_credentials_are_read_flat_or_as_keycloak_exports_them() {
        let value = "xeR41ZKIyEGqUw22hFxMjZYok6ABzk4RpJY4c6qYE0o=";
        let flat = format!(
            r#"{{"email":"k@x.io","keycloak_credential":{{"hashIterations":4096,"salt":"c2FsdA==","value":"{value}"}}}}"#
        );
        let nested = serde_json::json!({"email": "k@x.io", "keycloak_credential": {
            "type": "password", "id": "x", "createdDate": 1,
            "secretData": format!(r#"{{"value":"{value}","salt":"c2FsdA==","additionalParameters":{{}}}}"#),
            "credentialData": r#"{"hashIterations":4096,"algorithm":"pbkdf2-sha256","additionalParameters":{}}"#,
        }})
        .to_string();
        let a = parse_line(&flat, "a".into(), 5).unwrap();
        let b = parse_line(&nested, "b".into(), 5).unwrap();
        assert_eq!(a.password_hash, b.password_hash);
        assert!(a.password_hash.starts_with("$pbkdf2-sha256$i=4096,l=32$"));
        assert!(imported::verify(&a.password_hash, b"password"));
        // An export line imports again, to the same record.
        let again = parse_line(&export_line(&a), "c".into(), 5).unwrap();
        assert_eq!(
            (again.email, again.password_hash),
            (a.email, a.password_hash)
        );
    }
}
