//! scheduler-core's tests: table-driven cases, rules-file parsing and proptest invariants
//! checked against a brute-force oracle.

mod best_time;
mod cases;
mod priority;
mod props;
mod rules;
mod series;

use chrono::{DateTime, Utc};

/// Parses an RFC 3339 instant (past year 9999 with a sign: `+10000-01-01T00:00:00Z`),
/// panicking on a typo in a test table.
pub fn at(s: &str) -> DateTime<Utc> {
    s.parse()
        .unwrap_or_else(|e| panic!("bad instant {s:?} in test: {e}"))
}
