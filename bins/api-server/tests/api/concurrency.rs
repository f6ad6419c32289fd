//! Contract guarantee 1 over HTTP: concurrent schedule requests on two server instances
//! sharing one database never give two posts of one account slots closer than the gap, and
//! every slot is inside the window.

use chrono::{DateTime, Timelike, Utc};
use serde_json::json;

use crate::support::{both_backends, spawn};

both_backends! {
    async fn concurrent_requests_on_two_instances_respect_the_gap(backend) {
        let a = spawn(backend).await;
        let b = a.another_instance().await;
        a.account("acc", "instagram", "UTC").await;
        a.clip("clip").await;
        let requests = (0..24).map(|i| {
            let app = if i % 2 == 0 { &a } else { &b };
            let body = json!({"clip_id": "clip", "platform": "instagram", "social_account_id": "acc",
                              "scheduled_for": "2099-01-15T18:00:00Z"});
            async move { app.post("/publishing/schedule", &body).await }
        });
        let answers = futures_join_all(requests).await;
        let mut slots: Vec<DateTime<Utc>> = answers
            .iter()
            .map(|r| {
                assert_eq!(r.status, 201, "{}", r.text);
                r.body["scheduled_for"].as_str().unwrap().parse().unwrap()
            })
            .collect();
        slots.sort();
        for pair in slots.windows(2) {
            assert!(pair[1] - pair[0] >= chrono::TimeDelta::minutes(60), "{pair:?}");
        }
        for slot in &slots {
            assert!((18..23).contains(&slot.hour()), "{slot}");
        }
        assert_eq!(a.counts().logs, 24);
    }
}

/// Runs the futures concurrently on this task (no extra dependency for `join_all`).
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut outputs: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, out) in set.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *out = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}
