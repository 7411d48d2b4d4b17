//! Integration tests for tessera-jose, compiled as one binary.

mod attacks;
mod interop_jsonwebtoken;
mod props;
mod review_c48c88c;
mod rfc_vectors;
mod roundtrip;
mod wycheproof_jws;
mod wycheproof_primitives;
