//! The BIS rules that apply to what orderflow writes: the elements Peppol BIS Advanced
//! Ordering 3.0 makes mandatory (`structure/syntax` of OpenPEPPOL/poacc-upgrade-3, cardinality
//! 1..1), the fixed customization and profile ids (PEPPOL-T115-R031, -R034, PEPPOL-T116-R006),
//! a named party on each side (PEPPOL-T116-R001, -R002), no order lines on AP or RE
//! (PEPPOL-T116-R008, -R009), the UBL namespaces, and escaping of what tenants wrote.

use super::*;

const CANCELLATION_NS: &str = "urn:oasis:names:specification:ubl:schema:xsd:OrderCancellation-2";
const RESPONSE_NS: &str = "urn:oasis:names:specification:ubl:schema:xsd:OrderResponse-2";

fn buyer() -> Party<'static> {
    Party {
        participant_id: "9915:acme",
        name: "acme",
        country: None,
    }
}

fn seller() -> Party<'static> {
    Party {
        participant_id: "0088:7302347231110",
        name: "The Supplier",
        country: Some("NL"),
    }
}

fn cancellation(note: &str) -> String {
    OrderCancellation {
        id: "c-1",
        issue_date: "2026-12-03",
        note,
        order_id: "po-1",
        buyer: buyer(),
        seller: seller(),
    }
    .to_xml()
    .unwrap()
}

fn response(code: &str) -> String {
    OrderResponse {
        id: "c-1-response",
        issue_date: "2026-12-04",
        code,
        note: Some("already in production"),
        currency: "EUR",
        order_id: "po-1",
        buyer: buyer(),
        seller: seller(),
    }
    .to_xml()
    .unwrap()
}

/// The text at `path` (element local names from the root, `@attr` for an attribute), which
/// must exist once: UBL's children are in the `cac`/`cbc` namespaces.
fn at(doc: &roxmltree::Document, path: &str) -> String {
    let (elements, attr) = match path.split_once('@') {
        Some((e, a)) => (e, Some(a)),
        None => (path, None),
    };
    let mut node = doc.root_element();
    for name in elements.split('/') {
        let found: Vec<_> = node
            .children()
            .filter(|c| c.is_element() && c.tag_name().name() == name)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "{path}: {} <{name}> in {}",
            found.len(),
            doc.input_text()
        );
        node = found[0];
        let ns = node.tag_name().namespace().unwrap_or_default();
        assert!(ns == CAC || ns == CBC, "{path}: <{name}> in namespace {ns}");
    }
    match attr {
        Some(a) => node
            .attribute(a)
            .unwrap_or_else(|| panic!("{path} missing"))
            .to_string(),
        None => node.text().unwrap_or_default().to_string(),
    }
}

#[test]
fn an_order_cancellation_has_every_mandatory_element() {
    let xml = cancellation("customer moved");
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "OrderCancellation");
    assert_eq!(root.tag_name().namespace(), Some(CANCELLATION_NS));
    for (path, want) in [
        ("CustomizationID", CANCELLATION_CUSTOMIZATION_ID),
        ("ProfileID", PROFILE_ID),
        ("ID", "c-1"),
        ("IssueDate", "2026-12-03"),
        ("CancellationNote", "customer moved"),
        ("OrderReference/ID", "po-1"),
        ("BuyerCustomerParty/Party/EndpointID", "acme"),
        ("BuyerCustomerParty/Party/EndpointID@schemeID", "9915"),
        (
            "BuyerCustomerParty/Party/PartyLegalEntity/RegistrationName",
            "acme",
        ),
        ("SellerSupplierParty/Party/EndpointID", "7302347231110"),
        ("SellerSupplierParty/Party/EndpointID@schemeID", "0088"),
        (
            "SellerSupplierParty/Party/PostalAddress/Country/IdentificationCode",
            "NL",
        ),
        (
            "SellerSupplierParty/Party/PartyLegalEntity/RegistrationName",
            "The Supplier",
        ),
    ] {
        assert_eq!(at(&doc, path), want, "{path}");
    }
}

#[test]
fn an_order_response_has_every_mandatory_element_and_no_lines() {
    for code in ["AP", "RE"] {
        let xml = response(code);
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "OrderResponse");
        assert_eq!(root.tag_name().namespace(), Some(RESPONSE_NS));
        for (path, want) in [
            ("CustomizationID", RESPONSE_CUSTOMIZATION_ID),
            ("ProfileID", PROFILE_ID),
            ("ID", "c-1-response"),
            ("IssueDate", "2026-12-04"),
            ("OrderResponseCode", code),
            ("Note", "already in production"),
            ("DocumentCurrencyCode", "EUR"),
            ("OrderReference/ID", "po-1"),
            ("SellerSupplierParty/Party/EndpointID@schemeID", "0088"),
            (
                "SellerSupplierParty/Party/PartyLegalEntity/RegistrationName",
                "The Supplier",
            ),
            ("BuyerCustomerParty/Party/EndpointID@schemeID", "9915"),
            (
                "BuyerCustomerParty/Party/PartyLegalEntity/RegistrationName",
                "acme",
            ),
        ] {
            assert_eq!(at(&doc, path), want, "{code} {path}");
        }
        assert!(!root.children().any(|c| c.tag_name().name() == "OrderLine"));
    }
}

#[test]
fn what_a_tenant_wrote_is_escaped_text() {
    let note = "a <b>bold</b> & \"quoted\" ]]> note";
    let xml = cancellation(note);
    assert!(!xml.contains("<b>"), "{xml}");
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(at(&doc, "CancellationNote"), note);
}
