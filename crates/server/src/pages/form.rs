//! A page's form post (`application/x-www-form-urlencoded`), read within the
//! pages' size cap. Every rejection is an HTML page, never JSON.

use super::html::Page;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use std::collections::HashMap;
use std::fmt;
use zeroize::Zeroizing;

/// The largest form a page accepts (a password of 1024 characters, percent
/// encoded, twice, plus a token fits several times over).
pub const LIMIT: usize = 16 * 1024;

/// The fields of a form post, each name at most once. Values are wiped
/// from memory when dropped (they may hold passwords); `Debug` shows only
/// the names.
pub struct Form(HashMap<String, Zeroizing<String>>);

impl fmt::Debug for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Form {
    /// Parses a urlencoded body; a repeated name is an error.
    pub fn parse(body: &[u8]) -> Result<Form, Page> {
        let mut fields = HashMap::new();
        for (k, v) in form_urlencoded::parse(body) {
            let k = k.into_owned();
            if fields.contains_key(&k) {
                return Err(bad_form("A field was sent twice."));
            }
            fields.insert(k, Zeroizing::new(v.into_owned()));
        }
        Ok(Form(fields))
    }

    /// A field's value, if it was sent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.as_str())
    }

    /// Every field, in no particular order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// A field's value; a missing or empty one is a 400 page naming it.
    pub fn require(&self, name: &str, label: &str) -> Result<&str, Page> {
        match self.get(name) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(bad_form(&format!("The form is missing {label}."))),
        }
    }
}

fn bad_form(message: &str) -> Page {
    Page::message(
        StatusCode::BAD_REQUEST,
        "The form could not be read",
        message,
    )
}

fn is_form(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

impl FromRequest<AppState> for Form {
    type Rejection = Page;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Page> {
        if !is_form(&req) {
            return Err(Page::message(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "The form could not be read",
                "This address takes a form post (application/x-www-form-urlencoded).",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rej| {
            if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Page::message(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "The form is too large",
                    "The form sent more data than this page accepts.",
                )
            } else {
                bad_form("The form could not be read.")
            }
        })?;
        Form::parse(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_decoded_and_repeats_refused() {
        let f = Form::parse(b"token=a%2Bb&new_password=x+y&empty=").unwrap_or_else(|_| {
            unreachable!();
        });
        assert_eq!(f.get("token"), Some("a+b"));
        assert_eq!(f.get("new_password"), Some("x y"));
        assert!(f.require("empty", "it").is_err());
        assert!(f.require("nope", "it").is_err());
        assert!(!format!("{f:?}").contains("x y"));
        let twice = Form::parse(b"token=a&token=b");
        assert_eq!(
            twice.map(|_| ()).map_err(|p| p.status),
            Err(StatusCode::BAD_REQUEST)
        );
    }
}
