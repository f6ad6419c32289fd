//! Listing ledger events, idempotency keys, the health check.

use scheduler_core::RuleSet;
use scheduler_store::ledger::MAX_LIST_LIMIT;
use scheduler_store::{list_events, ping, schedule, EventFilter, EventType};

use crate::support::{account_and_clip, both_backends, now, request};

both_backends! {
    fn lists_events_newest_first_with_filters(db) {
        let conn = &mut db.conn();
        let rules = RuleSet::default();
        let (account, clip) = account_and_clip(conn, "UTC");
        // Same `now` for every write: the order comes from the write order.
        let a = schedule(conn, &rules, &request(&account, &clip, Some("2030-01-15T19:00:00Z")), now()).unwrap();
        let b = schedule(conn, &rules, &request(&account, &clip, Some("2030-01-15T19:30:00Z")), now()).unwrap();

        let all = list_events(conn, &EventFilter::default()).unwrap();
        let order: Vec<(&str, &str)> = all.iter().map(|e| (e.entity_id.as_str(), e.event_type.as_str())).collect();
        assert_eq!(
            order,
            [
                (b.log.id.as_str(), EventType::Adjusted.as_str()),
                (b.log.id.as_str(), EventType::Created.as_str()),
                (a.log.id.as_str(), EventType::Created.as_str()),
            ]
        );
        assert!(all.windows(2).all(|w| w[0].seq > w[1].seq));

        let by_entity = EventFilter { entity_id: Some(a.log.id.clone()), ..EventFilter::default() };
        assert_eq!(list_events(conn, &by_entity).unwrap().len(), 1);
        let by_type = EventFilter { event_type: Some(EventType::Created.as_str().into()), ..EventFilter::default() };
        assert_eq!(list_events(conn, &by_type).unwrap().len(), 2);
        let both = EventFilter { entity_id: Some(b.log.id.clone()), event_type: Some(EventType::Adjusted.as_str().into()), limit: 100 };
        assert_eq!(list_events(conn, &both).unwrap()[0].entity_id, b.log.id);
        let one = EventFilter { limit: 1, ..EventFilter::default() };
        assert_eq!(list_events(conn, &one).unwrap()[0].id, all[0].id);
        let zero = EventFilter { limit: 0, ..EventFilter::default() };
        assert_eq!(list_events(conn, &zero).unwrap().len(), 1);
        let huge = EventFilter { limit: MAX_LIST_LIMIT * 10, ..EventFilter::default() };
        assert_eq!(list_events(conn, &huge).unwrap().len(), 3);
        let none = EventFilter { entity_id: Some("log_missing".into()), ..EventFilter::default() };
        assert!(list_events(conn, &none).unwrap().is_empty());
    }

    fn answers_the_health_check(db) {
        ping(&mut db.conn()).unwrap();
    }
}
