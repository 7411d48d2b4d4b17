//! The guard's HTTP client: rustls on the aws-lc-rs provider, the system's
//! root certificates plus any the application adds, no redirects, a
//! timeout, and a cap on response size.

use crate::error::{Error, Result};
use base64::Engine as _;
use std::sync::Arc;
use std::time::Duration;

/// Largest discovery document, JWKS or feed page read (bytes).
const MAX_BODY: usize = 4 << 20;

/// An HTTP response body with its freshness.
pub(crate) struct Fetched {
    pub body: Vec<u8>,
    /// Freshness from `Cache-Control: max-age` minus `Age`; `Some(0)` for
    /// `no-store`/`no-cache`; `None` when the header says nothing.
    pub max_age: Option<Duration>,
}

type Connector = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

#[derive(Clone)]
pub(crate) struct Http {
    client: hyper_util::client::legacy::Client<Connector, http_body_util::Empty<bytes::Bytes>>,
    timeout: Duration,
}

impl Http {
    pub(crate) fn new(extra_roots_pem: &[Vec<u8>], timeout: Duration) -> Result<Self> {
        use rustls::pki_types::pem::PemObject as _;
        use rustls::pki_types::CertificateDer;
        let mut roots = rustls::RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        for pem in extra_roots_pem {
            let mut any = false;
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert =
                    cert.map_err(|_| Error::Setup("unreadable CA certificate PEM".into()))?;
                roots
                    .add(cert)
                    .map_err(|_| Error::Setup("unusable CA certificate".into()))?;
                any = true;
            }
            if !any {
                return Err(Error::Setup("CA PEM holds no certificate".into()));
            }
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Setup(format!("TLS: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut tcp = hyper_util::client::legacy::connect::HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_connect_timeout(Some(timeout));
        tcp.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(30))
                .build(https);
        Ok(Http { client, timeout })
    }

    /// `GET url`, expecting 200 (redirects are not followed). `basic` adds
    /// HTTP Basic client authentication.
    pub(crate) async fn get(&self, url: &str, basic: Option<(&str, &str)>) -> Result<Fetched> {
        let uri: http::Uri = url
            .parse()
            .map_err(|_| Error::Fetch("not a valid URL".into()))?;
        let place = format!(
            "{}://{}{}",
            uri.scheme_str().unwrap_or("?"),
            uri.authority().map_or("?", |a| a.as_str()),
            uri.path()
        );
        let mut req = http::Request::get(uri).header(http::header::ACCEPT, "application/json");
        req = req.header(
            http::header::USER_AGENT,
            concat!("tessera-guard/", env!("CARGO_PKG_VERSION")),
        );
        if let Some((id, secret)) = basic {
            // RFC 6749 §2.3.1: both parts form-urlencoded inside Basic.
            let raw = format!("{}:{}", url_encode(id), url_encode(secret));
            let value = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            );
            req = req.header(http::header::AUTHORIZATION, value);
        }
        let req = req
            .body(http_body_util::Empty::new())
            .map_err(|_| Error::Fetch(format!("{place}: cannot build the request")))?;
        let exchange = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| Error::Fetch(format!("{place}: {}", connect_error(&e))))?;
            let status = resp.status();
            if status != http::StatusCode::OK {
                return Err(Error::Fetch(format!("{place} answered {status}")));
            }
            let max_age = freshness(resp.headers());
            let mut body = Vec::new();
            let mut stream = resp.into_body();
            use http_body_util::BodyExt as _;
            while let Some(frame) = stream.frame().await {
                let frame =
                    frame.map_err(|_| Error::Fetch(format!("{place}: broken response body")))?;
                if let Ok(chunk) = frame.into_data() {
                    if body.len() + chunk.len() > MAX_BODY {
                        return Err(Error::Fetch(format!(
                            "{place}: response larger than {MAX_BODY} bytes"
                        )));
                    }
                    body.extend_from_slice(&chunk);
                }
            }
            Ok(Fetched { body, max_age })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| Error::Fetch(format!("{place}: timed out")))?
    }
}

fn connect_error(e: &hyper_util::client::legacy::Error) -> String {
    // The innermost cause says most (refused, certificate unknown…).
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    if e.is_connect() {
        format!("cannot connect ({cause})")
    } else {
        format!("request failed ({cause})")
    }
}

fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'*') {
            out.push(b as char);
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Freshness lifetime from `Cache-Control` and `Age` (RFC 9111 §4.2.1).
pub(crate) fn freshness(h: &http::HeaderMap) -> Option<Duration> {
    let mut max_age = None;
    for v in h.get_all(http::header::CACHE_CONTROL) {
        let Ok(v) = v.to_str() else { continue };
        for d in v.split(',') {
            let d = d.trim();
            let lower = d.to_ascii_lowercase();
            if lower == "no-store" || lower == "no-cache" {
                return Some(Duration::ZERO);
            }
            if let Some(n) = lower.strip_prefix("max-age=") {
                if let Ok(n) = n.trim_matches('"').parse::<u64>() {
                    max_age = Some(n);
                }
            }
        }
    }
    let age = h
        .get(http::header::AGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    max_age.map(|m| Duration::from_secs(m.saturating_sub(age)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderValue};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn cache_control_is_read_like_a_cache_would() {
        let s = Duration::from_secs;
        assert_eq!(freshness(&headers(&[])), None);
        assert_eq!(
            freshness(&headers(&[(
                "cache-control",
                "public, max-age=300, must-revalidate"
            )])),
            Some(s(300))
        );
        assert_eq!(
            freshness(&headers(&[("cache-control", "Max-Age=60"), ("age", "20")])),
            Some(s(40))
        );
        assert_eq!(
            freshness(&headers(&[("cache-control", "max-age=60"), ("age", "90")])),
            Some(s(0))
        );
        assert_eq!(
            freshness(&headers(&[("cache-control", "no-store, max-age=60")])),
            Some(s(0))
        );
        assert_eq!(
            freshness(&headers(&[("cache-control", "max-age=soon")])),
            None
        );
    }

    #[test]
    fn basic_credentials_are_form_encoded() {
        assert_eq!(url_encode("a b:c/é"), "a+b%3Ac%2F%C3%A9");
        assert_eq!(url_encode("plain-id_1.x"), "plain-id_1.x");
    }
}
