//! Integration tests for tessera-jose, compiled as one binary.

mod attacks;
mod canonical_b64;
mod dpop;
mod interop_jsonwebtoken;
mod jwe_attacks;
mod jwe_props;
mod jwe_rfc;
mod props;
mod rfc_vectors;
mod roundtrip;
mod strict_json;
mod wycheproof_jwe;
mod wycheproof_jws;
mod wycheproof_primitives;
