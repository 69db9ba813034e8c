//! Callback kinds and their wire names.

use super::*;

#[test]
fn callback_kinds_parse_their_wire_names() {
    for kind in CallbackKind::ALL {
        assert_eq!(CallbackKind::parse(kind.as_str()), Some(kind));
        assert_eq!(
            serde_json::to_value(kind).unwrap(),
            serde_json::json!(kind.as_str())
        );
    }
    assert_eq!(CallbackKind::parse("step_done"), None);
}
