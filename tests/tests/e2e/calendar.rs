//! The calendar page (contract section 11) in a real browser: headless Chromium driven over
//! WebDriver against the real api-server, with a token. The viewer's clock is in a zone where
//! it is about noon, so "earlier today" is always in the past and "tonight" in the future;
//! the accounts are in New York and Berlin, hours away from it.
//!
//! One browser session walks what a person does: the token prompt, a seeded week, a drag in
//! month view (the time of day kept on the account's clock), a drag that the rules move, a
//! drag into the past (put back, with the reason), the keyboard to a post, its history, and
//! cancel; then a phone-sized window and a month of 2,000 posts, timed.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{
    DateTime, Datelike, NaiveDate, NaiveTime, Offset, TimeDelta, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;
use diesel::prelude::*;
use e2e::webdriver::{Browser, Element};
use e2e::{eventually, Server, TestDb};
use serde_json::{json, Value};

use crate::both_backends;

const TOKEN: &str = "calendar-test-token";

/// Windows open all day on TikTok (so any future time is a slot), Instagram's 18:00–23:00.
const RULES: &str = "[platforms.tiktok]\nstart_hour = 0\nend_hour = 24\nmin_gap_minutes = 30\n";

/// A zone whose clock reads 12:xx now (whole hours from UTC), as `Etc/GMT…` names it.
fn noon_zone(now: DateTime<Utc>) -> Tz {
    let mut offset = 12 - now.hour() as i32;
    if offset > 14 {
        offset -= 24;
    }
    if offset < -12 {
        offset += 24;
    }
    // `Etc/GMT-3` is three hours ahead of UTC: the sign is POSIX's, the reverse of ISO's.
    let name = match offset {
        0 => "Etc/UTC".to_owned(),
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    };
    name.parse().expect("an Etc zone")
}

fn at(zone: Tz, day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    zone.from_local_datetime(&day.and_time(NaiveTime::from_hms_opt(hour, minute, 0).unwrap()))
        .single()
        .expect("an unambiguous local time")
        .with_timezone(&Utc)
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Where screenshots go: `target/calendar-screenshots` (copied into `docs/` by hand).
fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/calendar-screenshots");
    std::fs::create_dir_all(&dir).expect("the screenshot folder");
    dir
}

struct Page<'a> {
    browser: &'a Browser,
    base: String,
}

impl Page<'_> {
    /// Opens `/calendar?QUERY` and waits for the posts to be on screen.
    fn open(&self, query: &str) {
        self.browser
            .goto(&format!("{}/calendar?{query}", self.base));
        self.ready();
    }

    fn ready(&self) {
        let ready = eventually(Duration::from_secs(15), || {
            self.browser.eval(
                "return document.getElementById('calendar').dataset.state",
                vec![],
            ) == json!("ready")
        });
        assert!(
            ready,
            "the calendar did not finish loading: {}",
            self.message()
        );
    }

    fn post(&self, id: &str) -> Element {
        self.browser.find(&format!(".post[data-id='{id}']"))
    }

    /// The `data-date` of the day cell or column a post is drawn in.
    fn day_of(&self, id: &str) -> String {
        self.browser
            .eval(
                "const p = document.querySelector(`.post[data-id='${arguments[0]}']`);
                 return p ? p.closest('[data-date]').dataset.date : null;",
                vec![json!(id)],
            )
            .as_str()
            .unwrap_or_else(|| panic!("post {id} is not on screen"))
            .to_owned()
    }

    fn message(&self) -> String {
        self.browser
            .eval(
                "const m = document.getElementById('message'); return m.hidden ? '' : m.textContent",
                vec![],
            )
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn wait_message(&self, part: &str) -> String {
        let mut last = String::new();
        let shown = eventually(Duration::from_secs(10), || {
            last = self.message();
            last.contains(part)
        });
        assert!(shown, "the page did not say {part:?}; it says {last:?}");
        last
    }

    /// Drags post `id` onto the point `minutes` into the time-grid column of `date`, with both
    /// in view.
    fn drag_in_grid(&self, id: &str, date: NaiveDate, minutes: i64) {
        self.browser.eval(
            "const [id, date, minutes] = arguments;
             const scroller = document.querySelector('.scroller');
             const post = document.querySelector(`.post[data-id='${id}']`);
             const hour = parseFloat(getComputedStyle(document.documentElement).getPropertyValue('--hour'));
             const target = minutes * hour / 60;
             scroller.scrollTop = Math.max(0, Math.min(parseFloat(post.style.top), target) - 40);",
            vec![json!(id), json!(date.to_string()), json!(minutes)],
        );
        let column = self.browser.find(&format!(".col[data-date='{date}']"));
        // From the column's in-view centre to the point `minutes` into the column.
        let offset = self.browser.eval(
            "const [col, minutes] = arguments;
             const rect = col.getBoundingClientRect();
             const visible = { top: Math.max(rect.top, 0), bottom: Math.min(rect.bottom, innerHeight) };
             const hour = parseFloat(getComputedStyle(document.documentElement).getPropertyValue('--hour'));
             return Math.round(rect.top + minutes * hour / 60 + 4 - (visible.top + visible.bottom) / 2);",
            vec![column.reference(), json!(minutes)],
        );
        self.browser
            .drag(&self.post(id), &column, 0, offset.as_i64().unwrap());
    }
}

/// The zone's offset from UTC at noon of `day`.
fn offset_at_noon(zone: Tz, day: NaiveDate) -> i32 {
    at(zone, day, 12, 0)
        .with_timezone(&zone)
        .offset()
        .fix()
        .local_minus_utc()
}

/// `scheduled_for` and `status` of a log, from the table.
fn stored(db: &TestDb, id: &str) -> (DateTime<Utc>, String) {
    use scheduler_store::schema::publish_logs::dsl as p;
    let (at, status): (Option<chrono::NaiveDateTime>, String) = p::publish_logs
        .find(id)
        .select((p::scheduled_for, p::status))
        .get_result(&mut db.conn())
        .unwrap();
    (at.unwrap().and_utc(), status)
}

fn wait_stored(db: &TestDb, id: &str, expected: DateTime<Utc>) {
    let mut last = None;
    let moved = eventually(Duration::from_secs(10), || {
        last = Some(stored(db, id).0);
        last == Some(expected)
    });
    assert!(moved, "{id}: stored at {last:?}, expected {expected}");
}

both_backends! {
    fn the_calendar_page_in_a_browser(backend) {
        let now = Utc::now();
        let viewer = noon_zone(now);
        let ny: Tz = "America/New_York".parse().unwrap();
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let rules = std::env::temp_dir().join(format!("calendar-rules-{}.toml", uuid::Uuid::new_v4().simple()));
        std::fs::write(&rules, RULES).unwrap();

        let db = TestDb::new(backend);
        let server = Server::start_with_token(&db.url, Some(TOKEN), &["--rules", rules.to_str().unwrap()]);
        let ok = |path: &str, body: Value| -> Value {
            let r = server.post(path, &body);
            assert!(r.status.is_success(), "{path} {body}: {} {}", r.status, r.text);
            r.body
        };
        ok("/accounts", json!({"id": "acc_nyc", "platform": "instagram", "handle": "@nyc.studio", "timezone": "America/New_York"}));
        ok("/accounts", json!({"id": "acc_ber", "platform": "tiktok", "handle": "@berlin.cuts", "timezone": "Europe/Berlin"}));
        for (id, title) in [("clip_teaser", "Launch teaser"), ("clip_bts", "Behind the scenes"),
                            ("clip_dance", "Dance cut"), ("clip_blooper", "Blooper reel")] {
            ok("/clips", json!({"id": id, "title": title}));
        }
        let today = now.with_timezone(&viewer).date_naive();
        // Next week's Monday on the viewer's calendar, and the week's posts.
        let monday = today + TimeDelta::days(7 - i64::from(today.weekday().num_days_from_monday()));
        let schedule = |clip: &str, account: &str, when: DateTime<Utc>| -> String {
            let platform = if account == "acc_nyc" { "instagram" } else { "tiktok" };
            let body = json!({"clip_id": clip, "social_account_id": account, "platform": platform, "scheduled_for": rfc3339(when)});
            let answer = ok("/publishing/schedule", body);
            assert_eq!(answer["scheduled_for"], json!(rfc3339(when)), "{answer}");
            answer["publish_log_id"].as_str().unwrap().to_owned()
        };
        let teaser_at = at(ny, monday + TimeDelta::days(1), 18, 30);
        let teaser = schedule("clip_teaser", "acc_nyc", teaser_at);
        let bts = schedule("clip_bts", "acc_nyc", at(ny, monday + TimeDelta::days(3), 19, 0));
        let dance_at = at(berlin, monday + TimeDelta::days(2), 17, 0);
        let dance = schedule("clip_dance", "acc_ber", dance_at);
        let blooper_at = at(viewer, today, 20, 0);
        let blooper = schedule("clip_blooper", "acc_ber", blooper_at);

        let shots = screenshot_dir();
        let name = format!("{backend:?}").to_lowercase();
        let browser = Browser::start(viewer.name(), 1280, 800);
        let page = Page { browser: &browser, base: server.base.clone() };

        // The token prompt: asked once, a wrong token said so, the right one kept.
        browser.goto(&format!("{}/calendar?date={monday}&view=week", server.base));
        let input = browser.find("#token-dialog[open] #token-input");
        browser.type_into(&input, "not-the-token\u{E007}");
        let refused = eventually(Duration::from_secs(10), || {
            browser.eval("return !document.getElementById('token-error').hidden && document.getElementById('token-dialog').open", vec![]) == json!(true)
        });
        assert!(refused, "a wrong token was not refused on the page");
        let input = browser.find("#token-input");
        browser.type_into(&input, &format!("{TOKEN}\u{E007}"));
        page.ready();
        assert_eq!(browser.eval("return localStorage.length", vec![]), json!(1));

        // A seeded week, opened again from its address: no prompt, no console error, each post
        // on the viewer's day with both clocks.
        browser.console();
        page.open(&format!("date={monday}&view=week"));
        assert_eq!(browser.eval("return document.getElementById('token-dialog').open", vec![]), json!(false));
        let errors = browser.console();
        assert!(errors.is_empty(), "the console took messages: {errors:?}");
        assert_eq!(browser.all(".post").len(), 3, "next week holds three posts");
        for (id, when, zone) in [(&teaser, teaser_at, ny), (&dance, dance_at, berlin)] {
            let local = when.with_timezone(&viewer);
            assert_eq!(page.day_of(id), local.date_naive().to_string(), "{id} on the viewer's day");
            let text = browser.text(&page.post(id));
            assert!(text.contains(&local.format("%H:%M").to_string()), "{id}: {text:?} lacks the viewer's time");
            assert!(text.contains(&when.with_timezone(&zone).format("%H:%M").to_string()), "{id}: {text:?} lacks the account's time");
        }
        assert!(browser.text(&page.post(&teaser)).contains("Launch teaser"));

        // Month view: dropped on the next day, "Behind the scenes" keeps 19:00 in New York.
        page.open(&format!("date={monday}&view=month"));
        let bts_day: NaiveDate = page.day_of(&bts).parse().unwrap();
        let next_day = browser.find(&format!(".day[data-date='{}']", bts_day + TimeDelta::days(1)));
        browser.drag(&page.post(&bts), &next_day, 0, 20);
        wait_stored(&db, &bts, at(ny, monday + TimeDelta::days(4), 19, 0));
        page.wait_message("Scheduled as requested");
        page.ready();
        assert_eq!(page.day_of(&bts), (bts_day + TimeDelta::days(1)).to_string());
        std::fs::write(shots.join(format!("{name}-month.png")), browser.screenshot()).unwrap();

        // Across New York's next clock change, a month-view drop still keeps the time there:
        // 20:30 before the change, 20:30 after it.
        let change = (8..400)
            .map(|d| today + TimeDelta::days(d))
            .find(|&day| offset_at_noon(ny, day) != offset_at_noon(ny, day - TimeDelta::days(1)))
            .expect("New York changes its clocks within a year");
        let across = schedule("clip_bts", "acc_nyc", at(ny, change - TimeDelta::days(2), 20, 30));
        page.open(&format!("date={change}&view=month"));
        let from: NaiveDate = page.day_of(&across).parse().unwrap();
        let onto = browser.find(&format!(".day[data-date='{}']", from + TimeDelta::days(3)));
        browser.drag(&page.post(&across), &onto, 0, 20);
        wait_stored(&db, &across, at(ny, change + TimeDelta::days(1), 20, 30));
        page.wait_message("Scheduled as requested");

        // Week view: dropped at 10:00 in New York, outside Instagram's window, the teaser lands
        // where the server put it (18:00 New York that day), with the reason.
        // A window tall enough for a whole day, so that both ends of a drag are in view.
        browser.resize(1280, 1700);
        page.open(&format!("date={monday}&view=week"));
        let wednesday_ten = at(ny, monday + TimeDelta::days(2), 10, 0).with_timezone(&viewer);
        page.drag_in_grid(&teaser, wednesday_ten.date_naive(), i64::from(wednesday_ten.hour() * 60 + wednesday_ten.minute()));
        let landed = at(ny, monday + TimeDelta::days(2), 18, 0);
        wait_stored(&db, &teaser, landed);
        page.wait_message("Moved to window start 18:00 America/New_York");
        page.ready();
        assert_eq!(page.day_of(&teaser), landed.with_timezone(&viewer).date_naive().to_string());
        let text = browser.text(&page.post(&teaser));
        assert!(text.contains(&landed.with_timezone(&viewer).format("%H:%M").to_string()), "{text:?}");
        browser.resize(1280, 1000);
        browser.eval("document.querySelector('.scroller').scrollTop = arguments[0]", vec![json!((i64::from(dance_at.with_timezone(&viewer).hour()) - 2).max(0) * 60)]);
        std::fs::write(shots.join(format!("{name}-week.png")), browser.screenshot()).unwrap();
        browser.resize(1280, 1700);

        // Day view of today: dropped at 02:00, hours ago, the blooper reel is put back, and
        // the page says why.
        page.open(&format!("date={today}&view=day"));
        let top_before = browser.eval("return document.querySelector(`.post[data-id='${arguments[0]}']`).style.top", vec![json!(blooper)]);
        page.drag_in_grid(&blooper, today, 120);
        let said = page.wait_message("was not moved");
        assert!(said.contains("in the past"), "{said:?}");
        assert_eq!(browser.eval("return document.querySelector(`.post[data-id='${arguments[0]}']`).style.top", vec![json!(blooper)]), top_before);
        assert_eq!(stored(&db, &blooper), (blooper_at, "scheduled".to_owned()));
        browser.resize(1280, 800);

        // The keyboard reaches the post; Enter opens its facts and history; cancel cancels.
        let mut reached = false;
        for _ in 0..40 {
            browser.keys("\u{E004}");
            if browser.eval("return document.activeElement.dataset.id || null", vec![]) == json!(blooper) {
                reached = true;
                break;
            }
        }
        assert!(reached, "Tab never reached the post");
        browser.keys("\u{E007}");
        browser.find("#details[open]");
        let history = browser.find("#details-history li time");
        assert!(!browser.text(&history).is_empty());
        let facts = browser.text(&browser.find("#details-facts"));
        assert!(facts.contains("scheduled") && facts.contains("@berlin.cuts") && facts.contains("Europe/Berlin"), "{facts:?}");
        let entries = browser.text(&browser.find("#details-history"));
        assert!(entries.contains("publish scheduled created"), "{entries:?}");
        browser.click(&browser.find("#cancel-post"));
        browser.click(&browser.find("#cancel-confirm"));
        page.wait_message("Cancelled");
        assert_eq!(stored(&db, &blooper).1, "cancelled");
        let cancelled_shown = eventually(Duration::from_secs(10), || {
            browser.all(&format!(".post.s-cancelled[data-id='{blooper}']")).len() == 1
        });
        assert!(cancelled_shown, "the cancelled post is not shown as cancelled");

        // It updates by itself: a post scheduled elsewhere appears without a reload.
        let later = schedule("clip_dance", "acc_ber", at(viewer, today, 22, 0));
        let appeared = eventually(Duration::from_secs(25), || !browser.all(&format!(".post[data-id='{later}']")).is_empty());
        assert!(appeared, "a new post did not appear by itself");

        // A phone: the month fits 390 pixels across.
        browser.resize(390, 844);
        page.open(&format!("date={monday}&view=month"));
        let width = browser.eval("return document.documentElement.scrollWidth", vec![]);
        assert!(width.as_i64().unwrap() <= 390, "the page is {width} pixels wide on a phone");
        std::fs::write(shots.join(format!("{name}-phone.png")), browser.screenshot()).unwrap();
        browser.resize(1280, 800);

        // 2,000 posts in one month: from the click to the frame after the one that shows them
        // (two animation frames, so layout and paint are counted).
        let month = NaiveDate::from_ymd_opt(today.year() + i32::from(today.month() >= 11), (today.month() + 1) % 12 + 1, 1).unwrap();
        for (i, account) in ["acc_bulk_1", "acc_bulk_2"].into_iter().enumerate() {
            ok("/accounts", json!({"id": account, "platform": "tiktok", "handle": format!("@bulk{i}"), "timezone": "UTC"}));
            for batch in 0..2 {
                let items: Vec<Value> = (0..500).map(|k| {
                    let when = at(viewer, month, 0, 0) + TimeDelta::minutes(30 * (batch * 500 + k));
                    json!({"clip_id": "clip_teaser", "social_account_id": account, "platform": "tiktok", "scheduled_for": rfc3339(when)})
                }).collect();
                ok("/publishing/schedule/batch", json!({"items": items}));
            }
        }
        page.open(&format!("date={}&view=month", month - TimeDelta::days(10)));
        let mut timings = Vec::new();
        for _ in 0..3 {
            let ms = browser.eval_async(
                "const done = arguments[arguments.length - 1];
                 const main = document.getElementById('calendar');
                 const t0 = performance.now();
                 document.getElementById('next').click();
                 const wait = () => main.dataset.state === 'ready' && main.dataset.count === '2000'
                   ? requestAnimationFrame(() => requestAnimationFrame(() => done([performance.now() - t0, parseFloat(main.dataset.renderMs)]))) : setTimeout(wait, 5);
                 wait();",
                vec![],
            );
            timings.push((ms[0].as_f64().unwrap(), ms[1].as_f64().unwrap()));
            browser.click(&browser.find("#prev"));
            page.ready();
        }
        eprintln!("calendar month of 2000 posts ({name}): click to drawn, render only (ms): {timings:?}");
        // A week of that month: every post is a button at its minute (672 of them).
        page.open(&format!("date={}&view=week", month + TimeDelta::days(1)));
        let week = browser.eval_async(
            "const done = arguments[arguments.length - 1];
             const main = document.getElementById('calendar');
             const t0 = performance.now();
             document.getElementById('next').click();
             const wait = () => main.dataset.state === 'ready'
               ? requestAnimationFrame(() => requestAnimationFrame(() => done([performance.now() - t0, parseFloat(main.dataset.renderMs), document.querySelectorAll('.post').length]))) : setTimeout(wait, 5);
             wait();",
            vec![],
        );
        eprintln!("calendar week of that month ({name}): click to drawn, render only (ms), posts: {week}");
        let errors: Vec<_> = browser.console().into_iter().filter(|e| !e.message.contains("the server responded with a status of 422")).collect();
        assert!(errors.is_empty(), "the console took messages: {errors:?}");
        let _ = std::fs::remove_file(&rules);
    }
}
