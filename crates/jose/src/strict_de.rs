//! One strict pass for verified claims: the caller's type is deserialized
//! through a wrapper that enforces the same rules as [`crate::json`] (no
//! duplicate members anywhere, nesting at most the cap) and reads the
//! registered claims on the way past.
//!
//! This is only a fast path. Whenever it fails, for whatever reason, or meets
//! something it does not vouch for (such as `serde_json`'s raw-value tokens),
//! the caller falls back to the two passes of [`RegisteredClaims::parse`] and
//! `serde_json::from_slice`, which give the precise error. So the wrapper may
//! be stricter than those two passes, never laxer; and when it succeeds its
//! results equal theirs: the registered claims are read with the same rules,
//! and the caller's type sees the values exactly as `serde_json` presents them.
//!
//! A caller's type may swallow an error its deserializer returned (a
//! "default on error" field, a lenient visitor) and carry on. So whatever this
//! wrapper refuses, and any error that passes through it, is also recorded in
//! `Ctx::declined`, and a pass that saw one is never used, even when it
//! completes.

use crate::claims::{Audience, RegisteredClaims};
use crate::json::{CowStr, KeySeed, Keys};
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::fmt;

/// Parses `payload` as a strict JSON object into `T` and the registered
/// claims, in one pass. `None` means "use the exact two-pass path".
pub(crate) fn parse_claims<T: DeserializeOwned>(
    payload: &[u8],
    max_depth: usize,
) -> Option<(RegisteredClaims, T)> {
    let ctx = Ctx {
        max: max_depth,
        registered: RefCell::new(RegisteredClaims::default()),
        saw_top_map: Cell::new(false),
        declined: Cell::new(false),
    };
    // Valid UTF-8 as a whole reads the same as bytes checked string by
    // string (see `json::parse_object`); anything else takes the slow path.
    let text = std::str::from_utf8(payload).ok()?;
    let mut de = serde_json::Deserializer::from_str(text);
    let value = T::deserialize(Sd {
        de: &mut de,
        depth: 0,
        top: true,
        ctx: &ctx,
    })
    .ok()?;
    de.end().ok()?;
    if !ctx.saw_top_map.get() || ctx.declined.get() {
        return None;
    }
    Some((ctx.registered.into_inner(), value))
}

struct Ctx {
    max: usize,
    registered: RefCell<RegisteredClaims>,
    saw_top_map: Cell<bool>,
    /// Set by every refusal of the wrapper and every error that passes
    /// through it, even one the caller's type goes on to swallow.
    declined: Cell<bool>,
}

impl Ctx {
    /// A refusal: the pass is declined whatever the caller's type does with
    /// the error.
    fn bail<E: de::Error>(&self) -> E {
        self.declined.set(true);
        E::custom("strict fast path declined")
    }

    /// Records an error on its way back to the caller's type.
    fn watch<T, E>(&self, r: Result<T, E>) -> Result<T, E> {
        if r.is_err() {
            self.declined.set(true);
        }
        r
    }
}

/// The wrapped deserializer for one value at `depth` (0: the document).
struct Sd<'c, D> {
    de: D,
    depth: usize,
    top: bool,
    ctx: &'c Ctx,
}

impl<'c, D> Sd<'c, D> {
    fn visitor<V>(&self, v: V) -> Sv<'c, V> {
        Sv {
            v,
            depth: self.depth,
            top: self.top,
            ctx: self.ctx,
        }
    }
}

macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
                let v = self.visitor(visitor);
                self.ctx.watch(self.de.$method($($arg,)* v))
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Sd<'_, D> {
    type Error = D::Error;

    forward! {
        deserialize_any();
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_option();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        // `serde_json`'s private tokens (raw values, arbitrary-precision
        // numbers) hand over text this wrapper would not see.
        if name.starts_with("$serde_json") {
            return Err(self.ctx.bail());
        }
        let v = self.visitor(visitor);
        self.ctx.watch(self.de.deserialize_newtype_struct(name, v))
    }

    /// Skipped values are still checked: visit them in full.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        let v = self.visitor(visitor);
        self.ctx.watch(self.de.deserialize_any(v))
    }

    fn is_human_readable(&self) -> bool {
        self.de.is_human_readable()
    }
}

/// The wrapped visitor: checks depth on containers and wraps their access.
struct Sv<'c, V> {
    v: V,
    depth: usize,
    top: bool,
    ctx: &'c Ctx,
}

impl<'c, V> Sv<'c, V> {
    fn scalar<E: de::Error>(&self) -> Result<(), E> {
        if self.top {
            Err(self.ctx.bail())
        } else {
            Ok(())
        }
    }

    fn nested<E: de::Error>(&self) -> Result<usize, E> {
        if self.depth >= self.ctx.max {
            Err(self.ctx.bail())
        } else {
            Ok(self.depth + 1)
        }
    }
}

macro_rules! scalar {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            fn $method<E: de::Error>(self, $($arg: $ty),*) -> Result<Self::Value, E> {
                self.scalar::<E>()?;
                self.v.$method($($arg),*)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Sv<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.v.expecting(f)
    }

    scalar! {
        visit_bool(v: bool);
        visit_i8(v: i8);
        visit_i16(v: i16);
        visit_i32(v: i32);
        visit_i64(v: i64);
        visit_i128(v: i128);
        visit_u8(v: u8);
        visit_u16(v: u16);
        visit_u32(v: u32);
        visit_u64(v: u64);
        visit_u128(v: u128);
        visit_f32(v: f32);
        visit_f64(v: f64);
        visit_char(v: char);
        visit_str(v: &str);
        visit_borrowed_str(v: &'de str);
        visit_string(v: String);
        visit_bytes(v: &[u8]);
        visit_borrowed_bytes(v: &'de [u8]);
        visit_byte_buf(v: Vec<u8>);
        visit_none();
        visit_unit();
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.v.visit_some(Sd {
            de: d,
            depth: self.depth,
            top: self.top,
            ctx: self.ctx,
        })
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.v.visit_newtype_struct(Sd {
            de: d,
            depth: self.depth,
            top: self.top,
            ctx: self.ctx,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.scalar::<A::Error>()?;
        let depth = self.nested::<A::Error>()?;
        self.v.visit_seq(Ss {
            seq,
            depth,
            ctx: self.ctx,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let depth = self.nested::<A::Error>()?;
        if self.top && self.ctx.saw_top_map.replace(true) {
            return Err(self.ctx.bail());
        }
        self.v.visit_map(Sm {
            map,
            depth,
            keys: Keys::default(),
            top: self.top,
            pending: None,
            ctx: self.ctx,
        })
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.scalar::<A::Error>()?;
        // Conservative: an enum in object form is one more level.
        let depth = self.nested::<A::Error>()?;
        self.v.visit_enum(Se {
            data,
            depth,
            ctx: self.ctx,
        })
    }
}

/// A seed whose value is read through the wrapper.
struct Sseed<'c, S> {
    seed: S,
    depth: usize,
    ctx: &'c Ctx,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Sseed<'_, S> {
    type Value = S::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(Sd {
            de: d,
            depth: self.depth,
            top: false,
            ctx: self.ctx,
        })
    }
}

struct Ss<'c, A> {
    seq: A,
    depth: usize,
    ctx: &'c Ctx,
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Ss<'_, A> {
    type Error = A::Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.ctx.watch(self.seq.next_element_seed(Sseed {
            seed,
            depth: self.depth,
            ctx: self.ctx,
        }))
    }
    fn size_hint(&self) -> Option<usize> {
        self.seq.size_hint()
    }
}

/// A registered claim at the top level of the payload.
#[derive(Clone, Copy)]
enum Reg {
    Iss,
    Sub,
    Jti,
    Aud,
    Exp,
    Nbf,
    Iat,
}

impl Reg {
    fn of(key: &str) -> Option<Reg> {
        Some(match key {
            "iss" => Reg::Iss,
            "sub" => Reg::Sub,
            "jti" => Reg::Jti,
            "aud" => Reg::Aud,
            "exp" => Reg::Exp,
            "nbf" => Reg::Nbf,
            "iat" => Reg::Iat,
            _ => return None,
        })
    }
}

struct Sm<'c, 'de, A> {
    map: A,
    depth: usize,
    keys: Keys<'de>,
    top: bool,
    pending: Option<Reg>,
    ctx: &'c Ctx,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Sm<'_, 'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let key = self.next_checked_key();
        let Some(key) = self.ctx.watch(key)? else {
            return Ok(None);
        };
        self.ctx
            .watch(seed.deserialize(Replay::<A::Error>::key(key, self.ctx)))
            .map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        let value = match self.pending.take() {
            None => self.map.next_value_seed(Sseed {
                seed,
                depth: self.depth,
                ctx: self.ctx,
            }),
            Some(reg) => self.map.next_value_seed(Tee {
                seed,
                reg,
                depth: self.depth,
                ctx: self.ctx,
            }),
        };
        self.ctx.watch(value)
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> Sm<'_, 'de, A> {
    /// The next member name, refused if it repeats one of this object.
    fn next_checked_key(&mut self) -> Result<Option<Cow<'de, str>>, A::Error> {
        let Some(key) = self.map.next_key_seed(KeySeed)? else {
            return Ok(None);
        };
        self.pending = if self.top { Reg::of(&key) } else { None };
        let reason = Cell::new(None);
        self.keys.insert::<A::Error>(key.clone(), &reason)?;
        Ok(Some(key))
    }
}

struct Se<'c, A> {
    data: A,
    depth: usize,
    ctx: &'c Ctx,
}

impl<'c, 'de, A: EnumAccess<'de>> EnumAccess<'de> for Se<'c, A> {
    type Error = A::Error;
    type Variant = Sva<'c, A::Variant>;
    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), A::Error> {
        let (v, variant) = self.ctx.watch(self.data.variant_seed(seed))?;
        Ok((
            v,
            Sva {
                variant,
                depth: self.depth,
                ctx: self.ctx,
            },
        ))
    }
}

struct Sva<'c, A> {
    variant: A,
    depth: usize,
    ctx: &'c Ctx,
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Sva<'_, A> {
    type Error = A::Error;
    fn unit_variant(self) -> Result<(), A::Error> {
        self.ctx.watch(self.variant.unit_variant())
    }
    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        self.ctx.watch(self.variant.newtype_variant_seed(Sseed {
            seed,
            depth: self.depth,
            ctx: self.ctx,
        }))
    }
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value, A::Error> {
        self.ctx.watch(self.variant.tuple_variant(
            len,
            Sv {
                v,
                depth: self.depth,
                top: false,
                ctx: self.ctx,
            },
        ))
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, A::Error> {
        self.ctx.watch(self.variant.struct_variant(
            fields,
            Sv {
                v,
                depth: self.depth,
                top: false,
                ctx: self.ctx,
            },
        ))
    }
}

/// Reads a registered claim with the rules of [`RegisteredClaims::parse`],
/// records it, and hands the same value on to the caller's type.
struct Tee<'c, S> {
    seed: S,
    reg: Reg,
    /// The depth of the member's value (that of its object's members).
    depth: usize,
    ctx: &'c Ctx,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Tee<'_, S> {
    type Value = S::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        let value = match self.reg {
            Reg::Iss | Reg::Sub | Reg::Jti => {
                let s = d.deserialize_str(CowStr)?;
                let mut r = self.ctx.registered.borrow_mut();
                let slot = match self.reg {
                    Reg::Iss => &mut r.iss,
                    Reg::Sub => &mut r.sub,
                    _ => &mut r.jti,
                };
                *slot = Some(s.to_string());
                Value::Str(s)
            }
            Reg::Exp | Reg::Nbf | Reg::Iat => {
                let n = d.deserialize_any(NumCapture)?;
                let secs = n
                    .numeric_date()
                    .ok_or_else(|| self.ctx.bail::<D::Error>())?;
                let mut r = self.ctx.registered.borrow_mut();
                let slot = match self.reg {
                    Reg::Exp => &mut r.exp,
                    Reg::Nbf => &mut r.nbf,
                    _ => &mut r.iat,
                };
                *slot = Some(secs);
                n
            }
            Reg::Aud => {
                let v = d.deserialize_any(AudCapture)?;
                let aud = match &v {
                    Value::Str(s) => Audience::One(s.to_string()),
                    // An array is one more level, under the same cap as
                    // any other (see `RegisteredClaims::parse`).
                    Value::Strs(_) if self.depth >= self.ctx.max => return Err(self.ctx.bail()),
                    Value::Strs(v) => Audience::Many(v.iter().map(|s| s.to_string()).collect()),
                    _ => return Err(self.ctx.bail()),
                };
                self.ctx.registered.borrow_mut().aud = Some(aud);
                v
            }
        };
        self.seed.deserialize(Replay::new(value, self.ctx))
    }
}

/// A captured scalar (or array of strings), as `serde_json` presented it.
enum Value<'de> {
    Str(Cow<'de, str>),
    U64(u64),
    I64(i64),
    F64(f64),
    Strs(Vec<Cow<'de, str>>),
}

impl Value<'_> {
    /// The NumericDate rules of [`RegisteredClaims`].
    fn numeric_date(&self) -> Option<i64> {
        match *self {
            Value::I64(v) => Some(v),
            Value::U64(v) => i64::try_from(v).ok(),
            Value::F64(v) if v.is_finite() && v.abs() < 9.0e18 => Some(v.floor() as i64),
            _ => None,
        }
    }
}

struct NumCapture;

impl<'de> Visitor<'de> for NumCapture {
    type Value = Value<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a NumericDate")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Value::I64(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Value::U64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Value::F64(v))
    }
}

struct AudCapture;

impl<'de> Visitor<'de> for AudCapture {
    type Value = Value<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an array of strings")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Value::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Value::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
        let mut v = Vec::new();
        while let Some(a) = seq.next_element_seed(CowStr)? {
            v.push(a);
        }
        Ok(Value::Strs(v))
    }
}

/// Replays a captured value to the caller's type the way `serde_json`
/// would have presented it.
///
/// A replayed object key declines the numeric and boolean hints, which
/// `serde_json` would answer by parsing the key's text. Every refusal, and
/// every error of the caller's type, is recorded in the context: the caller's
/// type may swallow it, and then would hold something other than what
/// `serde_json` gives.
struct Replay<'c, 'de, E> {
    value: Value<'de>,
    key: bool,
    ctx: &'c Ctx,
    err: std::marker::PhantomData<E>,
}

impl<'c, 'de, E: de::Error> Replay<'c, 'de, E> {
    fn new(value: Value<'de>, ctx: &'c Ctx) -> Self {
        Replay {
            value,
            key: false,
            ctx,
            err: std::marker::PhantomData,
        }
    }

    fn key(key: Cow<'de, str>, ctx: &'c Ctx) -> Self {
        Replay {
            value: Value::Str(key),
            key: true,
            ctx,
            err: std::marker::PhantomData,
        }
    }

    fn not_key(&self) -> Result<(), E> {
        if self.key {
            Err(self.ctx.bail())
        } else {
            Ok(())
        }
    }

    fn replay<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        match self.value {
            Value::Str(Cow::Borrowed(s)) => v.visit_borrowed_str(s),
            Value::Str(Cow::Owned(s)) => v.visit_str(&s),
            Value::U64(n) => v.visit_u64(n),
            Value::I64(n) => v.visit_i64(n),
            Value::F64(n) => v.visit_f64(n),
            Value::Strs(items) => {
                let mut seq = ReplaySeq {
                    items: items.into_iter(),
                    ctx: self.ctx,
                    err: std::marker::PhantomData,
                };
                let out = v.visit_seq(&mut seq)?;
                if seq.items.len() != 0 {
                    return Err(self.ctx.bail());
                }
                Ok(out)
            }
        }
    }
}

macro_rules! not_key {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
                self.not_key()?;
                self.deserialize_any(v)
            }
        )*
    };
}

impl<'de, E: de::Error> Deserializer<'de> for Replay<'_, 'de, E> {
    type Error = E;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        let ctx = self.ctx;
        ctx.watch(self.replay(v))
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        let ctx = self.ctx;
        ctx.watch(v.visit_some(self))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, E> {
        if name.starts_with("$serde_json") {
            return Err(self.ctx.bail());
        }
        let ctx = self.ctx;
        ctx.watch(v.visit_newtype_struct(self))
    }

    /// `serde_json` reads bytes without checking UTF-8: decline.
    fn deserialize_bytes<V: Visitor<'de>>(self, _v: V) -> Result<V::Value, E> {
        Err(self.ctx.bail())
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, _v: V) -> Result<V::Value, E> {
        Err(self.ctx.bail())
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        _v: V,
    ) -> Result<V::Value, E> {
        Err(self.ctx.bail())
    }

    /// With its `float_roundtrip` feature, `serde_json` reads an `f32`
    /// straight from the text, which can round differently from the `f64`
    /// captured here: decline fractions.
    fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        self.not_key()?;
        if let Value::F64(_) = self.value {
            return Err(self.ctx.bail());
        }
        self.deserialize_any(v)
    }

    not_key! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f64
    }

    serde::forward_to_deserialize_any! {
        char str string unit unit_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}

struct ReplaySeq<'c, 'de, E> {
    items: std::vec::IntoIter<Cow<'de, str>>,
    ctx: &'c Ctx,
    err: std::marker::PhantomData<E>,
}

impl<'de, E: de::Error> SeqAccess<'de> for ReplaySeq<'_, 'de, E> {
    type Error = E;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, E> {
        match self.items.next() {
            Some(s) => seed
                .deserialize(Replay::new(Value::Str(s), self.ctx))
                .map(Some),
            None => Ok(None),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::error::Error;
    use proptest::prelude::*;
    use serde::Deserialize;
    use std::collections::{BTreeMap, HashMap};
    use std::fmt::Debug;

    /// The exact two-pass path.
    fn slow<T: DeserializeOwned>(
        payload: &[u8],
        depth: usize,
    ) -> Result<(RegisteredClaims, T), Error> {
        let r = RegisteredClaims::parse(payload, depth)?;
        let t = serde_json::from_slice(payload).map_err(|_| Error::InvalidClaim("type"))?;
        Ok((r, t))
    }

    /// When the fast path answers, it answers like the slow path. Returns
    /// whether it answered.
    fn same<T: DeserializeOwned + PartialEq + Debug>(payload: &[u8], depth: usize) -> bool {
        match parse_claims::<T>(payload, depth) {
            Some(fast) => {
                let slow = slow::<T>(payload, depth).unwrap_or_else(|e| {
                    panic!("fast path accepted what the slow path refuses ({e:?}): {payload:?}")
                });
                assert_eq!(fast, slow, "{}", String::from_utf8_lossy(payload));
                true
            }
            None => false,
        }
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Access {
        iss: String,
        sub: Option<String>,
        aud: Audience,
        exp: u64,
        iat: Option<f64>,
        #[serde(default)]
        roles: Vec<String>,
        #[serde(flatten)]
        extra: BTreeMap<String, serde_json::Value>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Tight {
        iss: String,
        aud: Vec<String>,
        exp: i64,
        kind: Kind,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        User,
        Service { name: String },
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Empty {}

    fn all(payload: &str, depth: usize) -> [bool; 6] {
        let p = payload.as_bytes();
        [
            same::<serde_json::Value>(p, depth),
            same::<Access>(p, depth),
            same::<Tight>(p, depth),
            same::<Empty>(p, depth),
            same::<HashMap<String, serde_json::Value>>(p, depth),
            same::<BTreeMap<u32, serde_json::Value>>(p, depth),
        ]
    }

    #[test]
    fn common_payloads_take_the_fast_path() {
        let p = r#"{"iss":"https://a","sub":"u1","aud":"api","exp":1700000900,"iat":1700000000,"roles":["a","b"],"x":{"y":[1,2,{"z":null}]}}"#;
        assert_eq!(all(p, 32), [true, true, false, true, true, false]);
        let p = r#"{"iss":"i","aud":["a","b"],"exp":-5,"kind":"user"}"#;
        assert_eq!(all(p, 32), [true, false, true, true, true, false]);
        let p = r#"{"iss":"i","aud":["a"],"exp":5,"kind":{"service":{"name":"n"}}}"#;
        assert_eq!(all(p, 32), [true, true, true, true, true, false]);
        // Escapes in keys and values.
        let p = r#"{"\u0069ss":"h\u0074tps:\/\/a","aud":"api","exp":1.5e3,"iat":2}"#;
        assert!(all(p, 32)[0]);
        let (r, _) = parse_claims::<serde_json::Value>(p.as_bytes(), 32).unwrap();
        assert_eq!(r.iss.as_deref(), Some("https://a"));
        assert_eq!(r.exp, Some(1500));
    }

    #[test]
    fn violations_are_declined() {
        for p in [
            r#"{"a":1,"a":2}"#,
            r#"{"a":1,"\u0061":2}"#,
            r#"{"x":{"a":1,"a":2}}"#,
            r#"{"x":[{"a":1,"a":2}]}"#,
            r#"{"iss":"a","iss":"a"}"#,
            r#"{"exp":1,"exp":1}"#,
            r#"{"iss":1}"#,
            r#"{"aud":[1]}"#,
            r#"{"aud":{"a":1}}"#,
            r#"{"exp":"1"}"#,
            r#"{"exp":null}"#,
            r#"{"exp":18446744073709551615}"#,
            r#"{"exp":1e300}"#,
            r#"[]"#,
            r#""x""#,
            r#"null"#,
            r#"{} x"#,
            r#"{"a":1"#,
        ] {
            assert_eq!(all(p, 32), [false; 6], "{p}");
        }
        // The depth cap, exactly where the strict checker puts it.
        let deep = r#"{"a":[[1]]}"#;
        for depth in 0..5 {
            let ok = crate::json::check(deep.as_bytes(), depth).is_ok();
            assert_eq!(all(deep, depth)[0], ok, "depth {depth}");
        }
        // A number-keyed map is left to serde_json.
        assert!(!all(r#"{"1":2}"#, 32)[5]);
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("iss"),
            Just("aud"),
            Just("exp"),
            Just("nbf"),
            Just("a"),
            Just("\\u0061"),
            Just("b"),
            Just("1"),
        ]
        .prop_map(|k| format!("\"{k}\""))
    }

    fn object(inner: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
        proptest::collection::vec((key(), inner), 0..6).prop_map(|v| {
            let m: Vec<String> = v.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
            format!("{{{}}}", m.join(","))
        })
    }

    fn json_value() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            (-1e20f64..1e20).prop_map(|f| format!("{f:e}")),
            Just("\"s\"".to_owned()),
            Just("\"\\u00e9\\n\"".to_owned()),
            Just("\"api\"".to_owned()),
            Just("[\"api\",\"b\"]".to_owned()),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                object(inner),
            ]
        })
    }

    proptest! {
        /// On arbitrary JSON, the fast path never accepts what the two passes
        /// refuse, and agrees with them whenever it answers.
        #[test]
        fn fast_path_agrees(v in object(json_value()), depth in 1usize..6) {
            all(&v, depth);
        }
    }
}
