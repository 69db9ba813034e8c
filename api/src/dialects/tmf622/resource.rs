//! TMF622 v5 resources as orderflow reads and writes them: a ProductOrder to create
//! (`ProductOrder_FVO`) becomes a core [`NewOrder`]; an order view becomes a `ProductOrder`.
//! Unknown TMF attributes are ignored, as TMF's polymorphic resources (`@type`,
//! `@baseType`, `@schemaLocation`) expect of a server; what orderflow keeps is checked by the
//! core rules like any order.

use crate::error::ApiError;
use crate::orders::NewOrder;
use orderflow_domain::model::{LineAction, OrderLine, OrderType};
use orderflow_domain::tmf622;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// `POST /productOrder`: the attributes orderflow takes (TMF622 `ProductOrder_FVO`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductOrderCreate {
    /// `ProductOrder` (or absent).
    #[serde(rename = "@type")]
    pub type_name: Option<String>,
    /// The first one's `id` is the order's `order_ref` (default: one made up, the same for
    /// every retry under one `Idempotency-Key`).
    #[serde(default)]
    pub external_id: Vec<ExternalIdentifier>,
    /// The party with role `Supplier` is the supplier (default: the tenant's configured one).
    #[serde(default)]
    pub related_party: Vec<RelatedParty>,
    #[schema(min_items = 1)]
    pub product_order_item: Vec<ProductOrderItem>,
    /// Its date is the order's `requested_date`.
    pub requested_completion_date: Option<String>,
    /// Their texts, one per line, are the order's `notes`.
    #[serde(default)]
    pub note: Vec<Note>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ExternalIdentifier {
    pub id: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RelatedParty {
    pub role: Option<String>,
    pub party_or_party_role: Option<PartyRef>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PartyRef {
    pub id: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Note {
    pub text: String,
}

/// An item: one order line.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductOrderItem {
    /// The line id.
    pub id: String,
    /// Default 1.
    pub quantity: Option<u32>,
    /// `add`, `modify`, `delete` or `noChange`.
    pub action: String,
    /// The first price's `dutyFreeAmount` (or `taxIncludedAmount`) is the unit price; its
    /// `unit` the order's currency.
    #[serde(default)]
    pub item_price: Vec<OrderPrice>,
    pub product: Option<Product>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OrderPrice {
    pub price: Option<Price>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Price {
    pub duty_free_amount: Option<Money>,
    pub tax_included_amount: Option<Money>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Money {
    pub unit: Option<String>,
    #[schema(value_type = f64)]
    pub value: serde_json::Number,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    /// Its `id` is the line's `product_code`.
    pub product_specification: Option<SpecificationRef>,
    /// Each `{name, value}` is an order attribute.
    #[serde(default)]
    pub product_characteristic: Vec<Characteristic>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SpecificationRef {
    pub id: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Characteristic {
    pub name: String,
    #[schema(value_type = Object)]
    pub value: Value,
}

/// The text of a characteristic's value: a string as it is, anything else as JSON.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// What a ProductOrder's items say of the order.
pub struct Items {
    pub lines: Vec<OrderLine>,
    /// Every item's product characteristics, by name.
    pub attributes: BTreeMap<String, String>,
    /// The prices' `unit`, when they name one (all the same).
    pub currency: Option<String>,
}

/// The order lines of TMF622 items, each checked by the core types.
pub fn read_items(items: Vec<ProductOrderItem>) -> Result<Items, ApiError> {
    if items.is_empty() {
        return Err(ApiError::invalid_field(
            "productOrderItem",
            "an order has at least one item",
        ));
    }
    let mut attributes = BTreeMap::new();
    let mut currency: Option<String> = None;
    let mut lines = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let field = format!("productOrderItem[{i}]");
        let action = tmf622::line_action(&item.action).ok_or_else(|| {
            ApiError::invalid_field(
                &format!("{field}.action"),
                "must be add, modify, delete or noChange",
            )
        })?;
        let Some(product) = item.product else {
            return Err(ApiError::invalid_field(
                &format!("{field}.product"),
                "is required",
            ));
        };
        let Some(spec) = product.product_specification else {
            return Err(ApiError::invalid_field(
                &format!("{field}.product.productSpecification.id"),
                "is required",
            ));
        };
        for c in product.product_characteristic {
            attributes.insert(c.name, text_of(&c.value));
        }
        let money = item
            .item_price
            .into_iter()
            .filter_map(|p| p.price)
            .find_map(|p| p.duty_free_amount.or(p.tax_included_amount));
        let unit_price = match money {
            Some(m) => {
                if let Some(unit) = m.unit {
                    if currency.as_ref().is_some_and(|c| *c != unit) {
                        return Err(ApiError::invalid_field(
                            &format!("{field}.itemPrice"),
                            "every price must be in one currency",
                        ));
                    }
                    currency = Some(unit);
                }
                m.value.to_string()
            }
            None => "0".to_string(),
        };
        let line = json!({
            "line_id": item.id, "product_code": spec.id, "quantity": item.quantity.unwrap_or(1),
            "unit_price": unit_price, "action": action,
        });
        // The core types check every value (ids, amounts) with their own messages.
        let line: OrderLine = serde_json::from_value(line)
            .map_err(|e| ApiError::invalid_field(&field, &e.to_string()))?;
        lines.push(line);
    }
    Ok(Items {
        lines,
        attributes,
        currency,
    })
}

impl ProductOrderCreate {
    /// The core order this ProductOrder asks for. `supplier` is the tenant's default, used
    /// when no related party has the role `Supplier`.
    ///
    /// The order id is left to the core (which makes one after it has compared a retry with the
    /// request its `key` first came with), so nothing here differs between two tries of one
    /// request.
    pub fn into_new_order(
        self,
        supplier: Option<&str>,
        key: Option<&str>,
    ) -> Result<NewOrder, ApiError> {
        if self
            .type_name
            .as_deref()
            .is_some_and(|t| t != "ProductOrder")
        {
            return Err(ApiError::invalid_field("@type", "must be 'ProductOrder'"));
        }
        let order_ref = match (self.external_id.first(), key) {
            (Some(e), _) => e.id.clone(),
            (None, Some(key)) => format!("TMF-{}", &orderflow_config::sha256_hex(key)[..16]),
            (None, None) => format!("TMF-{}", uuid::Uuid::now_v7().simple()),
        };
        let named = self.related_party.iter().find(|p| {
            p.role
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case("supplier"))
        });
        let supplier_id = match (named, supplier) {
            (Some(p), _) => match &p.party_or_party_role {
                Some(party) => party.id.clone(),
                None => {
                    return Err(ApiError::invalid_field(
                        "relatedParty",
                        "the Supplier party has no partyOrPartyRole.id",
                    ));
                }
            },
            (None, Some(default)) => default.to_string(),
            (None, None) => {
                return Err(ApiError::invalid_field(
                    "relatedParty",
                    "name the supplier (a party with role 'Supplier'): this tenant has no default",
                ));
            }
        };
        let Items {
            lines,
            attributes,
            currency,
        } = read_items(self.product_order_item)?;
        let order_type = if lines.iter().all(|l| l.action == LineAction::Cancel) {
            OrderType::Cease
        } else if lines.iter().all(|l| l.action == LineAction::Add) {
            OrderType::Provide
        } else {
            OrderType::Modify
        };
        let notes: Vec<&str> = self.note.iter().map(|n| n.text.as_str()).collect();
        Ok(NewOrder {
            order_id: None,
            order_ref,
            supplier_id,
            order_type,
            unsolicited: false,
            recurring: false,
            customer: None,
            contact: None,
            site: None,
            requested_date: self
                .requested_completion_date
                .map(|d| d.chars().take(10).collect()),
            notes: (!notes.is_empty()).then(|| notes.join("\n")),
            attributes,
            lines,
            currency,
            time_zone: None,
            place: Some(true),
        })
    }
}
