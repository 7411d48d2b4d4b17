//! Strict JSON through the whole verify path: regression tests for what a
//! review of an earlier one-pass claims reader found (each still holds for
//! the two-pass path that replaced it), and differential property tests of
//! the strict JSON rules, and of `decode`, against simple references.
//!
//! What they pin down:
//! - a caller's type that swallows a deserializer error (a lenient visitor, a
//!   "default on error" field) never gets claims of the wrong type accepted,
//!   an empty container past the depth cap accepted, or a typed claim
//!   different from what `serde_json` reads from the same verified payload;
//! - a member named with `serde_json`'s reserved `$serde_json::private::`
//!   prefix is refused anywhere (in a `serde_json::Value` under the
//!   `raw_value` feature, enabled in the server's build, it would turn the
//!   JSON text inside a string into an object no strict check had seen);
//! - the array form of `aud` counts toward the depth cap like every other
//!   array (`json::check` and `decode` agree).

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::collection::vec;
use proptest::prelude::*;
use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::fmt::{self, Debug, Write as _};
use std::sync::OnceLock;
use tessera_jose::{
    b64, dangerous, decode, json as strict_json, Algorithm, Audience, Error, Header, KeySet,
    Limits, ManualClock, RegisteredClaims, SigningKey, TokenData, UnverifiedToken, Validation,
};

const NOW: i64 = 1_700_000_000;
const ISS: &str = "https://auth.example";
const AUD: &str = "api";

pub(crate) fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

pub(crate) fn hs_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| {
        SigningKey::from_hmac_secret(Algorithm::HS256, &[7u8; 32])
            .unwrap()
            .with_kid("review")
    })
}

fn hs_keys() -> KeySet {
    [hs_key().verifying_key().clone()].into_iter().collect()
}

/// A token over any header and payload text, signed with [`hs_key`].
pub(crate) fn sign(header: &str, payload: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        b64::encode(header.as_bytes()),
        b64::encode(payload)
    );
    let sig = hs_key().sign(input.as_bytes()).unwrap();
    format!("{input}.{}", b64::encode(&sig))
}

fn access_header() -> String {
    format!(
        r#"{{"alg":"HS256","typ":"at+jwt","kid":"{}"}}"#,
        hs_key().kid()
    )
}

fn validation() -> Validation {
    Validation::new(ISS, AUD)
}

fn decode_payload<T: DeserializeOwned>(
    payload: &str,
    v: &Validation,
) -> Result<TokenData<T>, Error> {
    let token = sign(&access_header(), payload.as_bytes());
    decode::<T>(&token, &hs_keys(), v, &ManualClock::new(NOW))
}

fn with_depth(v: Validation, max_depth: usize) -> Validation {
    v.with_limits(Limits {
        max_depth,
        ..Limits::default()
    })
}

// ---------------------------------------------------------------------------
// Caller types that swallow their deserializer's errors.

/// Reads every member as a `Value`, keeping `None` where reading failed.
#[derive(Debug, PartialEq)]
struct Lenient(Vec<(String, Option<Value>)>);

impl<'de> Deserialize<'de> for Lenient {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Lenient;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Lenient, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = map.next_key::<String>()? {
                    out.push((k, map.next_value::<Value>().ok()));
                }
                Ok(Lenient(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// A `deserialize_with` that falls back to the default on any error.
fn or_default<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(
    d: D,
) -> Result<T, D::Error> {
    Ok(T::deserialize(d).unwrap_or_default())
}

#[derive(Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    User,
    Api,
    #[default]
    Other,
}

/// Fields that fall back to their default when they cannot be read.
#[derive(Debug, PartialEq, Deserialize)]
struct Loose {
    #[serde(default, deserialize_with = "or_default")]
    sub: Kind,
    #[serde(default, deserialize_with = "or_default")]
    aud: Vec<Kind>,
    #[serde(default, deserialize_with = "or_default")]
    exp: f32,
    #[serde(default, deserialize_with = "or_default")]
    x: Value,
    #[serde(default, deserialize_with = "or_default")]
    k0: Value,
}

// ---------------------------------------------------------------------------
// Errors swallowed by the caller's type.

/// A claim of the wrong type is `InvalidClaim` even when the caller's type
/// ignores the error it was given.
#[test]
fn swallowed_claim_type_errors_are_still_refused() {
    let v = validation().require_exp(false);
    for (payload, claim) in [
        (
            r#"{"iss":"https://auth.example","aud":"api","nbf":"later"}"#,
            "nbf",
        ),
        (
            r#"{"iss":"https://auth.example","aud":"api","iat":[1]}"#,
            "iat",
        ),
        (
            r#"{"iss":"https://auth.example","aud":"api","exp":1e300}"#,
            "exp",
        ),
        (
            r#"{"iss":"https://auth.example","aud":"api","exp":18446744073709551615}"#,
            "exp",
        ),
        (
            r#"{"iss":"https://auth.example","aud":"api","sub":7}"#,
            "sub",
        ),
        (
            r#"{"iss":"https://auth.example","aud":"api","jti":null}"#,
            "jti",
        ),
        (
            r#"{"aud":"api","iss":"https://auth.example","aud":"api"}"#,
            "dup",
        ),
        (r#"{"iss":"https://auth.example","aud":["api",1]}"#, "aud"),
    ] {
        let want = decode_payload::<Value>(payload, &v)
            .map(|_| ())
            .unwrap_err();
        if claim == "dup" {
            assert_eq!(want, Error::DuplicateMember);
        } else {
            assert_eq!(want, Error::InvalidClaim(claim), "{payload}");
        }
        let got = decode_payload::<Lenient>(payload, &v).map(|d| d.claims);
        assert_eq!(got, Err(want), "{payload}");
    }
}

/// An empty container one level past the cap is `TooDeep`, even in a field
/// that falls back to its default.
#[test]
fn swallowed_depth_errors_are_still_refused() {
    for (payload, depth) in [
        (r#"{"iss":"https://auth.example","aud":"api","x":[[]]}"#, 2),
        (r#"{"iss":"https://auth.example","aud":"api","x":[{}]}"#, 2),
        (r#"{"iss":"https://auth.example","aud":"api","x":{}}"#, 1),
        (r#"{"iss":"https://auth.example","aud":"api","x":[]}"#, 1),
    ] {
        let v = with_depth(validation().require_exp(false), depth);
        assert_eq!(
            strict_json::check(payload.as_bytes(), depth),
            Err(Error::TooDeep)
        );
        assert_eq!(
            decode_payload::<Value>(payload, &v).map(|_| ()),
            Err(Error::TooDeep)
        );
        assert_eq!(
            decode_payload::<Loose>(payload, &v).map(|d| d.claims),
            Err(Error::TooDeep),
            "{payload} at depth {depth}"
        );
        // One more level of cap: accepted, and read as serde_json reads it.
        let v = with_depth(validation().require_exp(false), depth + 1);
        let got = decode_payload::<Loose>(payload, &v).unwrap().claims;
        assert_eq!(got, serde_json::from_str::<Loose>(payload).unwrap());
    }
}

/// A typed claim is what `serde_json` reads from the verified payload, even
/// where a strict reader could not present a value and the caller's type
/// would swallow its refusal.
#[test]
fn typed_claims_equal_serde_json_with_lenient_fields() {
    let v = validation();
    for payload in [
        r#"{"iss":"https://auth.example","aud":"api","sub":"user","exp":1700000900}"#,
        r#"{"iss":"https://auth.example","aud":["user","api"],"sub":"api","exp":1700000900.5}"#,
        r#"{"iss":"https://auth.example","aud":["api"],"exp":1700000900.25,"k0":{"a":[1]}}"#,
    ] {
        let data = decode_payload::<Loose>(payload, &v).unwrap();
        assert_eq!(data.claims, serde_json::from_str::<Loose>(payload).unwrap());
        assert_eq!(
            data.registered,
            reference_registered(&serde_json::from_str(payload).unwrap()).unwrap()
        );
    }
    let data = decode_payload::<Loose>(
        r#"{"iss":"https://auth.example","aud":["user","api"],"sub":"user","exp":1700000900}"#,
        &v,
    )
    .unwrap();
    assert_eq!(data.claims.sub, Kind::User);
    assert_eq!(data.claims.aud, [Kind::User, Kind::Api]);
}

/// `f32` claims read as `serde_json` reads them. (With `serde_json`'s
/// `float_roundtrip` feature an `f32` is parsed straight from the text; this
/// value rounds differently through an `f64`.)
#[test]
fn f32_claims_equal_serde_json() {
    #[derive(Debug, PartialEq, Deserialize)]
    struct Floats {
        iat: f32,
        exp: f32,
        k0: f32,
    }
    let v = validation();
    let payload = r#"{"iss":"https://auth.example","aud":"api","exp":1700000900,"iat":1.00000017881393432617187499,"k0":1.00000017881393432617187499}"#;
    let data = decode_payload::<Floats>(payload, &v).unwrap();
    assert_eq!(
        data.claims,
        serde_json::from_str::<Floats>(payload).unwrap()
    );
    assert_eq!(data.registered.iat, Some(1));
}

// ---------------------------------------------------------------------------
// serde_json's reserved member names.

/// Member names with `serde_json`'s private prefix are refused anywhere: in
/// the payload whatever the caller's type, in `json::check`, in the
/// dangerous reader, and in the header.
#[test]
fn serde_json_reserved_member_names_are_refused() {
    let bad = Error::Malformed("reserved JSON member name");
    let v = validation();
    for inner in [
        r#"{"$serde_json::private::RawValue":"{\"a\":1,\"a\":2}"}"#,
        r#"{"$serde_json::private::Number":"1e999999"}"#,
        r#"[{"b":1,"$serde_json::private::RawValue":"[[[[]]]]"}]"#,
        r#"{"\u0024serde_json::private::RawValue":"1"}"#,
    ] {
        let payload =
            format!(r#"{{"iss":"https://auth.example","aud":"api","exp":1700000900,"x":{inner}}}"#);
        assert_eq!(
            decode_payload::<Value>(&payload, &v).map(|d| d.claims),
            Err(bad.clone()),
            "{payload}"
        );
        assert_eq!(
            decode_payload::<BTreeMap<String, Value>>(&payload, &v).map(|d| d.claims),
            Err(bad.clone())
        );
        assert_eq!(
            decode_payload::<Lenient>(&payload, &v).map(|d| d.claims),
            Err(bad.clone())
        );
        assert_eq!(strict_json::check(payload.as_bytes(), 32), Err(bad.clone()));
        let token = sign(&access_header(), payload.as_bytes());
        assert_eq!(
            dangerous::decode_unverified(&token, &Limits::default()).map(|_| ()),
            Err(bad.clone())
        );
        let header = format!(r#"{{"alg":"HS256","kid":"review","x":{inner}}}"#);
        let token = sign(&header, br#"{}"#);
        assert_eq!(
            UnverifiedToken::parse(&token, &Limits::default()).map(|_| ()),
            Err(bad.clone())
        );
    }
    // At the top level too, where a `Value` would be the string's document.
    let payload = r#"{"$serde_json::private::RawValue":"{\"iss\":\"https://auth.example\"}"}"#;
    assert_eq!(
        decode_payload::<Value>(payload, &v).map(|d| d.claims),
        Err(bad)
    );
    // Other names starting with `$` are ordinary.
    let payload =
        r#"{"iss":"https://auth.example","aud":"api","exp":1700000900,"$serde_json":1,"$ref":"x"}"#;
    assert!(decode_payload::<Value>(payload, &v).is_ok());
}

// ---------------------------------------------------------------------------
// The array form of `aud` and the depth cap.

/// `aud` as an array is one level of nesting, like any array: the cap
/// applies to it exactly as `json::check` applies it.
#[test]
fn aud_array_counts_toward_the_depth_cap() {
    let payload = r#"{"iss":"https://auth.example","aud":["api"],"exp":1700000900}"#;
    for depth in 0..4 {
        let want = strict_json::check(payload.as_bytes(), depth).map(|()| true);
        let v = with_depth(validation(), depth);
        let got = decode_payload::<Value>(payload, &v).map(|_| true);
        let token = sign(&access_header(), payload.as_bytes());
        // Below depth 1 the header is refused first.
        if depth >= 1 {
            assert_eq!(got, want, "depth {depth}");
            assert_eq!(
                decode_payload::<Loose>(payload, &v).map(|_| true),
                want,
                "depth {depth}"
            );
            let verified = UnverifiedToken::parse(&token, &v.limits)
                .unwrap()
                .verify_with(&hs_keys())
                .unwrap();
            assert_eq!(
                verified.validate::<Value>(&v, NOW).map(|_| true),
                want,
                "depth {depth}"
            );
        } else {
            assert!(got.is_err());
        }
    }
    assert_eq!(
        strict_json::check(payload.as_bytes(), 1),
        Err(Error::TooDeep)
    );
    assert_eq!(
        decode_payload::<Value>(payload, &with_depth(validation(), 1)).map(|_| ()),
        Err(Error::TooDeep)
    );
    assert!(decode_payload::<Value>(payload, &with_depth(validation(), 2)).is_ok());
}

// ---------------------------------------------------------------------------
// Differential: strict JSON against a reference that records every member
// name of every object.

/// What the reference saw in a document.
#[derive(Debug, Default)]
struct Seen {
    max_depth: usize,
    duplicate: bool,
    reserved: bool,
}

struct RefSeed<'a> {
    depth: usize,
    seen: &'a RefCell<Seen>,
}

impl<'de> DeserializeSeed<'de> for RefSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RefSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let depth = self.enter();
        while seq
            .next_element_seed(RefSeed {
                depth,
                seen: self.seen,
            })?
            .is_some()
        {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let depth = self.enter();
        let mut names = HashSet::new();
        while let Some(name) = map.next_key::<String>()? {
            let mut seen = self.seen.borrow_mut();
            seen.reserved |= name.starts_with("$serde_json::private::");
            seen.duplicate |= !names.insert(name);
            drop(seen);
            map.next_value_seed(RefSeed {
                depth,
                seen: self.seen,
            })?;
        }
        Ok(())
    }
}

impl RefSeed<'_> {
    fn enter(&self) -> usize {
        let depth = self.depth + 1;
        let mut seen = self.seen.borrow_mut();
        seen.max_depth = seen.max_depth.max(depth);
        depth
    }
}

/// The reference strict rules: `Ok` for well-formed JSON with no repeated
/// member name in any object, no reserved name, and at most `cap` levels.
fn reference_strict(bytes: &[u8], cap: usize) -> Result<(), &'static str> {
    let seen = RefCell::new(Seen::default());
    let mut de = serde_json::Deserializer::from_slice(bytes);
    RefSeed {
        depth: 0,
        seen: &seen,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end())
    .map_err(|_| "malformed")?;
    let seen = seen.into_inner();
    if seen.duplicate {
        Err("duplicate")
    } else if seen.reserved {
        Err("reserved")
    } else if seen.max_depth > cap {
        Err("too deep")
    } else {
        Ok(())
    }
}

/// True if the document breaks exactly one of the reference's rules.
fn single_violation(bytes: &[u8], cap: usize) -> bool {
    let seen = RefCell::new(Seen::default());
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let ok = RefSeed {
        depth: 0,
        seen: &seen,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end())
    .is_ok();
    let seen = seen.into_inner();
    ok && [seen.duplicate, seen.reserved, seen.max_depth > cap]
        .iter()
        .filter(|b| **b)
        .count()
        == 1
}

/// The registered claims of a payload, by the documented rules, read from
/// `serde_json`'s own parse of it.
fn reference_registered(payload: &Value) -> Result<RegisteredClaims, Error> {
    let obj = payload.as_object().ok_or(Error::Malformed("payload"))?;
    let string = |name: &'static str| -> Result<Option<String>, Error> {
        match obj.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Error::InvalidClaim(name)),
        }
    };
    let date = |name: &'static str| -> Result<Option<i64>, Error> {
        let Some(v) = obj.get(name) else {
            return Ok(None);
        };
        let n = v.as_number().ok_or(Error::InvalidClaim(name))?;
        if let Some(i) = n.as_i64() {
            return Ok(Some(i));
        }
        if n.is_u64() {
            return Err(Error::InvalidClaim(name));
        }
        match n.as_f64() {
            Some(f) if f.is_finite() && f.abs() < 9.0e18 => Ok(Some(f.floor() as i64)),
            _ => Err(Error::InvalidClaim(name)),
        }
    };
    let aud = match obj.get("aud") {
        None => None,
        Some(Value::String(s)) => Some(Audience::One(s.clone())),
        Some(Value::Array(items)) => Some(Audience::Many(
            items
                .iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or(Error::InvalidClaim("aud"))?,
        )),
        Some(_) => return Err(Error::InvalidClaim("aud")),
    };
    Ok(RegisteredClaims {
        iss: string("iss")?,
        sub: string("sub")?,
        aud,
        exp: date("exp")?,
        nbf: date("nbf")?,
        iat: date("iat")?,
        jti: string("jti")?,
    })
}

/// The exact meaning of `decode::<T>`: the strict rules over the whole
/// payload, registered claims by the documented rules, validation, and then
/// `T` as `serde_json` reads the same bytes.
fn reference_decode<T: DeserializeOwned>(
    payload: &[u8],
    header: &Header,
    v: &Validation,
) -> Option<(RegisteredClaims, T)> {
    reference_strict(payload, v.limits.max_depth).ok()?;
    let value: Value = serde_json::from_slice(payload).ok()?;
    let registered = reference_registered(&value).ok()?;
    v.check(header, &registered, NOW).ok()?;
    let claims = serde_json::from_slice(payload).ok()?;
    Some((registered, claims))
}

/// A JSON document to render.
#[derive(Debug, Clone)]
enum J {
    /// Literal JSON text (some of it invalid on purpose).
    Raw(&'static str),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

/// A tiny deterministic generator for rendering choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn one_in(&mut self, n: u64) -> bool {
        self.next() % n == 0
    }
}

/// Writes `s` as a JSON string, escaping characters at random (`\u` in
/// either case, surrogate pairs, `\/`).
fn render_str(s: &str, rng: &mut Rng, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' if rng.one_in(2) => out.push_str("\\/"),
            c if u32::from(c) < 0x20 || rng.one_in(3) => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    if rng.one_in(2) {
                        write!(out, "\\u{u:04x}").unwrap();
                    } else {
                        write!(out, "\\u{u:04X}").unwrap();
                    }
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn render(j: &J, rng: &mut Rng, out: &mut String) {
    let ws = |rng: &mut Rng, out: &mut String| {
        if rng.one_in(6) {
            out.push_str([" ", "\n", "\t ", "\r\n"][(rng.next() % 4) as usize]);
        }
    };
    match j {
        J::Raw(text) => out.push_str(text),
        J::Str(s) => render_str(s, rng, out),
        J::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                ws(rng, out);
                render(item, rng, out);
            }
            out.push(']');
        }
        J::Obj(members) => {
            out.push('{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                ws(rng, out);
                render_str(k, rng, out);
                ws(rng, out);
                out.push(':');
                render(v, rng, out);
            }
            out.push('}');
        }
    }
}

fn member_name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (0..40u32).prop_map(|i| format!("k{i}")),
        1 => prop::sample::select(vec![
            "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "a", "A", "", "\u{e9}",
            "e\u{301}", "\u{1f600}", "a/b", "q\"t", "b\\s", "\u{7f}", "$ref",
            "$serde_json::private::RawValue", "$serde_json::private::Number",
        ])
        .prop_map(str::to_owned),
    ]
}

fn leaf() -> impl Strategy<Value = J> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "null", "true", "false", "0", "-0", "1", "-1", "1700000000", "1700000900",
            "1.5", "-2.5e3", "1E2", "1e-7", "18446744073709551615", "18446744073709551616",
            "-9223372036854775808", "9.3e18",
        ])
        .prop_map(J::Raw),
        // Invalid JSON, rarely.
        1 => prop::sample::select(vec!["1E400", "\"\\ud800\"", "01", "tru", "[1,]", "{,}"])
            .prop_map(J::Raw),
        4 => prop_oneof![
            prop::sample::select(vec!["api", "user", "https://auth.example", "", "\u{e9}\u{1f600}"])
                .prop_map(str::to_owned),
            ".{0,8}",
        ]
        .prop_map(J::Str),
    ]
}

/// An object built from `members`: names made unique, then, sometimes, one
/// name repeated (with its own random escapes) at a random place.
fn object(members: impl Strategy<Value = Vec<(String, J)>>) -> impl Strategy<Value = J> {
    let dup = prop_oneof![
        6 => Just(None),
        1 => (any::<prop::sample::Index>(), any::<prop::sample::Index>()).prop_map(Some),
    ];
    (members, dup).prop_map(|(members, dup)| {
        let mut names = HashSet::new();
        let mut members: Vec<(String, J)> = members
            .into_iter()
            .filter(|(k, _)| names.insert(k.clone()))
            .collect();
        if let (Some((from, to)), false) = (dup, members.is_empty()) {
            let (k, v) = members[from.index(members.len())].clone();
            members.insert(to.index(members.len() + 1), (k, v));
        }
        J::Obj(members)
    })
}

fn value() -> impl Strategy<Value = J> {
    leaf().prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(J::Arr),
            object(vec((member_name(), inner), 0..6)),
        ]
    })
}

/// A payload: the registered claims a validation needs (in random forms),
/// then random members, up to enough to outgrow the inline name list.
fn payload() -> impl Strategy<Value = J> {
    let iss = Just(J::Str(ISS.to_owned()));
    let aud = prop_oneof![
        Just(J::Str(AUD.to_owned())),
        Just(J::Arr(vec![J::Str("x".into()), J::Str(AUD.into())])),
        Just(J::Arr(vec![J::Str(AUD.into()), J::Raw("1")])),
    ];
    let exp = prop::sample::select(vec![
        "1700000900",
        "1700000900.5",
        "1.7000009e9",
        "1699999000",
        "\"1700000900\"",
    ])
    .prop_map(J::Raw);
    (iss, aud, exp, vec((member_name(), value()), 0..24)).prop_flat_map(|(iss, aud, exp, rest)| {
        let mut members = vec![
            ("iss".to_owned(), iss),
            ("aud".to_owned(), aud),
            ("exp".to_owned(), exp),
        ];
        members.extend(rest);
        object(Just(members))
    })
}

fn trailer() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        12 => Just(""),
        1 => prop::sample::select(vec![" ", "\n", " x", "}", "]", ",", "{}", "\0", "/"]),
    ]
}

#[derive(Debug, PartialEq, Deserialize)]
struct Flat {
    iss: String,
    aud: Audience,
    #[serde(default)]
    sub: Option<String>,
    #[serde(flatten)]
    rest: BTreeMap<String, Value>,
}

/// A plain struct: unknown members are skipped (and must still be checked).
#[derive(Debug, PartialEq, Deserialize)]
struct Plain {
    iss: String,
    aud: Audience,
    exp: f64,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    k0: Option<Value>,
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(untagged)]
enum Either {
    Typed {
        iss: String,
        aud: String,
        exp: i64,
        #[serde(default)]
        k0: Option<Vec<Value>>,
    },
    Other(BTreeMap<String, Value>),
}

/// `decode::<T>` gives exactly what [`reference_decode`] gives.
fn agrees<T: DeserializeOwned + PartialEq + Debug>(
    token: &str,
    payload: &[u8],
    v: &Validation,
) -> Result<(), TestCaseError> {
    let header = UnverifiedToken::parse(token, &v.limits);
    let want = match &header {
        Ok(h) => reference_decode::<T>(payload, h.header(), v),
        Err(_) => None,
    };
    let got = decode::<T>(token, &hs_keys(), v, &ManualClock::new(NOW))
        .ok()
        .map(|d| (d.registered, d.claims));
    prop_assert_eq!(
        &got,
        &want,
        "{} for {}",
        std::any::type_name::<T>(),
        String::from_utf8_lossy(payload)
    );
    Ok(())
}

proptest! {
    #![proptest_config(config(512))]

    /// `json::check` accepts exactly the documents the reference accepts,
    /// at every depth cap, whatever the escapes, spacing and trailing text.
    #[test]
    fn strict_json_matches_reference(
        doc in value(),
        seed in any::<u64>(),
        trail in trailer(),
        cap in 0usize..8,
    ) {
        let mut text = String::new();
        render(&doc, &mut Rng(seed | 1), &mut text);
        text.push_str(trail);
        let want = reference_strict(text.as_bytes(), cap);
        let got = strict_json::check(text.as_bytes(), cap);
        prop_assert_eq!(got.is_ok(), want.is_ok(), "{} at cap {}: {:?}", text, cap, want);
        let expected = match want {
            Ok(()) => None,
            Err("duplicate") => Some(Error::DuplicateMember),
            Err("reserved") => Some(Error::Malformed("reserved JSON member name")),
            Err("too deep") => Some(Error::TooDeep),
            // Malformed text may also break a rule before the parser sees
            // the fault.
            Err(_) => None,
        };
        // With one rule broken, that rule is the reason.
        if let (Some(e), Err(g)) = (expected, &got) {
            if single_violation(text.as_bytes(), cap) {
                prop_assert_eq!(g, &e, "{}", text);
            }
        }
    }

    /// Through a signed token, the header and the payload follow the same
    /// rules, and the claims handed out (registered and typed, for several
    /// kinds of caller type) are exactly the reference's.
    #[test]
    fn strict_tokens_match_reference(
        doc in payload(),
        header_extra in proptest::option::of(value()),
        seed in any::<u64>(),
        trail in trailer(),
        cap in 1usize..8,
    ) {
        let mut rng = Rng(seed | 1);
        let mut body = String::new();
        render(&doc, &mut rng, &mut body);
        body.push_str(trail);
        let mut header = format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{}""#, hs_key().kid());
        if let Some(extra) = &header_extra {
            header.push_str(",\"x\":");
            render(extra, &mut rng, &mut header);
        }
        header.push('}');
        let token = sign(&header, body.as_bytes());
        let v = with_depth(validation(), cap);

        // The header alone.
        let parsed = UnverifiedToken::parse(&token, &v.limits);
        prop_assert_eq!(
            parsed.is_ok(),
            reference_strict(header.as_bytes(), cap).is_ok(),
            "header {}", header
        );
        // The dangerous reader applies the same rules to both.
        prop_assert_eq!(
            dangerous::decode_unverified(&token, &v.limits).is_ok(),
            parsed.is_ok() && reference_strict(body.as_bytes(), cap).is_ok()
        );

        let payload = body.as_bytes();
        agrees::<Value>(&token, payload, &v)?;
        agrees::<BTreeMap<String, Value>>(&token, payload, &v)?;
        agrees::<Plain>(&token, payload, &v)?;
        agrees::<Flat>(&token, payload, &v)?;
        agrees::<Either>(&token, payload, &v)?;
        agrees::<Lenient>(&token, payload, &v)?;
        agrees::<Loose>(&token, payload, &v)?;
    }
}

proptest! {
    #![proptest_config(config(1024))]

    /// Objects around and past the sixteen names kept inline: a repeat of
    /// any member at any later place is found, in `json::check` and in the
    /// typed path of `decode` alike.
    #[test]
    fn repeats_in_large_objects_are_found(
        n in 1usize..48,
        from in any::<prop::sample::Index>(),
        to in any::<prop::sample::Index>(),
        repeat in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let mut members: Vec<(String, J)> = (0..n)
            .map(|i| (format!("m{i}"), J::Raw("1")))
            .collect();
        if repeat {
            let (k, _) = members[from.index(n)].clone();
            members.insert(to.index(n + 1), (k, J::Arr(vec![])));
        }
        let mut text = String::new();
        render(&J::Obj(members.clone()), &mut Rng(seed | 1), &mut text);
        let want = reference_strict(text.as_bytes(), 32);
        prop_assert_eq!(want.is_ok(), !repeat);
        prop_assert_eq!(
            strict_json::check(text.as_bytes(), 32),
            want.map_err(|_| Error::DuplicateMember)
        );
        // The same members after the registered claims, through a token.
        members.splice(0..0, [
            ("iss".to_owned(), J::Str(ISS.to_owned())),
            ("aud".to_owned(), J::Str(AUD.to_owned())),
            ("exp".to_owned(), J::Raw("1700000900")),
        ]);
        let mut body = String::new();
        render(&J::Obj(members), &mut Rng(seed | 1), &mut body);
        let token = sign(&access_header(), body.as_bytes());
        let v = validation();
        agrees::<Value>(&token, body.as_bytes(), &v)?;
        agrees::<Lenient>(&token, body.as_bytes(), &v)?;
        agrees::<Plain>(&token, body.as_bytes(), &v)?;
        let got = decode::<BTreeMap<String, Value>>(&token, &hs_keys(), &v, &ManualClock::new(NOW));
        prop_assert_eq!(got.map(|_| ()).map_err(|e| e == Error::DuplicateMember), if repeat { Err(true) } else { Ok(()) });
    }
}
