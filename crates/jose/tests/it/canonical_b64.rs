//! The canonical base64url decoder against the `base64` crate configured
//! as the reference (unpadded URL-safe alphabet, padding and non-zero
//! trailing bits refused), on its own and through the token parser.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::strict_json::{config, sign};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, Engine};
use proptest::collection::vec;
use proptest::prelude::*;
use tessera_jose::{b64, Error, Limits, UnverifiedToken};

/// The reference: unpadded URL-safe, padding refused, non-zero trailing bits
/// refused.
fn reference_b64() -> GeneralPurpose {
    GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_encode_padding(false)
            .with_decode_padding_mode(DecodePaddingMode::RequireNone)
            .with_decode_allow_trailing_bits(false),
    )
}

/// Ways to spoil (or keep) a valid encoding.
#[derive(Debug, Clone)]
enum Tweak {
    None,
    Pad(usize),
    Replace(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Remove(prop::sample::Index),
    /// Sets low bits of the last character (the unused bits, when any).
    LastBits(u8),
    /// `-` → `+` and `_` → `/` (the standard alphabet).
    Standard,
    Truncate(usize),
}

fn tweak() -> impl Strategy<Value = Tweak> {
    let special = prop_oneof![
        prop::sample::select(b"=+/ \n\t\r.\0\x7f\x80\xff-_AQgw".to_vec()),
        any::<u8>(),
    ];
    prop_oneof![
        2 => Just(Tweak::None),
        1 => (1usize..4).prop_map(Tweak::Pad),
        2 => (any::<prop::sample::Index>(), special.clone()).prop_map(|(i, b)| Tweak::Replace(i, b)),
        2 => (any::<prop::sample::Index>(), special).prop_map(|(i, b)| Tweak::Insert(i, b)),
        1 => any::<prop::sample::Index>().prop_map(Tweak::Remove),
        2 => (1u8..16).prop_map(Tweak::LastBits),
        1 => Just(Tweak::Standard),
        1 => (1usize..4).prop_map(Tweak::Truncate),
    ]
}

fn apply(text: &str, t: &Tweak) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut b = text.as_bytes().to_vec();
    match t {
        Tweak::None => {}
        Tweak::Pad(n) => b.extend(std::iter::repeat_n(b'=', *n)),
        Tweak::Replace(i, c) if !b.is_empty() => {
            let i = i.index(b.len());
            b[i] = *c;
        }
        Tweak::Insert(i, c) => {
            let i = i.index(b.len() + 1);
            b.insert(i, *c);
        }
        Tweak::Remove(i) if !b.is_empty() => {
            b.remove(i.index(b.len()));
        }
        Tweak::LastBits(bits) => {
            if let Some(last) = b.last_mut() {
                let v = ALPHABET.iter().position(|c| c == last).unwrap();
                *last = ALPHABET[(v & !0x0F) | (v ^ usize::from(*bits)) & 0x0F];
            }
        }
        Tweak::Standard => {
            for c in &mut b {
                *c = match *c {
                    b'-' => b'+',
                    b'_' => b'/',
                    c => c,
                };
            }
        }
        Tweak::Truncate(n) => b.truncate(b.len().saturating_sub(*n)),
        Tweak::Replace(..) | Tweak::Remove(_) => {}
    }
    b
}

/// Random text: mostly alphabet characters, with padding, the standard
/// alphabet, whitespace and arbitrary bytes mixed in.
fn b64ish() -> impl Strategy<Value = Vec<u8>> {
    vec(
        prop_oneof![
            30 => prop::sample::select(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".to_vec()
            ),
            1 => prop::sample::select(b"=+/ \n\t\r.\0".to_vec()),
            1 => any::<u8>(),
        ],
        0..48,
    )
}

proptest! {
    #![proptest_config(config(2048))]

    /// On arbitrary text, the crate's decoder accepts exactly what the
    /// reference accepts, with the same bytes.
    #[test]
    fn b64_matches_reference_on_random_text(text in b64ish()) {
        let want = reference_b64().decode(&text).ok();
        prop_assert_eq!(b64::decode(&text, "x").ok(), want);
    }

    /// On valid encodings, spoiled or not, the same.
    #[test]
    fn b64_matches_reference_on_tweaked_encodings(
        bytes in vec(any::<u8>(), 0..400),
        t in tweak(),
    ) {
        let text = apply(&b64::encode(&bytes), &t);
        let want = reference_b64().decode(&text).ok();
        let got = b64::decode(&text, "x").ok();
        prop_assert_eq!(&got, &want);
        if matches!(t, Tweak::None) {
            prop_assert_eq!(got, Some(bytes));
        }
    }

    /// Through the token parser, where a header of up to 256 bytes is decoded
    /// on the stack and a longer one on the heap, and the signature apart.
    #[test]
    fn b64_matches_reference_in_tokens(
        pad in 0usize..400,
        seg in 0usize..2,
        t in tweak(),
    ) {
        let header = format!(r#"{{"alg":"HS256","kid":"review","x":"{}"}}"#, "y".repeat(pad));
        let token = sign(&header, br#"{"iss":"https://auth.example"}"#);
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let spoiled = apply(&parts[seg * 2], &t);
        // The parser reads text; segments with other bytes are not tokens.
        prop_assume!(!spoiled.contains(&b'.'));
        let Ok(spoiled) = String::from_utf8(spoiled) else {
            return Ok(());
        };
        let reference = reference_b64().decode(&spoiled);
        parts[seg * 2] = spoiled;
        let token = parts.join(".");
        let got = UnverifiedToken::parse(&token, &Limits::default()).map(|_| ());
        let what = ["header is not base64url", "signature is not base64url"][seg];
        match reference {
            Err(_) => prop_assert_eq!(got, Err(Error::Malformed(what))),
            Ok(_) => prop_assert_ne!(got, Err(Error::Malformed(what))),
        }
    }
}

#[test]
fn b64_edges() {
    let r = reference_b64();
    for text in [
        "", "A", "AA", "AB", "AAA", "AAB", "AAAA", "AAAAA", "QQ", "QR", "QUI", "QUJ", "QQ=",
        "QQ==", "Q===", "====", "=", "a+b/", "a-b_", "AA AA", " AAAA", "AAAA\n", "AA.A", "_w",
        "_x", "__8", "__9", "____", "-_-_", "\u{e9}AA",
    ] {
        assert_eq!(
            b64::decode(text.as_bytes(), "x").ok(),
            r.decode(text).ok(),
            "{text:?}"
        );
    }
}
