//! Priority (contract section 12): a `high` request may take a slot that lower-priority
//! scheduled posts hold, and those posts move forward. One pure function plans the new post
//! and every post it displaces, so the store only applies the result.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use thiserror::Error;

use crate::plan::{plan, Plan, Posts, Rejection, ScheduleRequest};
use crate::rules::{Horizon, PlatformRules};
use crate::zone::Zone;

/// A post due this soon is never moved by a higher-priority one: a worker may be about to
/// take it, and its people expect it.
pub const DISPLACEMENT_NOTICE: TimeDelta = TimeDelta::minutes(15);

/// How much a post matters against the account's other posts. Claims and ticks take higher
/// first; a `High` request may displace `Low` and `Normal` scheduled posts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Goes after the others.
    Low,
    /// The default.
    #[default]
    Normal,
    /// Goes first, and may take lower-priority posts' slots.
    High,
}

impl Priority {
    /// Every priority, lowest first.
    pub const ALL: [Priority; 3] = [Priority::Low, Priority::Normal, Priority::High];

    /// `low`, `normal` or `high`.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
        }
    }

    /// The number stored for it (0, 1, 2): ordering by it orders by priority.
    pub fn rank(self) -> i16 {
        match self {
            Priority::Low => 0,
            Priority::Normal => 1,
            Priority::High => 2,
        }
    }

    /// The priority stored as `rank`, if it is one.
    pub fn from_rank(rank: i16) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.rank() == rank)
    }
}

impl TryFrom<i16> for Priority {
    type Error = InvalidPriority;

    /// The priority stored as `rank` (see [`Priority::rank`]).
    fn try_from(rank: i16) -> Result<Self, Self::Error> {
        Self::from_rank(rank).ok_or_else(|| InvalidPriority(rank.to_string()))
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A priority name that is not one.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("priority must be low, normal or high, not {0:?}")]
pub struct InvalidPriority(pub String);

impl FromStr for Priority {
    type Err = InvalidPriority;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| InvalidPriority(crate::shown(s)))
    }
}

/// One of the account's other posts on the platform, as displacement sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Neighbour {
    /// Its time.
    pub at: DateTime<Utc>,
    /// Its priority.
    pub priority: Priority,
    /// Whether it is `scheduled` (only those may move).
    pub scheduled: bool,
    /// The latest slot its client accepts, when one was given: a displaced post never lands
    /// after it.
    pub window_end: Option<DateTime<Utc>>,
}

/// A post the new one moved: where it was and its new plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Displacement {
    /// Its index in the neighbours given.
    pub index: usize,
    /// Its time before.
    pub from: DateTime<Utc>,
    /// Its new slot, window end and reason (`Displaced by higher-priority <id>`).
    pub plan: Plan,
}

/// The new post's plan and the posts it displaced, in their old order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorityPlan {
    /// The new post's plan; its reason ends `; displaced N lower-priority posts` when N > 0.
    pub plan: Plan,
    /// The posts that move, each later than before.
    pub displaced: Vec<Displacement>,
}

/// Plans a post of `priority` among `neighbours`: the account's posts on the platform, sorted
/// by time, every one from `known_from` on (`None`: all of them).
///
/// A `Low` or `Normal` request, and a `High` one that gains nothing, is planned as
/// [`plan`] plans it, among every neighbour. A `High` request whose earliest valid slot
/// ignoring the lower-priority scheduled posts due at least [`DISPLACEMENT_NOTICE`] after
/// `now` (the movable ones) is earlier takes that slot. Then the movable posts within
/// [`PlatformRules::reach`] of a change (the new post, or a post that moved) are planned again
/// from their old times, in their old order, each among the others as they then stand, and no
/// later than the window end its client gave; a post whose time still holds (to the second)
/// stays, and posts out of reach of every change are not touched. Nothing is displaced, and the
/// request is planned the ordinary way, if one of them would find no slot, or would need posts
/// from before `known_from` to be planned. `new_id` names the new post in the displaced posts'
/// reasons.
#[allow(clippy::too_many_arguments)]
pub fn plan_with_priority(
    rules: &PlatformRules,
    horizon: Horizon,
    zone: Zone,
    request: &ScheduleRequest,
    priority: Priority,
    neighbours: &[Neighbour],
    known_from: Option<DateTime<Utc>>,
    new_id: &str,
) -> Result<PriorityPlan, Rejection> {
    let times: Vec<DateTime<Utc>> = neighbours.iter().map(|n| n.at).collect();
    let all = Posts::new(&times).expect("neighbours sorted by time");
    let ordinary = plan(rules, horizon, zone, request, all);
    if priority != Priority::High {
        return ordinary.map(|plan| PriorityPlan {
            plan,
            displaced: Vec::new(),
        });
    }
    let notice = request.now + DISPLACEMENT_NOTICE;
    let movable = |n: &Neighbour| n.scheduled && n.priority < priority && n.at >= notice;
    let fixed: Vec<DateTime<Utc>> = neighbours
        .iter()
        .filter(|n| !movable(n))
        .map(|n| n.at)
        .collect();
    let Ok(taken) = plan(
        rules,
        horizon,
        zone,
        request,
        Posts::new(&fixed).expect("sorted"),
    ) else {
        return ordinary.map(|plan| PriorityPlan {
            plan,
            displaced: Vec::new(),
        });
    };
    if ordinary
        .as_ref()
        .is_ok_and(|o| o.scheduled_for <= taken.scheduled_for)
    {
        return ordinary.map(|plan| PriorityPlan {
            plan,
            displaced: Vec::new(),
        });
    }
    let context = Context {
        rules,
        horizon,
        zone,
        now: request.now,
        known_from,
    };
    match displace(&context, neighbours, &movable, fixed, &taken, new_id) {
        Some(displaced) => {
            let mut plan = taken;
            if !displaced.is_empty() {
                // The contract's words, whatever N.
                plan.reason.push_str(&format!(
                    "; displaced {} lower-priority posts",
                    displaced.len()
                ));
            }
            Ok(PriorityPlan { plan, displaced })
        }
        None => ordinary.map(|plan| PriorityPlan {
            plan,
            displaced: Vec::new(),
        }),
    }
}

/// What every re-plan of a displaced post shares.
struct Context<'a> {
    rules: &'a PlatformRules,
    horizon: Horizon,
    zone: Zone,
    now: DateTime<Utc>,
    known_from: Option<DateTime<Utc>>,
}

/// Plans the movable posts within reach of a change again, in their old order, among the fixed
/// ones, the new post and the movable ones already placed; `None` if one finds no slot or
/// lies too close to the start of what is known.
fn displace(
    context: &Context<'_>,
    neighbours: &[Neighbour],
    movable: &dyn Fn(&Neighbour) -> bool,
    fixed: Vec<DateTime<Utc>>,
    taken: &Plan,
    new_id: &str,
) -> Option<Vec<Displacement>> {
    let reach = context.rules.reach();
    let mut placed = fixed;
    insert_sorted(&mut placed, taken.scheduled_for);
    let mut changes = vec![taken.scheduled_for];
    let mut displaced = Vec::new();
    for (index, neighbour) in neighbours.iter().enumerate().filter(|(_, n)| movable(n)) {
        let near = changes.iter().any(|c| (neighbour.at - *c).abs() < reach);
        if !near {
            // No change can touch it: it keeps its time (and whatever rule it kept before).
            insert_sorted(&mut placed, neighbour.at);
            continue;
        }
        if context.known_from.is_some_and(|k| neighbour.at < k + reach) {
            // Its plan would need posts before what was read.
            return None;
        }
        let request = ScheduleRequest {
            requested_for: Some(neighbour.at),
            window_end: neighbour.window_end,
            now: context.now,
        };
        let mut replanned = plan(
            context.rules,
            context.horizon,
            context.zone,
            &request,
            Posts::new(&placed).expect("sorted"),
        )
        .ok()?;
        if replanned.scheduled_for - neighbour.at < TimeDelta::seconds(1) {
            // Still valid: only a fraction of a second rounded away (a row another program
            // wrote); it stays where it is.
            insert_sorted(&mut placed, neighbour.at);
            continue;
        }
        insert_sorted(&mut placed, replanned.scheduled_for);
        changes.push(replanned.scheduled_for);
        replanned.reason = format!("Displaced by higher-priority {new_id}");
        displaced.push(Displacement {
            index,
            from: neighbour.at,
            plan: replanned,
        });
    }
    Some(displaced)
}

fn insert_sorted(times: &mut Vec<DateTime<Utc>>, t: DateTime<Utc>) {
    let at = times.partition_point(|x| *x <= t);
    times.insert(at, t);
}
