//! The UBL 2.1 documents of Peppol BIS Advanced Ordering 3.0 that the Peppol dialect answers
//! with: the buyer's **OrderCancellation** (T115) and the supplier's **OrderResponse** (T116)
//! to it. Written with `quick-xml`, so every text is escaped; the elements are the ones the
//! BIS makes mandatory (its `structure/syntax` cardinalities and schematron rules), and
//! nothing else is claimed.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use std::io;

pub const PROFILE_ID: &str = "urn:fdc:peppol.eu:poacc:bis:advanced_ordering:3";
pub const CANCELLATION_CUSTOMIZATION_ID: &str = "urn:fdc:peppol.eu:poacc:trns:order_cancellation:3";
pub const RESPONSE_CUSTOMIZATION_ID: &str =
    "urn:fdc:peppol.eu:poacc:trns:order_response_advanced:3";

const CAC: &str = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2";
const CBC: &str = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2";

/// A party: its Peppol participant id (`scheme:value`) as `EndpointID`, its name as the
/// legal registration name, and its country where the document needs one.
pub struct Party<'a> {
    pub participant_id: &'a str,
    pub name: &'a str,
    pub country: Option<&'a str>,
}

/// The buyer's request to cancel order `order_id`.
pub struct OrderCancellation<'a> {
    /// The cancellation's id.
    pub id: &'a str,
    /// YYYY-MM-DD.
    pub issue_date: &'a str,
    pub note: &'a str,
    pub order_id: &'a str,
    pub buyer: Party<'a>,
    pub seller: Party<'a>,
}

/// The supplier's answer to a cancellation: `AP` (accepted) or `RE` (rejected).
pub struct OrderResponse<'a> {
    pub id: &'a str,
    pub issue_date: &'a str,
    pub code: &'a str,
    /// Why, when the supplier said.
    pub note: Option<&'a str>,
    /// ISO 4217.
    pub currency: &'a str,
    pub order_id: &'a str,
    pub buyer: Party<'a>,
    pub seller: Party<'a>,
}

type W = Writer<Vec<u8>>;

fn text(w: &mut W, name: &str, value: &str) -> io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(value))?;
    Ok(())
}

fn party(w: &mut W, role: &str, p: &Party) -> io::Result<()> {
    let (scheme, id) = p
        .participant_id
        .split_once(':')
        .unwrap_or(("", p.participant_id));
    w.create_element(role).write_inner_content(|w| {
        w.create_element("cac:Party").write_inner_content(|w| {
            w.create_element("cbc:EndpointID")
                .with_attribute(("schemeID", scheme))
                .write_text_content(BytesText::new(id))?;
            if let Some(country) = p.country {
                w.create_element("cac:PostalAddress")
                    .write_inner_content(|w| {
                        w.create_element("cac:Country")
                            .write_inner_content(|w| text(w, "cbc:IdentificationCode", country))?;
                        Ok(())
                    })?;
            }
            w.create_element("cac:PartyLegalEntity")
                .write_inner_content(|w| text(w, "cbc:RegistrationName", p.name))?;
            Ok(())
        })?;
        Ok(())
    })?;
    Ok(())
}

fn order_reference(w: &mut W, order_id: &str) -> io::Result<()> {
    w.create_element("cac:OrderReference")
        .write_inner_content(|w| text(w, "cbc:ID", order_id))?;
    Ok(())
}

/// A document `root` in namespace `ns`, its content written by `body`.
fn document(
    root: &str,
    ns: &str,
    body: impl FnOnce(&mut W) -> io::Result<()>,
) -> io::Result<String> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.create_element(root)
        .with_attributes([("xmlns", ns), ("xmlns:cac", CAC), ("xmlns:cbc", CBC)])
        .write_inner_content(body)?;
    String::from_utf8(w.into_inner()).map_err(io::Error::other)
}

impl OrderCancellation<'_> {
    pub fn to_xml(&self) -> io::Result<String> {
        document(
            "OrderCancellation",
            "urn:oasis:names:specification:ubl:schema:xsd:OrderCancellation-2",
            |w| {
                text(w, "cbc:CustomizationID", CANCELLATION_CUSTOMIZATION_ID)?;
                text(w, "cbc:ProfileID", PROFILE_ID)?;
                text(w, "cbc:ID", self.id)?;
                text(w, "cbc:IssueDate", self.issue_date)?;
                text(w, "cbc:CancellationNote", self.note)?;
                order_reference(w, self.order_id)?;
                party(w, "cac:BuyerCustomerParty", &self.buyer)?;
                party(w, "cac:SellerSupplierParty", &self.seller)
            },
        )
    }
}

impl OrderResponse<'_> {
    pub fn to_xml(&self) -> io::Result<String> {
        document(
            "OrderResponse",
            "urn:oasis:names:specification:ubl:schema:xsd:OrderResponse-2",
            |w| {
                text(w, "cbc:CustomizationID", RESPONSE_CUSTOMIZATION_ID)?;
                text(w, "cbc:ProfileID", PROFILE_ID)?;
                text(w, "cbc:ID", self.id)?;
                text(w, "cbc:IssueDate", self.issue_date)?;
                text(w, "cbc:OrderResponseCode", self.code)?;
                if let Some(note) = self.note {
                    text(w, "cbc:Note", note)?;
                }
                text(w, "cbc:DocumentCurrencyCode", self.currency)?;
                order_reference(w, self.order_id)?;
                // The response's parties come seller first (UBL's sequence for OrderResponse).
                party(w, "cac:SellerSupplierParty", &self.seller)?;
                party(w, "cac:BuyerCustomerParty", &self.buyer)
            },
        )
    }
}

#[cfg(test)]
mod tests;
