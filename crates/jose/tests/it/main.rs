//! Integration tests for tessera-jose, compiled as one binary.

mod roundtrip;
