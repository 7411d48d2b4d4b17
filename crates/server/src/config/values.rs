//! Self-contained value types of the configuration: durations written with
//! a unit, lists of CORS origins, trusted proxy networks. The `config`
//! module re-exports them.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::time::Duration;

/// A duration written as seconds (`900`) or with a unit (`15m`, `30d`, `10s`, `2h`, `1w`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct Dur(pub Duration);

impl From<Dur> for String {
    fn from(d: Dur) -> String {
        if d.0.subsec_millis() == 0 {
            format!("{}s", d.0.as_secs())
        } else {
            format!("{}ms", d.0.as_millis())
        }
    }
}

impl Dur {
    /// Parses `250ms`, `900`, `900s`, `15m`, `2h`, `30d` or `1w`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: u64 = num
            .parse()
            .map_err(|_| format!("`{text}` is not a duration (use e.g. 900, 15m, 30d)"))?;
        if unit.trim() == "ms" {
            return Ok(Dur(Duration::from_millis(n)));
        }
        let mult = match unit.trim() {
            "" | "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 604_800,
            _ => {
                return Err(format!(
                    "`{text}` has an unknown unit (use ms, s, m, h, d or w)"
                ))
            }
        };
        n.checked_mul(mult)
            .map(|s| Dur(Duration::from_secs(s)))
            .ok_or_else(|| format!("`{text}` is too large"))
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as 900, \"15m\" or \"30d\"")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Dur, E> {
                Ok(Dur(Duration::from_secs(v)))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Dur, E> {
                u64::try_from(v)
                    .map(|s| Dur(Duration::from_secs(s)))
                    .map_err(|_| E::custom("a duration cannot be negative"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Dur, E> {
                Dur::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A list of origins, given as a TOML array or a comma-separated string.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OriginList(pub Vec<String>);

impl<'de> Deserialize<'de> for OriginList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(Vec<String>),
        }
        let list = match Raw::deserialize(d)? {
            Raw::One(s) => s
                .split(',')
                .map(|x| x.trim().to_owned())
                .filter(|x| !x.is_empty())
                .collect(),
            Raw::Many(v) => v,
        };
        for o in &list {
            let ok = (o.starts_with("https://") || o.starts_with("http://"))
                && o.matches('/').count() == 2;
            if !ok {
                return Err(serde::de::Error::custom(format!(
                    "`{o}` is not an origin (scheme://host[:port], no path)"
                )));
            }
        }
        Ok(OriginList(list))
    }
}

/// Role names, given as a TOML array or a comma-separated string.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RoleList(pub Vec<String>);

impl<'de> Deserialize<'de> for RoleList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(Vec<String>),
        }
        let items: Vec<String> = match Raw::deserialize(d)? {
            Raw::One(s) => s.split(',').map(|x| x.trim().to_owned()).collect(),
            Raw::Many(v) => v.into_iter().map(|x| x.trim().to_owned()).collect(),
        };
        Ok(RoleList(
            items.into_iter().filter(|x| !x.is_empty()).collect(),
        ))
    }
}

/// Secrets (base64url), given as a TOML array or a comma-separated string.
/// `Debug` hides them.
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
pub struct SecretList(pub Vec<String>);

impl fmt::Debug for SecretList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretList({} redacted)", self.0.len())
    }
}

impl<'de> Deserialize<'de> for SecretList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(Vec<String>),
        }
        let items = match Raw::deserialize(d)? {
            Raw::One(s) => s.split(',').map(|x| x.trim().to_owned()).collect(),
            Raw::Many(v) => v
                .into_iter()
                .map(|x| x.trim().to_owned())
                .collect::<Vec<_>>(),
        };
        Ok(SecretList(
            items.into_iter().filter(|x| !x.is_empty()).collect(),
        ))
    }
}

/// Networks whose forwarding headers are believed (`trusted_proxies`):
/// CIDR blocks or single addresses, as a TOML array or a comma-separated
/// string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyList(pub Vec<ipnet::IpNet>);

impl ProxyList {
    /// True if `ip` is in one of the networks.
    pub fn contains(&self, ip: &std::net::IpAddr) -> bool {
        let ip = canonical(*ip);
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a dual-stack
/// socket reports) as the IPv4 address it is.
pub fn canonical(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
        v4 => v4,
    }
}

impl Serialize for ProxyList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(ToString::to_string))
    }
}

impl<'de> Deserialize<'de> for ProxyList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(Vec<String>),
        }
        let items: Vec<String> = match Raw::deserialize(d)? {
            Raw::One(s) => s.split(',').map(|x| x.trim().to_owned()).collect(),
            Raw::Many(v) => v.into_iter().map(|x| x.trim().to_owned()).collect(),
        };
        let mut nets = Vec::new();
        for item in items.iter().filter(|x| !x.is_empty()) {
            let net = item
                .parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    serde::de::Error::custom(format!(
                        "`{item}` is not an IP address or CIDR block (10.0.0.0/8, fd00::/8, 192.0.2.7)"
                    ))
                })?;
            nets.push(trusted_net(item, net).map_err(serde::de::Error::custom)?);
        }
        Ok(ProxyList(nets))
    }
}

/// A network to trust, as it is compared: truncated, an IPv4-mapped IPv6
/// block as the IPv4 block it is (addresses are compared as IPv4, see
/// [`canonical`]); refused if it trusts every address.
fn trusted_net(item: &str, net: ipnet::IpNet) -> Result<ipnet::IpNet, String> {
    let net = net.trunc();
    if net.prefix_len() == 0 {
        return Err(format!(
            "`{item}` trusts every address, so any client could choose its own address: \
             list your proxies' networks"
        ));
    }
    if let ipnet::IpNet::V6(v6) = net {
        if let (Some(v4), true) = (v6.addr().to_ipv4_mapped(), v6.prefix_len() >= 96) {
            return ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
                .map(ipnet::IpNet::V4)
                .map_err(|_| format!("`{item}` is not a valid IPv4-mapped block"))
                .and_then(|n| trusted_net(item, n));
        }
    }
    Ok(net)
}

/// The header a trusted proxy writes the client's address into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProxyHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`.
    XForwardedFor,
    /// `Forwarded: for=client, for=proxy1` (RFC 7239).
    Forwarded,
}

/// A switch: `true` or `false` (also `1`/`0`, `yes`/`no`, `on`/`off`, so
/// environment variables and flags read naturally).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(into = "bool")]
pub struct Flag(pub bool);

impl From<Flag> for bool {
    fn from(f: Flag) -> bool {
        f.0
    }
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bool(bool),
            Num(u64),
            Text(String),
        }
        let bad = || serde::de::Error::custom("expected true or false");
        match Raw::deserialize(d)? {
            Raw::Bool(b) => Ok(Flag(b)),
            Raw::Num(0) => Ok(Flag(false)),
            Raw::Num(1) => Ok(Flag(true)),
            Raw::Num(_) => Err(bad()),
            Raw::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => Ok(Flag(true)),
                "false" | "no" | "off" | "0" => Ok(Flag(false)),
                _ => Err(bad()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_proxies_refuse_everything_and_read_mapped_blocks_as_ipv4() {
        let list = |v: &str| serde_json::from_value::<ProxyList>(serde_json::json!(v));
        for all in ["0.0.0.0/0", "::/0", "10.0.0.0/8, ::/0", "::ffff:0:0/96"] {
            let e = list(all).unwrap_err().to_string();
            assert!(e.contains("trusts every address"), "{all}: {e}");
        }
        let mapped = list("::ffff:10.0.0.0/104, ::ffff:192.0.2.7").unwrap();
        assert_eq!(
            mapped.0,
            vec![
                "10.0.0.0/8".parse::<ipnet::IpNet>().unwrap(),
                "192.0.2.7/32".parse().unwrap()
            ]
        );
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert!(mapped.contains(&ip("10.1.2.3")));
        assert!(mapped.contains(&ip("::ffff:10.1.2.3")));
        assert!(!mapped.contains(&ip("11.0.0.1")));
        // Ordinary blocks are kept as written (truncated).
        let plain = list("10.1.2.3/8, fd00::1/8").unwrap();
        assert_eq!(
            plain.0,
            vec![
                "10.0.0.0/8".parse::<ipnet::IpNet>().unwrap(),
                "fd00::/8".parse().unwrap()
            ]
        );
    }

    #[test]
    fn flags() {
        let read = |v: serde_json::Value| serde_json::from_value::<Flag>(v).map(|f| f.0).ok();
        assert_eq!(read(serde_json::json!(true)), Some(true));
        assert_eq!(read(serde_json::json!("off")), Some(false));
        assert_eq!(read(serde_json::json!(1)), Some(true));
        assert_eq!(read(serde_json::json!("maybe")), None);
        assert_eq!(read(serde_json::json!(2)), None);
    }

    #[test]
    fn durations() {
        assert_eq!(Dur::parse("900").unwrap().0.as_secs(), 900);
        assert_eq!(Dur::parse("15m").unwrap().0.as_secs(), 900);
        assert_eq!(Dur::parse("30d").unwrap().0.as_secs(), 2_592_000);
        assert_eq!(Dur::parse("2h").unwrap().0.as_secs(), 7200);
        assert!(Dur::parse("15x").is_err());
        assert!(Dur::parse("m").is_err());
        assert!(Dur::parse("-5").is_err());
    }
}
