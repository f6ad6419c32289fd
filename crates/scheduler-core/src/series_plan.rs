//! Planning a series' occurrences (contract section 10): each as a request at its own time,
//! bound by the next occurrence, among the account's other posts and each other. Pure: the
//! store writes what this returns, and `dry_run` shows it.

use chrono::{DateTime, Utc};

use crate::plan::{plan, Plan, Posts, Rejection, ScheduleRequest};
use crate::recurrence::Occurrence;
use crate::rules::{Horizon, PlatformRules};
use crate::zone::Zone;

/// `occurrences` (in the rule's order) to plan, each bound by the one after it, the last by
/// `then` (the rule's next occurrence after them, if any).
pub fn bounded_by_next(occurrences: &[Occurrence], then: Option<DateTime<Utc>>) -> Vec<ToPlan> {
    // The earliest instant of every occurrence after each: instants need not follow the
    // rule's order (a skipped 02:30 becomes 03:30, after 03:00).
    let mut earliest_after = then;
    let mut bounds: Vec<Option<DateTime<Utc>>> = occurrences
        .iter()
        .rev()
        .map(|o| {
            let bound = earliest_after;
            earliest_after = Some(earliest_after.map_or(o.at, |e| e.min(o.at)));
            bound
        })
        .collect();
    bounds.reverse();
    occurrences
        .iter()
        .zip(bounds)
        .map(|(&occurrence, following)| ToPlan::bounded(occurrence, following))
        .collect()
}

/// An occurrence to plan, and the latest slot it may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToPlan {
    /// The occurrence.
    pub occurrence: Occurrence,
    /// The latest slot: the instant of the series' next occurrence, so that an occurrence
    /// never lands after the next one and a rule denser than the windows cannot pile up a
    /// backlog (the surplus has no slot). `None`: no bound.
    pub until: Option<DateTime<Utc>>,
}

impl ToPlan {
    /// `occurrence`, to land no later than `following` (the next occurrence's instant; when
    /// that is not later, as for a skipped time moved onto the next, at its own instant).
    pub fn bounded(occurrence: Occurrence, following: Option<DateTime<Utc>>) -> Self {
        Self {
            occurrence,
            until: following.map(|f| f.max(occurrence.at)),
        }
    }
}

impl From<Occurrence> for ToPlan {
    /// Without a bound.
    fn from(occurrence: Occurrence) -> Self {
        Self {
            occurrence,
            until: None,
        }
    }
}

/// An occurrence and where the rules put it, or why nowhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedOccurrence {
    /// The occurrence.
    pub occurrence: Occurrence,
    /// Its slot and the reason, as for any request at the occurrence's time; or why there is
    /// none (an occurrence already past is [`Rejection::InThePast`]).
    pub plan: Result<Plan, Rejection>,
}

/// Plans `occurrences` in order, each as a request at its own time no later than its bound,
/// among the account's `others` (sorted) and the occurrences planned before it, so that the
/// gap and the daily cap hold between them all. Pure: the store writes what this returns (and
/// `dry_run` shows it).
pub fn plan_occurrences(
    rules: &PlatformRules,
    horizon: Horizon,
    zone: Zone,
    occurrences: &[ToPlan],
    others: Posts<'_>,
    now: DateTime<Utc>,
) -> Vec<PlannedOccurrence> {
    let mut posts: Vec<DateTime<Utc>> = others.as_slice().to_vec();
    occurrences
        .iter()
        .map(|&ToPlan { occurrence, until }| {
            let request = ScheduleRequest {
                requested_for: Some(occurrence.at),
                window_end: None,
                now,
            };
            // Planned as any request, then held to its bound: past it, no slot; within it, the
            // latest acceptable time is the window's end or the bound, whichever comes first.
            let planned = plan(
                rules,
                horizon,
                zone,
                &request,
                Posts::new(&posts).expect("kept sorted"),
            )
            .and_then(|mut slot| match until {
                Some(until) if slot.scheduled_for > until => {
                    Err(Rejection::BeforeNextOccurrence(until))
                }
                Some(until) => {
                    slot.scheduled_window_end = slot.scheduled_window_end.min(until);
                    Ok(slot)
                }
                None => Ok(slot),
            });
            if let Ok(slot) = &planned {
                let at = posts.partition_point(|p| *p <= slot.scheduled_for);
                posts.insert(at, slot.scheduled_for);
            }
            PlannedOccurrence {
                occurrence,
                plan: planned,
            }
        })
        .collect()
}
