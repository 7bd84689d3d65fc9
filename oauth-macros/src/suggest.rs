//! Did-you-mean hints: the closest known name to a misspelt one.

/// The candidate closest to `input`, if one is close enough to be what the
/// user meant: a small edit distance, a case-only difference, or a prefix of
/// a longer name (`refresh` for `refresh_token`).
pub(crate) fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let input_lower = input.to_ascii_lowercase();
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        let score = if candidate.eq_ignore_ascii_case(input) {
            0
        } else {
            let distance = edit_distance(&input_lower, &candidate.to_ascii_lowercase());
            let limit = (input.len().max(candidate.len()) / 3).max(1);
            if distance <= limit {
                distance
            } else if input.len() >= 3
                && (candidate.starts_with(input_lower.as_str()) || input_lower.starts_with(candidate))
            {
                // A prefix is a likely truncation; rank it after close spellings.
                limit + 1
            } else if shares_a_stem(&input_lower, candidate) {
                // `rotation` for `rotate`.
                limit + 2
            } else {
                continue;
            }
        };
        if best.is_none_or(|(s, _)| score < s) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// Whether two names start alike for most of the shorter one.
fn shares_a_stem(a: &str, b: &str) -> bool {
    let common = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    let shorter = a.chars().count().min(b.chars().count());
    common >= 4 && common * 3 >= shorter * 2
}

/// A list of names for a message: "`a`, `b` or `c`".
pub(crate) fn one_of(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// The Levenshtein distance between two strings, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRANTS: [&str; 5] = [
        "authorization_code",
        "client_credentials",
        "refresh_token",
        "password",
        "implicit",
    ];

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("client_credential", "client_credentials"), 1);
    }

    #[test]
    fn suggests_close_spellings_and_truncations() {
        assert_eq!(closest("client_credential", GRANTS), Some("client_credentials"));
        assert_eq!(closest("refresh", GRANTS), Some("refresh_token"));
        assert_eq!(closest("authorisation_code", GRANTS), Some("authorization_code"));
        assert_eq!(closest("pasword", GRANTS), Some("password"));
        assert_eq!(closest("rotation", ["rotate"]), Some("rotate"));
        assert_eq!(closest("authorization", GRANTS), Some("authorization_code"));
        assert_eq!(closest("s256", ["S256", "required", "plain"]), Some("S256"));
    }

    #[test]
    fn stays_quiet_when_nothing_is_close() {
        assert_eq!(closest("device_code", GRANTS), None);
        assert_eq!(closest("x", GRANTS), None);
        assert_eq!(closest("banana", GRANTS), None);
    }

    #[test]
    fn prefers_the_closest_candidate() {
        assert_eq!(closest("code", ["code", "code_ttl"]), Some("code"));
        assert_eq!(closest("code_tl", ["code", "code_ttl"]), Some("code_ttl"));
        assert_eq!(closest("scope", ["scopes"]), Some("scopes"));
    }

    #[test]
    fn lists_names() {
        assert_eq!(one_of(&["s"]), "`s`");
        assert_eq!(one_of(&["s", "m", "h"]), "`s`, `m` or `h`");
    }
}
