//! Tessera core (being built).
