//! The client's address behind reverse proxies.
//!
//! The peer of the TCP connection is the client unless it is one of the
//! `trusted_proxies`. Then the configured header (`X-Forwarded-For`, or
//! `Forwarded` per RFC 7239) is read from the right: each hop a trusted
//! proxy appended is skipped, and the right-most address that is not a
//! trusted proxy is the client. Entries to its left were written by the
//! client itself and are never believed. A hop that is not an address
//! (`unknown`, an obfuscated `_name`, garbage) stops the walk at the last
//! trusted hop: such requests count as coming from that proxy, as they did
//! without this setting. An untrusted peer's headers are ignored entirely.

use crate::config::{canonical, ProxyHeader, ProxyList};
use axum::http::HeaderMap;
use std::net::{IpAddr, SocketAddr};

/// The client's address for a request from `peer`.
pub(crate) fn client_ip(
    peer: IpAddr,
    headers: &HeaderMap,
    trusted: &ProxyList,
    header: ProxyHeader,
) -> IpAddr {
    let peer = canonical(peer);
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops = match header {
        ProxyHeader::XForwardedFor => forwarded_for(headers),
        ProxyHeader::Forwarded => forwarded(headers),
    };
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = hop.map(canonical) else {
            return client;
        };
        client = ip;
        if !trusted.contains(&ip) {
            return ip;
        }
    }
    client
}

/// Every `X-Forwarded-For` entry, left to right, across repeated headers.
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|v| entries(v.as_bytes()).map(|s| s.and_then(|s| address(s.trim()))))
        .collect()
}

/// The comma-separated entries of a header value, each as text if it is
/// visible ASCII. Split on the raw bytes: a proxy appends its entry to the
/// client's own line, so one bad byte the client wrote must spoil only the
/// client's entries, not the proxy's.
fn entries(value: &[u8]) -> impl Iterator<Item = Option<&str>> {
    value.split(|b| *b == b',').map(|e| {
        e.iter()
            .all(|b| (0x20..0x7f).contains(b) || *b == b'\t')
            .then(|| std::str::from_utf8(e).ok())
            .flatten()
    })
}

/// The `for=` of every `Forwarded` element, left to right (RFC 7239 §4);
/// an element without `for` counts as an unknown hop.
fn forwarded(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("forwarded")
        .iter()
        .flat_map(|v| {
            entries(v.as_bytes()).map(|element| {
                element?
                    .split(';')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, v)| address(v.trim().trim_matches('"')))
            })
        })
        .collect()
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:8080`,
/// `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:8080`.
fn address(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    s.strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse::<IpAddr>().ok())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn trusted(list: &str) -> ProxyList {
        serde_json::from_value(serde_json::Value::from(list)).unwrap()
    }

    fn headers(name: &'static str, values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(name, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const XFF: ProxyHeader = ProxyHeader::XForwardedFor;
    const FWD: ProxyHeader = ProxyHeader::Forwarded;

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let h = headers("x-forwarded-for", &["203.0.113.9"]);
        assert_eq!(
            client_ip(ip("198.51.100.7"), &h, &ProxyList::default(), XFF),
            ip("198.51.100.7")
        );
        let t = trusted("10.0.0.0/8");
        assert_eq!(
            client_ip(ip("198.51.100.7"), &h, &t, XFF),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let t = trusted("10.0.0.0/8, 192.0.2.10");
        // The client wrote a fake first entry; two trusted proxies appended.
        let h = headers("x-forwarded-for", &["1.1.1.1, 203.0.113.9, 10.1.2.3"]);
        assert_eq!(client_ip(ip("192.0.2.10"), &h, &t, XFF), ip("203.0.113.9"));
        // Repeated headers are one list, in order.
        let h = headers("x-forwarded-for", &["1.1.1.1", "203.0.113.9", "10.1.2.3"]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &t, XFF), ip("203.0.113.9"));
        // Every hop trusted: the left-most one.
        let h = headers("x-forwarded-for", &["10.9.9.9, 10.1.2.3"]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &t, XFF), ip("10.9.9.9"));
        // No header from a trusted peer: the peer.
        assert_eq!(
            client_ip(ip("10.0.0.1"), &HeaderMap::new(), &t, XFF),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn garbage_stops_at_the_last_trusted_hop() {
        let t = trusted("10.0.0.0/8");
        let h = headers("x-forwarded-for", &["203.0.113.9, nonsense, 10.1.2.3"]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &t, XFF), ip("10.1.2.3"));
        let h = headers("x-forwarded-for", &["unknown"]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &t, XFF), ip("10.0.0.1"));
    }

    #[test]
    fn a_bad_byte_spoils_only_its_own_entry() {
        // nginx appends the real address to the client's own line.
        let t = trusted("10.0.0.0/8");
        let mut h = HeaderMap::new();
        h.append(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"\xff, 198.51.100.23").unwrap(),
        );
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &t, XFF), ip("198.51.100.23"));
        let mut h = HeaderMap::new();
        h.append(
            "forwarded",
            HeaderValue::from_bytes(b"for=\xff, for=198.51.100.23").unwrap(),
        );
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &t, FWD), ip("198.51.100.23"));
    }

    #[test]
    fn forwarded_per_rfc_7239() {
        let t = trusted("10.0.0.0/8,fd00::/8");
        let h = headers(
            "forwarded",
            &[
                r#"for=1.1.1.1, for="[2001:db8:cafe::17]:4711";proto=https, For=10.1.2.3;by=10.0.0.1"#,
            ],
        );
        assert_eq!(
            client_ip(ip("fd00::1"), &h, &t, FWD),
            ip("2001:db8:cafe::17")
        );
        let h = headers("forwarded", &["for=192.0.2.60:8080;proto=http"]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &t, FWD), ip("192.0.2.60"));
        // An obfuscated identifier or no `for` is an unknown hop.
        let h = headers("forwarded", &["for=203.0.113.9, for=_hidden"]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &t, FWD), ip("10.0.0.1"));
        let h = headers("forwarded", &["for=203.0.113.9, proto=https"]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &t, FWD), ip("10.0.0.1"));
    }

    #[test]
    fn only_the_configured_header_counts() {
        let t = trusted("10.0.0.0/8");
        let mut h = headers("x-forwarded-for", &["203.0.113.9"]);
        h.append("forwarded", HeaderValue::from_static("for=198.51.100.1"));
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &t, XFF), ip("203.0.113.9"));
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &t, FWD), ip("198.51.100.1"));
    }

    #[test]
    fn mapped_addresses_are_ipv4() {
        let t = trusted("10.0.0.0/8");
        let h = headers("x-forwarded-for", &["::ffff:203.0.113.9"]);
        assert_eq!(
            client_ip(ip("::ffff:10.0.0.1"), &h, &t, XFF),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn the_list_refuses_what_is_not_a_network() {
        let bad = serde_json::from_value::<ProxyList>(serde_json::json!(["10.0.0.0/8", "nope"]));
        assert!(bad.unwrap_err().to_string().contains("`nope`"));
        let ok: ProxyList = serde_json::from_value(serde_json::json!("10.1.2.3/8, ::1")).unwrap();
        assert_eq!(
            serde_json::to_value(&ok).unwrap(),
            serde_json::json!(["10.0.0.0/8", "::1/128"])
        );
    }
}
