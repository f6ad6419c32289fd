//! The deliverer: makes deliveries from the feed, then, for each subscription with deliveries
//! due, a task that claims a batch, sends it, reports, and goes on while more are due.
//!
//! A subscription has at most one task per deliverer, and its task at most
//! [`Config::batch`] requests in flight: a slow or dead receiver holds its own task and no
//! other. Several deliverers (api-servers, tick-runners) share the work through the store's
//! claims; a deliverer that dies mid-send leaves its claims to be made again when their lease
//! ends.

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use scheduler_store::webhooks::{
    claim_deliveries, due_subscriptions, fan_out, fan_out_waiting, report_deliveries, Attempted,
    DeliveryClaim, RetrySchedule, Subscription,
};
use scheduler_store::{Db, StoreError};
use tokio::task::JoinSet;

use crate::send::{attempt, client, Target};
use crate::signature::Secret;

/// How a deliverer works.
#[derive(Debug, Clone)]
pub struct Config {
    /// The waits between attempts; after the last, a delivery is `failed`.
    pub schedule: RetrySchedule,
    /// Whether receivers may be on loopback, private or link-local addresses.
    pub allow_private: bool,
    /// How long a receiver has to answer (the whole exchange).
    pub timeout: Duration,
    /// How often the feed and the due deliveries are looked at.
    pub poll: Duration,
    /// The most requests in flight to one subscription, from this deliverer.
    pub batch: u32,
    /// The most requests in flight from this deliverer, all subscriptions together: receivers
    /// that hang cannot take every socket (or DNS lookup) of the process.
    pub max_in_flight: usize,
    /// The most events read from the feed per transaction.
    pub fan_out_page: u32,
}

impl Default for Config {
    /// The contract's schedule and 10-second timeout, public receivers only, a look every
    /// 250 ms, 64 requests at once per subscription and 256 in all.
    fn default() -> Self {
        Self {
            schedule: RetrySchedule::default(),
            allow_private: false,
            timeout: Duration::from_secs(10),
            poll: Duration::from_millis(250),
            batch: 64,
            max_in_flight: 256,
            fan_out_page: 1000,
        }
    }
}

impl Config {
    /// How long a claim holds its deliveries: the timeout and 10 s to report. A deliverer
    /// that has not reported by then is taken for dead and the deliveries are sent again.
    pub fn lease(&self) -> Duration {
        self.timeout + Duration::from_secs(10)
    }
}

/// What the deliverer has done since it started, for `/metrics`.
#[derive(Debug, Default)]
pub struct Stats {
    delivered: AtomicU64,
    retrying: AtomicU64,
    failed: AtomicU64,
}

impl Stats {
    /// Attempts answered 2xx.
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    /// Failed attempts that will be tried again.
    pub fn retrying(&self) -> u64 {
        self.retrying.load(Ordering::Relaxed)
    }

    /// Failed attempts that were the last of the schedule: the delivery is `failed`.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    fn count(&self, attempted: &Attempted, schedule: &RetrySchedule) {
        let counter = if attempted.delivered {
            &self.delivered
        } else if schedule.after(attempted.attempt).is_some() {
            &self.retrying
        } else {
            &self.failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Delivers webhooks from one process. Clones share everything.
#[derive(Debug, Clone)]
pub struct Deliverer {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: Db,
    client: reqwest::Client,
    config: Config,
    stats: Arc<Stats>,
    /// The subscriptions a task of this deliverer is serving.
    busy: Mutex<HashSet<String>>,
    /// Set when the deliverer stops: tasks claim no more.
    stopping: AtomicBool,
    /// A permit per request in flight.
    in_flight: Arc<tokio::sync::Semaphore>,
}

/// Why a deliverer cannot start.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the webhook HTTP client: {0}")]
pub struct ClientError(#[from] reqwest::Error);

impl Deliverer {
    /// A deliverer on `db`.
    pub fn new(db: Db, config: Config) -> Result<Self, ClientError> {
        let client = client(config.timeout, config.allow_private)?;
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                client,
                stats: Arc::default(),
                busy: Mutex::default(),
                stopping: AtomicBool::new(false),
                in_flight: Arc::new(tokio::sync::Semaphore::new(config.max_in_flight.max(1))),
                config,
            }),
        })
    }

    /// Its counters.
    pub fn stats(&self) -> Arc<Stats> {
        Arc::clone(&self.inner.stats)
    }

    /// Delivers until `stop` resolves, then lets the batches in flight finish (each within the
    /// timeout) and returns. Database errors are logged and retried at the next look: a
    /// database that went away may come back.
    pub async fn run(self, stop: impl Future<Output = ()>) {
        let mut stop = std::pin::pin!(stop);
        let mut tasks = JoinSet::new();
        loop {
            tokio::select! {
                () = &mut stop => break,
                () = tokio::time::sleep(self.inner.config.poll) => {}
            }
            if let Err(e) = self.look(&mut tasks).await {
                log::warn!("webhooks: {e}");
            }
            while tasks.try_join_next().is_some() {}
        }
        self.inner.stopping.store(true, Ordering::Relaxed);
        while tasks.join_next().await.is_some() {}
    }

    /// One pass, for a program that runs once (`tick-runner --webhooks` from cron): makes the
    /// deliveries of every event in the feed, then delivers every delivery due now, and
    /// returns once each subscription has none left due.
    pub async fn pass(&self) -> Result<(), StoreError> {
        let mut tasks = JoinSet::new();
        self.look(&mut tasks).await?;
        while tasks.join_next().await.is_some() {}
        Ok(())
    }

    /// Makes deliveries from the feed (at most [`FAN_OUT_PAGES`] pages, so that a stop or
    /// the due deliveries do not wait for a long backlog), and starts a task for each
    /// subscription with deliveries due that has none yet. A fan-out that fails is logged and
    /// the due deliveries are served all the same.
    async fn look(&self, tasks: &mut JoinSet<()>) -> Result<(), StoreError> {
        let db = &self.inner.db;
        let page = self.inner.config.fan_out_page;
        let fan_out_all = async {
            // A fan-out locks the subscriptions' rows: first a read to see whether it has work.
            if db.read(fan_out_waiting).await? {
                for _ in 0..FAN_OUT_PAGES {
                    if !db
                        .write(move |conn| fan_out(conn, page, Utc::now()))
                        .await?
                        .more
                    {
                        break;
                    }
                }
            }
            Ok::<_, StoreError>(())
        };
        if let Err(e) = fan_out_all.await {
            log::warn!("webhooks: making deliveries from the ledger: {e}");
        }
        let due = db.read(|conn| due_subscriptions(conn, Utc::now())).await?;
        for subscription in due {
            let mut busy = self.inner.busy.lock().expect("not poisoned");
            if busy.insert(subscription.id.clone()) {
                let me = self.clone();
                tasks.spawn(async move {
                    let id = subscription.id.clone();
                    me.serve(subscription).await;
                    me.inner.busy.lock().expect("not poisoned").remove(&id);
                });
            }
        }
        Ok(())
    }

    /// Claims, sends and reports batches of one subscription's due deliveries until none is
    /// left due or the deliverer stops. A batch's report and the next batch's claim are one
    /// write.
    async fn serve(&self, subscription: Subscription) {
        let config = &self.inner.config;
        let target = target(&subscription, config).map(Arc::new);
        let (batch, lease) = (config.batch, config.lease());
        let id = subscription.id.clone();
        let first = self
            .inner
            .db
            .write(move |conn| claim_deliveries(conn, &id, batch, lease, Utc::now()))
            .await;
        let mut claim = match first {
            Ok(claim) => claim,
            Err(e) => {
                log::warn!("webhooks: claiming for {}: {e}", subscription.id);
                return;
            }
        };
        while !claim.deliveries.is_empty() {
            let attempts = match &target {
                Ok(target) => self.send(target, &claim).await,
                Err(why) => unusable(&claim, why),
            };
            for attempted in &attempts {
                self.inner.stats.count(attempted, &config.schedule);
                if !attempted.delivered {
                    log::info!(
                        "webhook {}: attempt {} of event seq {} failed: {}",
                        subscription.id,
                        attempted.attempt,
                        attempted.event_seq,
                        attempted.error.as_deref().unwrap_or("")
                    );
                }
            }
            // A full batch may have more behind it.
            let more = claim.deliveries.len() >= batch as usize
                && !self.inner.stopping.load(Ordering::Relaxed);
            let schedule = config.schedule.clone();
            let next = self
                .inner
                .db
                .write(move |conn| {
                    report_deliveries(conn, &claim, &attempts, &schedule, Utc::now())?;
                    if !more {
                        return Ok(None);
                    }
                    let id = &claim.subscription_id;
                    claim_deliveries(conn, id, batch, lease, Utc::now()).map(Some)
                })
                .await;
            claim = match next {
                Ok(Some(next)) => next,
                Ok(None) => return,
                Err(e) => {
                    // The lease runs out and the deliveries are sent again: at least once.
                    log::warn!("webhooks: reporting for {}: {e}", subscription.id);
                    return;
                }
            };
        }
    }

    /// Sends a claim's deliveries at once.
    async fn send(&self, target: &Arc<Target>, claim: &DeliveryClaim) -> Vec<Attempted> {
        let mut sends = JoinSet::new();
        for (i, delivery) in claim.deliveries.iter().cloned().enumerate() {
            let (client, target) = (self.inner.client.clone(), Arc::clone(target));
            let in_flight = Arc::clone(&self.inner.in_flight);
            sends.spawn(async move {
                // Never closed: the permit always comes.
                let _permit = in_flight.acquire_owned().await;
                (i, attempt(&client, &target, &delivery).await)
            });
        }
        let mut attempts: Vec<Option<Attempted>> = vec![None; claim.deliveries.len()];
        while let Some(done) = sends.join_next().await {
            if let Ok((i, attempted)) = done {
                attempts[i] = Some(attempted);
            }
        }
        // A send that panicked reports nothing: its lease runs out and it is sent again.
        attempts.into_iter().flatten().collect()
    }
}

/// Where and how to send a subscription's deliveries; why not, when its stored URL or secret
/// cannot be used.
fn target(subscription: &Subscription, config: &Config) -> Result<Target, String> {
    let url = crate::address::parse_url(&subscription.url, config.allow_private)
        .map_err(|e| e.to_string())?;
    let secret = Secret::parse(&subscription.secret)
        .map_err(|_| "the subscription's secret is unreadable".to_owned())?;
    Ok(Target {
        url,
        secret,
        timeout: config.timeout,
    })
}

/// Every delivery of `claim` failed for `why`, before any request.
fn unusable(claim: &DeliveryClaim, why: &str) -> Vec<Attempted> {
    claim
        .deliveries
        .iter()
        .map(|d| Attempted {
            event_seq: d.event.seq,
            attempt: d.attempt,
            delivered: false,
            status: None,
            error: Some(why.to_owned()),
            response: None,
        })
        .collect()
}

/// The most feed pages one look makes deliveries from.
const FAN_OUT_PAGES: usize = 10;
