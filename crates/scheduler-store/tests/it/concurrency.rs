//! Guarantees 1 and 2 under concurrency: gaps and windows hold, and each due log moves once.

use std::collections::HashSet;
use std::sync::{Arc, Barrier};
use std::thread;

use chrono::Timelike;
use diesel::prelude::*;
use scheduler_core::RuleSet;
use scheduler_store::schema::{ledger_events, publish_logs};
use scheduler_store::EventType;
use scheduler_store::{connect, reschedule, schedule, schedule_batch, tick, Reschedule};

use crate::support::{account_and_clip, at, both_backends, now, request};

/// Runs `f(thread index)` on `n` threads started together and collects the results.
fn at_once<T: Send + 'static>(n: usize, f: impl Fn(usize) -> T + Send + Sync + 'static) -> Vec<T> {
    let barrier = Arc::new(Barrier::new(n));
    let f = Arc::new(f);
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let (barrier, f) = (barrier.clone(), f.clone());
            thread::spawn(move || {
                barrier.wait();
                f(i)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

both_backends! {
    fn concurrent_schedules_keep_gaps_and_windows(db) {
        let (account, clip) = account_and_clip(&mut db.conn(), "UTC");
        let req = request(&account, &clip, Some("2030-01-15T19:00:00Z"));
        // A connection of its own for each thread, as separate processes would have.
        let url = db.database_url();
        let times = at_once(8, move |_| {
            let mut conn = connect(&url, false).unwrap();
            (0..25)
                .map(|_| {
                    let done = schedule(&mut conn, &RuleSet::default(), &req, now()).unwrap();
                    done.log.scheduled_for.unwrap()
                })
                .collect::<Vec<_>>()
        });
        let mut times: Vec<_> = times.into_iter().flatten().collect();
        assert_eq!(times.len(), 200);
        times.sort();
        for pair in times.windows(2) {
            assert!(pair[1] - pair[0] >= chrono::TimeDelta::minutes(60), "{pair:?}");
        }
        for t in &times {
            assert!((18..23).contains(&t.hour()), "{t} outside 18:00-23:00");
        }
        // The first slot is the requested one; five per day follow without holes.
        assert_eq!(times[0], at("2030-01-15T19:00:00Z"));
        assert_eq!(times[199], at("2030-02-24T18:00:00Z"));
    }

    fn concurrent_ticks_move_each_log_once(db) {
        // A rule set without gap or window lets 2,000 logs share one due instant.
        let rules = RuleSet::from_toml(
            "[platforms.instagram]\nstart_hour = 0\nend_hour = 24\nmin_gap_minutes = 0\n",
        )
        .unwrap();
        let conn = &mut db.conn();
        let (account, clip) = account_and_clip(conn, "UTC");
        let past = at("2020-01-01T00:00:00Z");
        let requests: Vec<_> = (0..2000)
            .map(|i| {
                let time = format!("2020-01-01T{:02}:{:02}:00Z", i % 24, i % 60);
                request(&account, &clip, Some(&time))
            })
            .collect();
        let results = schedule_batch(conn, &rules, &requests, past).unwrap();
        assert!(results.iter().all(Result::is_ok));

        // A connection of its own for each thread, as separate processes would have.
        let url = db.database_url();
        let outcomes = at_once(4, move |_| {
            let mut conn = connect(&url, false).unwrap();
            tick(&mut conn, &RuleSet::default(), 100, false, at("2021-01-01T00:00:00Z")).unwrap()
        });
        let moved: Vec<&String> = outcomes.iter().flat_map(|o| &o.log_ids).collect();
        assert_eq!(outcomes.iter().map(|o| o.moved).sum::<usize>(), 2000);
        assert_eq!(moved.iter().collect::<HashSet<_>>().len(), 2000);

        let pending: i64 = publish_logs::table
            .filter(publish_logs::status.eq("pending"))
            .count()
            .get_result(conn)
            .unwrap();
        assert_eq!(pending, 2000);
        let enqueued: Vec<String> = ledger_events::table
            .filter(ledger_events::event_type.eq(EventType::Enqueued.as_str()))
            .select(ledger_events::entity_id)
            .load(conn)
            .unwrap();
        assert_eq!(enqueued.len(), 2000);
        assert_eq!(enqueued.iter().collect::<HashSet<_>>().len(), 2000);
    }

    fn concurrent_reschedules_keep_gaps(db) {
        let rules = RuleSet::default();
        let conn = &mut db.conn();
        let (account, clip) = account_and_clip(conn, "UTC");
        let logs: Vec<String> = (0..8)
            .map(|day| {
                let time = format!("2030-01-{:02}T19:00:00Z", 20 + day);
                schedule(conn, &rules, &request(&account, &clip, Some(&time)), now()).unwrap().log.id
            })
            .collect();
        // A connection of its own for each thread, as separate processes would have.
        let url = db.database_url();
        let logs = Arc::new(logs);
        let times = at_once(8, move |i| {
            let change = Reschedule { scheduled_for: Some(at("2030-01-15T19:00:00Z")), scheduled_window_end: None };
            let done = reschedule(&mut connect(&url, false).unwrap(), &RuleSet::default(), &logs[i], &change, now());
            done.unwrap().log.scheduled_for.unwrap()
        });
        let mut times = times;
        times.sort();
        let expected: Vec<_> = ["15T19", "15T20", "15T21", "15T22", "16T18", "16T19", "16T20", "16T21"]
            .iter()
            .map(|t| at(&format!("2030-01-{t}:00:00Z")))
            .collect();
        assert_eq!(times, expected);
    }

    fn batches_over_the_same_accounts_in_any_order_do_not_deadlock(db) {
        let conn = &mut db.conn();
        let (first, clip) = account_and_clip(conn, "UTC");
        let (second, _) = account_and_clip(conn, "UTC");
        let forward = vec![
            request(&first, &clip, Some("2030-01-15T19:00:00Z")),
            request(&second, &clip, Some("2030-01-15T19:00:00Z")),
        ];
        let backward: Vec<_> = forward.iter().rev().cloned().collect();
        // A connection of its own for each thread, as separate processes would have.
        let url = db.database_url();
        let results = at_once(4, move |i| {
            let mut conn = connect(&url, false).unwrap();
            let items = if i % 2 == 0 { &forward } else { &backward };
            (0..10)
                .map(|_| schedule_batch(&mut conn, &RuleSet::default(), items, now()).unwrap().len())
                .sum::<usize>()
        });
        assert_eq!(results.iter().sum::<usize>(), 80);
        let logs: i64 = publish_logs::table.count().get_result(conn).unwrap();
        assert_eq!(logs, 80);
    }
}
