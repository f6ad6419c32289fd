//! Planning cost against 10, 1,000 and 100,000 existing posts.
//!
//! Posts lie every two hours around the request, so every size needs the same moves (one gap
//! push): what grows with `n` is only the search for neighbours. Run with
//! `cargo bench -p scheduler-core --bench plan`.

use std::hint::black_box;

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use scheduler_core::{Platform, Posts, RuleSet, ScheduleRequest, Zone};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// `n` posts two hours apart, centred on `centre`.
fn posts(n: usize, centre: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let half = i64::try_from(n / 2).unwrap();
    (0..i64::try_from(n).unwrap())
        .map(|i| centre + TimeDelta::hours(2 * (i - half)))
        .collect()
}

fn bench_plan(c: &mut Criterion) {
    let rules = RuleSet::default();
    let instagram = Platform::instagram();
    let mut group = c.benchmark_group("plan");
    for (zone, requested) in [
        ("UTC", "2030-06-15T19:30:00Z"),
        ("America/New_York", "2030-06-15T23:30:00Z"),
    ] {
        let zone = Zone::parse(zone).unwrap();
        let request = ScheduleRequest {
            requested_for: Some(at(requested)),
            window_end: None,
            now: at("2030-06-01T00:00:00Z"),
        };
        for n in [10usize, 1_000, 100_000] {
            // Posts at 18:00, 20:00 and 22:00 local around a 19:30 request: one push, to 21:00.
            let times = posts(n, at(requested) + TimeDelta::minutes(30));
            let others = Posts::new(&times).unwrap();
            let expected = rules.plan(&instagram, zone, &request, others).unwrap();
            assert_eq!(expected.adjustments.len(), 1, "one gap push at every size");
            group.bench_with_input(BenchmarkId::new(zone.name(), n), &others, |b, others| {
                b.iter(|| rules.plan(&instagram, zone, black_box(&request), black_box(*others)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_plan);
criterion_main!(benches);
