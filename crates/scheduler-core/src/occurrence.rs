//! Window occurrences as instants: when the account's wall clock reads a time inside the
//! window, around daylight-saving changes included.

use chrono::{DateTime, NaiveDate, Timelike, Utc};

use crate::rules::{next_day, Window};
use crate::zone::{WallTime, Zone};

/// A window occurrence as instants, `[start, end)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Occurrence {
    pub(crate) start: DateTime<Utc>,
    pub(crate) end: DateTime<Utc>,
}

/// The first run of `window` in `zone` that ends after `t` (it may start after `t`): among the
/// runs ending after `t`, the one with the earliest instant at or after `t`.
///
/// An instant is inside the window when the account's wall clock reads a time in one day's
/// `[start, end)`. A run is a stretch of such instants within one day's occurrence; a day has
/// one, or more when clocks go back across a bound.
pub(crate) fn occurrence_ending_after(window: Window, zone: Zone, t: DateTime<Utc>) -> Occurrence {
    // An occurrence that opened the local day before may still be running (crossing midnight).
    let mut day: NaiveDate = zone
        .local(t)
        .date()
        .pred_opt()
        .expect("dates stay far from chrono's limits");
    // The best run so far, and whether the clock reaches its end by running (not by a jump).
    let mut best: Option<(Occurrence, bool)> = None;
    let from = |run: Occurrence| run.start.max(t);
    loop {
        let runs = DayRuns::new(window, zone, day);
        for run in runs.iter() {
            if run.end > t && best.is_none_or(|(b, _)| from(run) < from(b)) {
                best = Some((run, runs.plain_end));
            }
        }
        if let Some((run, plain_end)) = best {
            // A later day's runs start after this day's end, unless clocks go back across it:
            // Casey going back from 00:00 to 21:00 reads a 23:00–22:00 window's start twice,
            // and the day before's end too; that day's second run comes after this day's first.
            if run.start <= t || !runs.end_repeats {
                // A clock that reaches the end by running reads it: outside the window.
                return if plain_end {
                    run
                } else {
                    run_on(window, zone, run)
                };
            }
        }
        day = next_day(day);
    }
}

/// `run`, longer while the wall clock at its end still reads inside another day's occurrence:
/// clocks jumped over the only closed hour (a 02:00–01:00 window on a night 01:00–03:00 is
/// skipped), or back into the day before's window (Casey, a 23:00–22:00 window, 00:00 → 21:00).
/// The clock never left the window, so neither did the run. A whole-day window ends at each
/// midnight all the same.
fn run_on(window: Window, zone: Zone, mut run: Occurrence) -> Occurrence {
    if window.start_hour() == window.end_hour() % 24 {
        return run;
    }
    loop {
        let local = zone.local(run.end);
        if !window.contains_hour(local.hour()) {
            return run;
        }
        // The day whose occurrence holds that local time.
        let day = if window.crosses_midnight() && local.hour() < u32::from(window.end_hour()) {
            local
                .date()
                .pred_opt()
                .expect("dates stay far from chrono's limits")
        } else {
            local.date()
        };
        let end = run.end;
        match DayRuns::new(window, zone, day)
            .iter()
            .find(|r| r.start <= end && end < r.end)
        {
            Some(next) => run.end = next.end,
            // Unreachable while the clock reads inside that day's occurrence; stop all the same.
            None => return run,
        }
    }
}

/// The runs of one day's window occurrence, in order.
#[derive(Debug)]
struct DayRuns {
    runs: [Occurrence; 3],
    len: usize,
    /// Whether the wall clock reads the occurrence's end twice.
    end_repeats: bool,
    /// Whether the one run ends where the clock reads the occurrence's end once.
    plain_end: bool,
}

impl DayRuns {
    fn new(window: Window, zone: Zone, day: NaiveDate) -> Self {
        let (start, end) = window.local_bounds(day);
        let (s, e) = (zone.wall_time(start), zone.wall_time(end));
        let none = Occurrence {
            start: DateTime::<Utc>::MIN_UTC,
            end: DateTime::<Utc>::MIN_UTC,
        };
        let mut runs = DayRuns {
            runs: [none; 3],
            len: 0,
            end_repeats: matches!(e, WallTime::Twice { .. }),
            plain_end: matches!(
                (s, e),
                (WallTime::Once(_) | WallTime::Skipped(_), WallTime::Once(_))
            ),
        };
        match (s, e) {
            (
                WallTime::Once(s) | WallTime::Skipped(s),
                WallTime::Once(e) | WallTime::Skipped(e),
            ) => {
                // The clock passes each bound once (or jumps over it at the transition): one
                // run, empty when a transition swallows the whole window (a 02–03 window on
                // the night clocks skip 02:00–03:00).
                runs.push(s, e);
            }
            _ => {
                // Clocks go back across a bound, so the clock can leave the window and enter
                // it again. Whether it reads a time inside changes only at the bounds'
                // instants and at the transitions: test each span between them at its start.
                let mut points = [DateTime::<Utc>::MIN_UTC; 6];
                let mut len = 0;
                for bound in [s, e] {
                    let instants = match bound {
                        WallTime::Once(t) | WallTime::Skipped(t) => [Some(t), None, None],
                        WallTime::Twice {
                            first,
                            back,
                            second,
                        } => [Some(first), Some(back), Some(second)],
                    };
                    for t in instants.into_iter().flatten() {
                        points[len] = t;
                        len += 1;
                    }
                }
                let points = &mut points[..len];
                points.sort_unstable();
                // Before the first point the clock reads earlier than `start`; from the last
                // on, `end` or later. Both hold while the bounds' own transitions are the only
                // ones near that day, as in every zone from 1970 to 2040 (no two offset changes
                // lie within four days of each other there). Six points make five spans, and
                // touching runs join, so a day has at most three runs.
                for span in points.windows(2) {
                    let local = zone.local(span[0]);
                    if start <= local && local < end {
                        runs.push(span[0], span[1]);
                    }
                }
            }
        }
        runs
    }

    /// Adds `[start, end)` after the runs so far, joined to the last one when they touch.
    fn push(&mut self, start: DateTime<Utc>, end: DateTime<Utc>) {
        if start >= end {
            return;
        }
        match self.len.checked_sub(1).map(|last| &mut self.runs[last]) {
            Some(last) if last.end == start => last.end = end,
            _ => {
                self.runs[self.len] = Occurrence { start, end };
                self.len += 1;
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = Occurrence> + '_ {
        self.runs[..self.len].iter().copied()
    }
}
