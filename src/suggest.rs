//! "Did you mean": the nearest of the words readygate knows to a word it does not (an option, a
//! scheme, a variable), by edit distance, when it is near enough to be a slip of the fingers.

/// The candidate nearest to `word`, if at most a third of its letters (and at least one) differ.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| {
            (
                distance(&word.to_ascii_lowercase(), &c.to_ascii_lowercase()),
                c,
            )
        })
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance, with a swap of two neighbours counted as one edit (`tiemout`).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slips_are_found_and_strangers_are_not() {
        let vars = [
            "READYGATE_TIMEOUT",
            "READYGATE_TARGETS",
            "READYGATE_INTERVAL",
        ];
        assert_eq!(nearest("READYGATE_TIMOUT", vars), Some("READYGATE_TIMEOUT"));
        assert_eq!(
            nearest("READYGATE_TAGRETS", vars),
            Some("READYGATE_TARGETS")
        );
        assert_eq!(nearest("tiemout", ["timeout", "interval"]), Some("timeout"));
        assert_eq!(
            nearest("postgress", ["postgres", "redis"]),
            Some("postgres")
        );
        assert_eq!(nearest("READYGATE_FOO", vars), None);
        assert_eq!(nearest("x", ["timeout"]), None);
    }
}
