//! The plan bench's request (`benches/plan.rs`, 1,000 posts) planned 100,000 times in a plain
//! loop, for counting instructions, which unlike wall time do not vary from run to run:
//!
//! ```sh
//! cargo build --release -p scheduler-core --example plan_loop
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!   target/release/examples/plan_loop America/New_York 2030-06-15T23:30:00Z
//! ```
//!
//! Arguments: the zone and the requested time (default `UTC 2030-06-15T19:30:00Z`). Divide the
//! collected count by 100,000 for a plan's.

use std::hint::black_box;

use chrono::{DateTime, TimeDelta, Utc};
use scheduler_core::{Platform, Posts, RuleSet, ScheduleRequest, Zone};

const PLANS: usize = 100_000;

fn main() {
    let mut args = std::env::args().skip(1);
    let zone = Zone::parse(&args.next().unwrap_or_else(|| "UTC".to_owned())).expect("a zone");
    let requested: DateTime<Utc> = args
        .next()
        .unwrap_or_else(|| "2030-06-15T19:30:00Z".to_owned())
        .parse()
        .expect("an RFC 3339 time");
    // Posts two hours apart centred half an hour after the request: one gap push, as in the bench.
    let centre = requested + TimeDelta::minutes(30);
    let times: Vec<_> = (0..1000i64)
        .map(|i| centre + TimeDelta::hours(2 * (i - 500)))
        .collect();
    let posts = Posts::new(&times).expect("sorted");
    let rules = RuleSet::default();
    let instagram = Platform::instagram();
    let request = ScheduleRequest {
        requested_for: Some(requested),
        window_end: None,
        now: "2030-06-01T00:00:00Z".parse().unwrap(),
    };
    let mut moves = 0;
    for _ in 0..PLANS {
        let plan = rules
            .plan(&instagram, zone, black_box(&request), black_box(posts))
            .expect("a slot");
        moves += plan.adjustments.len();
    }
    println!("{PLANS} plans, {moves} moves");
}
