//! Strict JSON: one pass that refuses duplicate member names and nesting
//! deeper than a cap, while the caller picks out the members it knows.
//!
//! `serde_json` alone keeps the last of two duplicate members, and allows 128
//! levels of nesting. A JOSE header or claim set must be unambiguous, so every
//! object in it goes through `StrictObject` here.

use crate::error::Error;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;

/// Where the precise reason for a failure is left, since serde's own error
/// type only carries text.
pub(crate) type Reason<'r> = &'r Cell<Option<Error>>;

pub(crate) fn fail<E: de::Error>(reason: Reason<'_>, err: Error) -> E {
    // Keep the first, most specific reason.
    let prev = reason.take();
    reason.set(Some(prev.unwrap_or(err)));
    E::custom("strict JSON check failed")
}

/// Validates any JSON value below a given depth: no duplicate members anywhere,
/// no nesting beyond `max`.
#[derive(Clone, Copy)]
pub(crate) struct Strict<'r> {
    pub depth: usize,
    pub max: usize,
    pub reason: Reason<'r>,
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
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
        let inner = self.nested::<A::Error>()?;
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = self.nested::<A::Error>()?;
        let mut seen = Keys::default();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            seen.insert::<A::Error>(key, self.reason)?;
            map.next_value_seed(inner)?;
        }
        Ok(())
    }
}

impl Strict<'_> {
    /// The checker for a container's contents; `TooDeep` past the cap.
    pub(crate) fn nested<E: de::Error>(self) -> Result<Self, E> {
        if self.depth >= self.max {
            return Err(fail(self.reason, Error::TooDeep));
        }
        Ok(Strict {
            depth: self.depth + 1,
            ..self
        })
    }
}

/// The member names seen so far in one object.
///
/// The first [`Keys::INLINE`] names live inline and are compared only when a
/// 64-bit filter of their hashes says a repeat is possible; larger objects
/// move to a hash set, so that many members cost linear time, not quadratic.
#[derive(Default)]
pub(crate) struct Keys<'de> {
    filter: u64,
    len: usize,
    inline: [Cow<'de, str>; Keys::INLINE],
    set: HashSet<Cow<'de, str>>,
}

/// The prefix of the member names that `serde_json` reserves for its own
/// tokens. With its `raw_value` feature (or `arbitrary_precision`), a
/// `serde_json::Value` reads an object whose first member has such a name as
/// the JSON text (or number) in that member's string, which no check here
/// would have seen: a typed view different from the document.
const RESERVED: &str = "$serde_json::private::";

impl<'de> Keys<'de> {
    const INLINE: usize = 16;

    /// A cheap hash of a short name (FxHash-style), for the filter only.
    fn filter_bit(key: &str) -> u64 {
        let mut h = key.len() as u64;
        for b in key.bytes() {
            h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
        1 << (h >> 58)
    }

    pub(crate) fn insert<E: de::Error>(
        &mut self,
        key: Cow<'de, str>,
        reason: Reason<'_>,
    ) -> Result<(), E> {
        if key.starts_with(RESERVED) {
            return Err(fail(reason, Error::Malformed("reserved JSON member name")));
        }
        if self.len < Self::INLINE {
            let bit = Self::filter_bit(&key);
            if self.filter & bit != 0 && self.inline[..self.len].contains(&key) {
                return Err(fail(reason, Error::DuplicateMember));
            }
            self.filter |= bit;
            self.inline[self.len] = key;
            self.len += 1;
            return Ok(());
        }
        if self.set.is_empty() {
            self.set.extend(self.inline.iter_mut().map(std::mem::take));
        }
        if !self.set.insert(key) {
            return Err(fail(reason, Error::DuplicateMember));
        }
        Ok(())
    }
}

/// Reads an object key, borrowing it when it has no escapes.
pub(crate) struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(CowStr)
    }
}

/// A string, borrowed from the input where possible.
pub(crate) struct CowStr;

impl<'de> Visitor<'de> for CowStr {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

impl<'de> DeserializeSeed<'de> for CowStr {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

/// A top-level object visitor: the caller's `Fields` receives each known
/// member; unknown members are validated by [`Strict`] and skipped.
pub(crate) trait Fields<'de>: Sized {
    /// Handles `key` if it is known, reading its value from `map` and returning
    /// `true`; returns `false` for members it does not know.
    fn field<A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
        strict: Strict<'_>,
    ) -> Result<bool, A::Error>;
}

pub(crate) struct StrictObject<'r, F> {
    pub fields: F,
    pub max: usize,
    pub reason: Reason<'r>,
}

impl<'de, F: Fields<'de>> Visitor<'de> for StrictObject<'_, F> {
    type Value = F;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<F, A::Error> {
        let top = Strict {
            depth: 0,
            max: self.max,
            reason: self.reason,
        };
        let inner = top.nested::<A::Error>()?;
        let mut seen = Keys::default();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if !self.fields.field(&key, &mut map, inner)? {
                map.next_value_seed(inner)?;
            }
            seen.insert::<A::Error>(key, self.reason)?;
        }
        Ok(self.fields)
    }
}

/// Parses `bytes` as one strict JSON object handled by `fields`.
/// `what` names the document in a `Malformed` error.
pub(crate) fn parse_object<'de, F: Fields<'de>>(
    bytes: &'de [u8],
    fields: F,
    max_depth: usize,
    what: &'static str,
) -> Result<F, Error> {
    let reason = Cell::new(None);
    let visitor = StrictObject {
        fields,
        max: max_depth,
        reason: &reason,
    };
    // Read as bytes, serde_json checks UTF-8 string by string. A document
    // that is valid UTF-8 as a whole reads the same as text, with one check;
    // any other keeps the byte reader and its exact failure.
    let out = match std::str::from_utf8(bytes) {
        Ok(text) => object_from(serde_json::Deserializer::from_str(text), visitor),
        Err(_) => object_from(serde_json::Deserializer::from_slice(bytes), visitor),
    };
    match out {
        Ok(f) => Ok(f),
        Err(_) => Err(reason.take().unwrap_or(Error::Malformed(what))),
    }
}

fn object_from<'de, R: serde_json::de::Read<'de>, F: Fields<'de>>(
    mut de: serde_json::Deserializer<R>,
    visitor: StrictObject<'_, F>,
) -> Result<F, serde_json::Error> {
    let f = de.deserialize_map(visitor)?;
    de.end()?;
    Ok(f)
}

/// Validates a whole JSON document strictly (duplicates, depth), keeping nothing.
pub fn check(bytes: &[u8], max_depth: usize) -> Result<(), Error> {
    let reason = Cell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let seed = Strict {
        depth: 0,
        max: max_depth,
        reason: &reason,
    };
    match seed.deserialize(&mut de).and_then(|()| de.end()) {
        Ok(()) => Ok(()),
        Err(_) => Err(reason.take().unwrap_or(Error::Malformed("JSON"))),
    }
}

/// Reads a value whose type is checked; a wrong type becomes `err`.
pub(crate) fn typed<'de, T: de::Deserialize<'de>, A: MapAccess<'de>>(
    map: &mut A,
    reason: Reason<'_>,
    err: Error,
) -> Result<T, A::Error> {
    map.next_value::<T>().map_err(|_| fail(reason, err))
}

/// Skips a value after validating it.
#[allow(dead_code)]
pub(crate) fn skip<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<IgnoredAny>().map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_and_depth() {
        assert_eq!(check(br#"{"a":1,"b":{"a":2}}"#, 32), Ok(()));
        // Past the inline names, duplicates are still found, in either part.
        for dup in [0, 7, 15, 16, 17, 39] {
            let mut doc: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
            doc.push(format!("\"k{dup}\":0"));
            let doc = format!("{{{}}}", doc.join(","));
            assert_eq!(check(doc.as_bytes(), 32), Err(Error::DuplicateMember));
            let doc = doc.replacen(&format!("\"k{dup}\":0"), "\"other\":0", 1);
            assert_eq!(check(doc.as_bytes(), 32), Ok(()));
        }
        assert_eq!(check(br#"{"a":1,"a":2}"#, 32), Err(Error::DuplicateMember));
        assert_eq!(
            check(br#"{"a":1,"\u0061":2}"#, 32),
            Err(Error::DuplicateMember)
        );
        assert_eq!(
            check(br#"{"x":{"a":1,"a":2}}"#, 32),
            Err(Error::DuplicateMember)
        );
        assert_eq!(check(br#"[[[1]]]"#, 3), Ok(()));
        assert_eq!(check(br#"[[[1]]]"#, 2), Err(Error::TooDeep));
        assert_eq!(check(br#"{"a":1} x"#, 32), Err(Error::Malformed("JSON")));
    }
}
