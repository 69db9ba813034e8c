//! Ids and prices: what parses, and that the wire form is the plain string.

use super::*;

#[test]
fn prices_are_decimal_strings() {
    for ok in ["0", "12", "12.5", "12.50", "0.0001", "999999999999999.9999"] {
        assert!(Price::parse(ok).is_ok(), "{ok}");
    }
    for bad in [
        "", ".5", "5.", "-1", "1e3", "1.23456", "abc", "1,5", "1.2.3",
    ] {
        assert_eq!(
            Price::parse(bad),
            Err(ParseError {
                kind: "price",
                value: bad.to_string()
            })
        );
    }
}

#[test]
fn ids_are_restricted() {
    assert_eq!(OrderId::parse("ord-1.A_b").unwrap(), "ord-1.A_b");
    for bad in ["", "a b", "a/b", "a:b", &"x".repeat(129)] {
        assert!(TenantId::parse(bad).is_err(), "{bad}");
        assert!(!is_valid_id(bad), "{bad}");
    }
    let e = TenantId::parse("a b").unwrap_err();
    assert!(e.to_string().starts_with("'a b' is not a valid "), "{e}");
}

#[test]
fn newtypes_are_plain_strings_on_the_wire() {
    let id: SupplierId = serde_json::from_str("\"sim\"").unwrap();
    assert_eq!(serde_json::to_string(&id).unwrap(), "\"sim\"");
    // Reading does not check: validation reports every bad field together.
    let bad: Price = serde_json::from_str("\"1,5\"").unwrap();
    assert!(!bad.is_valid());
}
