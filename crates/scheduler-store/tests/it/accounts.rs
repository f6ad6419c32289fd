//! Accounts and clips.

use scheduler_core::{Platform, RuleSet, Zone};
use scheduler_store::{
    create_account, create_clip, get_account, get_clip, NewAccount, NewClip, StoreError,
};

use crate::support::{both_backends, now};

fn account_count(conn: &mut scheduler_store::Conn) -> i64 {
    use diesel::prelude::*;
    use scheduler_store::schema::social_accounts;
    social_accounts::table.count().get_result(conn).unwrap()
}

fn rejected(result: Result<impl std::fmt::Debug, StoreError>) -> String {
    match result {
        Err(StoreError::Rejected(refusal)) => refusal.reason,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

both_backends! {
    fn account_gets_an_id_and_utc(db) {
        let conn = &mut db.conn();
        let account = create_account(
            conn,
            &RuleSet::default(),
            &NewAccount { platform: "TikTok".into(), handle: Some("@me".into()), ..NewAccount::default() },
            now(),
        )
        .unwrap();
        assert!(account.id.starts_with("acc_"), "{}", account.id);
        assert_eq!(account.platform, Platform::tiktok());
        assert_eq!(account.timezone, Zone::UTC);
        assert_eq!(account.handle.as_deref(), Some("@me"));
        assert_eq!(account.created_at, now());
        assert_eq!(get_account(conn, &account.id).unwrap(), account);
    }

    fn account_keeps_the_clients_id_and_zone(db) {
        let conn = &mut db.conn();
        let new = NewAccount {
            id: Some("brand-1".into()),
            platform: "youtube".into(),
            timezone: Some("america/new_york".into()),
            ..NewAccount::default()
        };
        let account = create_account(conn, &RuleSet::default(), &new, now()).unwrap();
        assert_eq!(account.id, "brand-1");
        assert_eq!(account.timezone.name(), "America/New_York");
        assert_eq!(get_account(conn, "brand-1").unwrap().timezone.name(), "America/New_York");

        match create_account(conn, &RuleSet::default(), &new, now()) {
            Err(StoreError::Conflict(message)) => assert!(message.contains("brand-1"), "{message}"),
            other => panic!("expected a conflict, got {other:?}"),
        }
        assert_eq!(account_count(conn), 1);
    }

    fn account_rejections_write_nothing(db) {
        let conn = &mut db.conn();
        let rules = RuleSet::default();
        let with = |platform: &str, timezone: Option<&str>, id: Option<&str>| NewAccount {
            id: id.map(Into::into),
            platform: platform.into(),
            timezone: timezone.map(Into::into),
            ..NewAccount::default()
        };
        assert_eq!(
            rejected(create_account(conn, &rules, &with("myspace", None, None), now())),
            "Unknown platform: myspace"
        );
        assert_eq!(
            rejected(create_account(conn, &rules, &with("not a platform!", None, None), now())),
            "Unknown platform: not a platform!"
        );
        assert!(rejected(create_account(conn, &rules, &with("instagram", Some("Mars/Olympus"), None), now()))
            .contains("unknown time zone"));
        assert!(rejected(create_account(conn, &rules, &with("instagram", None, Some("")), now()))
            .contains("id must be"));
        assert_eq!(account_count(conn), 0);
    }

    fn account_on_a_platform_from_the_rules_file(db) {
        let conn = &mut db.conn();
        let rules = RuleSet::from_toml(
            "[platforms.threads]\nstart_hour = 9\nend_hour = 17\nmin_gap_minutes = 15\n",
        )
        .unwrap();
        let new = NewAccount { platform: "threads".into(), ..NewAccount::default() };
        assert_eq!(create_account(conn, &rules, &new, now()).unwrap().platform.as_str(), "threads");
    }

    fn unknown_account_is_not_found(db) {
        match get_account(&mut db.conn(), "acc_missing") {
            Err(StoreError::NotFound { kind: "account", id }) => assert_eq!(id, "acc_missing"),
            other => panic!("expected not found, got {other:?}"),
        }
    }

    fn clips_are_created_and_read(db) {
        let conn = &mut db.conn();
        let generated = create_clip(conn, &NewClip::default(), now()).unwrap();
        assert!(generated.id.starts_with("clip_"), "{}", generated.id);
        let new = NewClip {
            id: Some("clip-7".into()),
            title: Some("Launch".into()),
            media_url: Some("https://cdn.example/7.mp4".into()),
        };
        let clip = create_clip(conn, &new, now()).unwrap();
        assert_eq!(clip.title.as_deref(), Some("Launch"));
        assert_eq!(get_clip(conn, "clip-7").unwrap(), clip);
        assert!(matches!(create_clip(conn, &new, now()), Err(StoreError::Conflict(_))));
        assert!(matches!(
            get_clip(conn, "clip-8"),
            Err(StoreError::NotFound { kind: "clip", .. })
        ));
    }
}

both_backends! {
    fn every_account_gets_a_calendar_key_of_its_own(db) {
        let conn = &mut db.conn();
        let made = create_account(conn, &RuleSet::default(), &NewAccount { platform: "instagram".into(), ..NewAccount::default() }, now()).unwrap();
        let key = made.calendar_key.clone().unwrap();
        assert!(key.starts_with("cal_") && key.len() == 68, "{key}");
        // Accounts another program wrote without one get one, each its own, and those that
        // have one keep it.
        let (a, _) = scheduler_testkit::insert_account_and_clip(conn);
        let (b, _) = scheduler_testkit::insert_account_and_clip(conn);
        assert_eq!(get_account(conn, &a).unwrap().calendar_key, None);
        assert_eq!(scheduler_store::fill_calendar_keys(conn).unwrap(), 2);
        let (ka, kb) = (get_account(conn, &a).unwrap().calendar_key.unwrap(), get_account(conn, &b).unwrap().calendar_key.unwrap());
        assert!(ka.starts_with("cal_") && ka != kb && ka != key);
        assert_eq!(get_account(conn, &made.id).unwrap().calendar_key, Some(key));
        assert_eq!(scheduler_store::fill_calendar_keys(conn).unwrap(), 0);
    }
}
