//! Listing ledger events, idempotency keys, the health check.

use scheduler_core::RuleSet;
use scheduler_store::ledger::{event_type, MAX_LIST_LIMIT};
use scheduler_store::{
    find_response, list_events, ping, save_response, schedule, EventFilter, StoreError,
    StoredResponse,
};

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
                (b.log.id.as_str(), event_type::ADJUSTED),
                (b.log.id.as_str(), event_type::CREATED),
                (a.log.id.as_str(), event_type::CREATED),
            ]
        );
        assert!(all.windows(2).all(|w| w[0].seq > w[1].seq));

        let by_entity = EventFilter { entity_id: Some(a.log.id.clone()), ..EventFilter::default() };
        assert_eq!(list_events(conn, &by_entity).unwrap().len(), 1);
        let by_type = EventFilter { event_type: Some(event_type::CREATED.into()), ..EventFilter::default() };
        assert_eq!(list_events(conn, &by_type).unwrap().len(), 2);
        let both = EventFilter { entity_id: Some(b.log.id.clone()), event_type: Some(event_type::ADJUSTED.into()), limit: 100 };
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

    fn stores_idempotent_responses(db) {
        let conn = &mut db.conn();
        assert_eq!(find_response(conn, "key-1", "/clips").unwrap(), None);
        let response = StoredResponse { request_hash: "h1".into(), status: 201, body: "{\"id\":\"clip_1\"}".into() };
        save_response(conn, "key-1", "/clips", &response, now()).unwrap();
        assert_eq!(find_response(conn, "key-1", "/clips").unwrap(), Some(response.clone()));
        // Keys are per endpoint.
        assert_eq!(find_response(conn, "key-1", "/accounts").unwrap(), None);
        match save_response(conn, "key-1", "/clips", &response, now()) {
            Err(StoreError::Conflict(message)) => assert!(message.contains("key-1"), "{message}"),
            other => panic!("expected a conflict, got {other:?}"),
        }
    }

    fn answers_the_health_check(db) {
        ping(&mut db.conn()).unwrap();
    }
}
