//! Self-contained value types of the configuration: durations written with
//! a unit, and lists of CORS origins. The `config` module re-exports them.

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

#[cfg(test)]
mod tests {
    use super::*;

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
