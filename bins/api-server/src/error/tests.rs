use actix_web::body::MessageBody;
use serde_json::json;

use super::*;

fn body(e: &ApiError) -> (u16, serde_json::Value) {
    let response = e.error_response();
    let status = response.status().as_u16();
    let bytes = response.into_body().try_into_bytes().unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[test]
fn store_errors_map_to_statuses_and_codes() {
    let not_found = StoreError::NotFound {
        kind: "clip",
        id: "c".into(),
    };
    assert_eq!(
        body(&not_found.into()),
        (
            404,
            json!({"error": "clip not found: c", "code": "not_found"})
        )
    );
    let check = |e: StoreError, status: u16, code: &str| {
        let (got_status, got) = body(&e.into());
        assert_eq!((got_status, got["code"].as_str()), (status, Some(code)));
    };
    check(StoreError::Conflict("taken".into()), 409, "already_exists");
    check(
        StoreError::InvalidState("cancelled".into()),
        409,
        "invalid_state",
    );
    check(
        StoreError::KeyReused("k".into()),
        422,
        "idempotency_key_reused",
    );
    let refusal = |kind| StoreError::Rejected(Refusal::new(kind, "no"));
    check(refusal(RefusalKind::ClipNotFound), 422, "clip_not_found");
    check(refusal(RefusalKind::NoSlot), 422, "no_slot");
    check(refusal(RefusalKind::PastTime), 422, "past_time");
}

#[test]
fn the_codes_are_the_contracts_and_written_as_serde_writes_them() {
    for (i, code) in ErrorCode::ALL.iter().enumerate() {
        assert_eq!(*code as usize, i, "ALL is in declaration order");
        assert_eq!(json!(code), json!(code.as_str()));
    }
    assert_eq!(ErrorCode::Internal as usize + 1, ErrorCode::ALL.len());
    // The list of section 14 of the contract, as the project's copy writes it.
    let contract = include_str!("../../../../docs/contract.md");
    let list = contract
        .split_once("Error codes (the `code` key):")
        .and_then(|(_, rest)| rest.split_once("A client never needs"))
        .expect("docs/contract.md lists the error codes")
        .0;
    let documented: Vec<&str> = list.split('`').skip(1).step_by(2).collect();
    let ours: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(ours, documented);
}

#[test]
fn a_lost_connection_is_503() {
    let lost = StoreError::ConnectionLost("SSL SYSCALL error: EOF detected".into());
    assert_eq!(
        body(&lost.into()),
        (
            503,
            json!({"error": "database unavailable", "code": "unavailable"})
        )
    );
}

#[test]
fn a_500_hides_its_detail() {
    let secret = StoreError::Corrupt("row 7 of table x is garbage".into());
    assert_eq!(
        body(&secret.into()),
        (500, json!({"error": "internal error", "code": "internal"}))
    );
    assert_eq!(
        body(&ApiError::internal("panic in thread")),
        (500, json!({"error": "internal error", "code": "internal"}))
    );
}

#[test]
fn schedule_errors_take_the_rejected_shape() {
    let e = ApiError::from(Refusal::new(RefusalKind::ClipNotFound, "Clip not found: c"))
        .into_schedule_error();
    assert_eq!(
        body(&e),
        (
            422,
            json!({"publish_log_id": "", "status": "rejected", "reason": "Clip not found: c",
                   "code": "clip_not_found"})
        )
    );
    let e = ApiError::from(StoreError::Conflict("x".into())).into_schedule_error();
    assert_eq!(body(&e).0, 409);
}
