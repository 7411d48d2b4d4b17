//! Tessera server (being built).
