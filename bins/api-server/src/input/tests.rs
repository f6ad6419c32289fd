use super::*;

#[test]
fn ids() {
    assert!(is_valid_id("acc_1"));
    assert!(is_valid_id("ñandú-☃"));
    assert!(!is_valid_id(""));
    assert!(!is_valid_id("a b"));
    assert!(!is_valid_id("a\u{0}b"));
    assert!(!is_valid_id(&"x".repeat(129)));
    assert!(is_valid_id(&"x".repeat(128)));
}

#[test]
fn json_refuses_a_key_given_twice_at_any_depth() {
    assert_eq!(
        json_value(br#"{"a": [1, {"b": null}], "c": "d"}"#).unwrap(),
        serde_json::json!({"a": [1, {"b": null}], "c": "d"})
    );
    for twice in [
        &br#"{"a": 1, "a": 1}"#[..],
        br#"{"a": 1, "b": {"c": 1, "c": 2}}"#,
        br#"[{"x": 1, "x": 2}]"#,
    ] {
        let error = json_value(twice).unwrap_err().to_string();
        assert!(error.contains("duplicate key"), "{error}");
    }
    assert!(json_value(b"{").is_err());
}

#[test]
fn an_endpoint_without_a_body_takes_nothing_or_an_empty_object() {
    assert!(no_body(b"").is_ok());
    assert!(no_body(b" \n").is_ok());
    assert!(no_body(b"{}").is_ok());
    assert!(no_body(br#"{"dry_run": true}"#)
        .unwrap_err()
        .to_string()
        .contains("unknown field `dry_run`"));
    assert!(no_body(b"[]").is_err());
    assert!(no_body(b"nonsense").is_err());
}

#[derive(Debug, Deserialize, PartialEq)]
struct Input {
    name: String,
    when: Option<String>,
}

#[test]
fn a_field_the_input_does_not_know_is_named() {
    let read = |v: Value| from_value::<Input>(v).map_err(|e| (e.code(), e.to_string()));
    assert_eq!(
        read(serde_json::json!({"name": "a", "when": "now"})),
        Ok(Input {
            name: "a".into(),
            when: Some("now".into())
        })
    );
    assert_eq!(
        read(serde_json::json!({"name": "a", "When": "now"})),
        Err((ErrorCode::UnknownField, "unknown field `When`".to_owned()))
    );
    // The typo wins over the missing field it causes.
    assert_eq!(
        read(serde_json::json!({"nmae": "a"})),
        Err((ErrorCode::UnknownField, "unknown field `nmae`".to_owned()))
    );
    assert_eq!(
        read(serde_json::json!({"name": 1})).unwrap_err().0,
        ErrorCode::InvalidField
    );
}

#[test]
fn query_strings_are_read_as_strictly_as_bodies() {
    let read = |q| query::<Input>(q).map_err(|e| (e.code(), e.to_string()));
    assert_eq!(
        read("name=a%20b"),
        Ok(Input {
            name: "a b".into(),
            when: None
        })
    );
    assert_eq!(
        read("name=a&wehn=x").unwrap_err().0,
        ErrorCode::UnknownField
    );
    assert_eq!(
        read("name=a&name=b").unwrap_err().0,
        ErrorCode::InvalidField
    );
    assert_eq!(read("").unwrap_err().0, ErrorCode::InvalidField);
}

#[test]
fn times() {
    let t = parse_time("t", "2025-01-15T20:00:00+01:00").unwrap();
    assert_eq!(scheduler_core::rfc3339(t), "2025-01-15T19:00:00Z");
    let t = parse_time("t", "2025-01-15T20:00:00").unwrap();
    assert_eq!(scheduler_core::rfc3339(t), "2025-01-15T20:00:00Z");
    let refused = |text| {
        let e = parse_time("t", text).unwrap_err();
        (e.status().as_u16(), e.code())
    };
    assert_eq!(refused("yesterday"), (400, ErrorCode::InvalidField));
    assert_eq!(
        refused("0001-01-01T00:00:00Z"),
        (422, ErrorCode::OutOfRange)
    );
    assert_eq!(
        refused("+10000-01-01T00:00:00Z"),
        (400, ErrorCode::InvalidField)
    );
    assert!(parse_time("t", "9999-12-31T23:59:59Z").is_ok());
    for leap in [
        "2099-01-15T23:30:60Z",
        "2016-12-31T23:59:60Z",
        "2099-01-15T23:59:60.5",
    ] {
        assert_eq!(refused(leap), (400, ErrorCode::InvalidField), "{leap}");
    }
}
