//! SQL text built for a number of rows, in the placeholder style both
//! engines share (`$1`, `$2`, …).

/// `count` numbered placeholders from `$first`, comma-separated.
pub(super) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `VALUES` list of `rows` rows of `width` columns each, numbered from
/// `$1`: `($1, $2), ($3, $4)`.
pub(super) fn value_rows(rows: usize, width: usize) -> String {
    (0..rows)
        .map(|row| format!("({})", placeholders(row * width + 1, width)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_numbered_on_from_one_row_to_the_next() {
        assert_eq!(placeholders(3, 2), "$3, $4");
        assert_eq!(value_rows(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(value_rows(0, 3), "");
    }
}
