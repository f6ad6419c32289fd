//! The tables, for both backends. PostgreSQL's `timestamptz` columns are declared `Timestamp`
//! (the type both backends share); every connection sets its session time zone to UTC, so the
//! values read and written are UTC instants (see `session.rs`).

diesel::table! {
    social_accounts (id) {
        id -> Text,
        platform -> Text,
        handle -> Nullable<Text>,
        timezone -> Text,
        created_at -> Timestamp,
        calendar_key -> Nullable<Text>,
    }
}

diesel::table! {
    clips (id) {
        id -> Text,
        title -> Nullable<Text>,
        media_url -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    publish_logs (id) {
        id -> Text,
        clip_id -> Text,
        platform -> Text,
        social_account_id -> Text,
        status -> Text,
        schedule_type -> Text,
        scheduled_for -> Nullable<Timestamp>,
        scheduled_window_end -> Nullable<Timestamp>,
        scheduled_by -> Text,
        requested_for -> Nullable<Timestamp>,
        reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        attempt -> Integer,
        lease_token -> Nullable<Text>,
        lease_expires_at -> Nullable<Timestamp>,
        leased_by -> Nullable<Text>,
        platform_post_id -> Nullable<Text>,
        permalink -> Nullable<Text>,
        last_error -> Nullable<Text>,
        engagement -> Nullable<Text>,
        series_id -> Nullable<Text>,
        occurrence -> Nullable<Text>,
        priority -> SmallInt,
        window_end_given -> Bool,
        counted_views -> Nullable<BigInt>,
    }
}

diesel::table! {
    publish_series (id) {
        id -> Text,
        clip_id -> Text,
        social_account_id -> Text,
        platform -> Text,
        dtstart -> Text,
        rrule -> Text,
        exdates -> Text,
        scheduled_by -> Text,
        status -> Text,
        next_occurrence_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        priority -> SmallInt,
    }
}

diesel::table! {
    ledger_events (seq) {
        seq -> BigInt,
        id -> Text,
        event_type -> Text,
        entity_type -> Text,
        entity_id -> Text,
        metadata -> Text,
        created_at -> Timestamp,
        txid -> BigInt,
    }
}

diesel::table! {
    idempotency_keys (key, endpoint) {
        key -> Text,
        endpoint -> Text,
        request_hash -> Text,
        response_status -> Integer,
        response_body -> Text,
        created_at -> Timestamp,
        response_location -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_subscriptions (id) {
        id -> Text,
        url -> Text,
        event_types -> Nullable<Text>,
        description -> Nullable<Text>,
        secret -> Text,
        created_at -> Timestamp,
        feed_txid -> BigInt,
        feed_seq -> BigInt,
        feed_snapshot -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_deliveries (subscription_id, event_seq) {
        subscription_id -> Text,
        event_seq -> BigInt,
        event_id -> Text,
        event_type -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        lease_token -> Nullable<Text>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        last_response -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    account_engagement_hours (social_account_id, day, hour_of_week) {
        social_account_id -> Text,
        day -> Date,
        hour_of_week -> SmallInt,
        posts -> Integer,
        log_views -> Double,
    }
}

diesel::table! {
    platform_engagement_hours (platform, day, hour_of_week) {
        platform -> Text,
        day -> Date,
        hour_of_week -> SmallInt,
        posts -> Integer,
        log_views -> Double,
    }
}

diesel::joinable!(publish_logs -> clips (clip_id));
diesel::joinable!(publish_logs -> social_accounts (social_account_id));
diesel::joinable!(webhook_deliveries -> webhook_subscriptions (subscription_id));
diesel::joinable!(publish_series -> social_accounts (social_account_id));

diesel::allow_tables_to_appear_in_same_query!(
    social_accounts,
    clips,
    publish_logs,
    publish_series,
    ledger_events,
    idempotency_keys,
    webhook_subscriptions,
    webhook_deliveries,
    account_engagement_hours,
    platform_engagement_hours,
);
