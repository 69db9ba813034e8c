//! Money and time on the order (seeds/004's snapshot): an order may name its `currency`
//! (ISO 4217) and `time_zone` (IANA), and each line a `discount` (an amount off the line) and
//! a `tax_rate` (a percentage). The view shows what they come to, per line and for the order,
//! as decimal strings in the currency's minor units (`"12.50"` for EUR, `"1250"` for JPY),
//! computed with exact decimals: money is never a float.
//!
//! A line's subtotal is `quantity × unit_price − discount`, its tax `subtotal × tax_rate /
//! 100` rounded half away from zero to the minor unit, its total the two added; the order's
//! amounts are the sums over its lines, except lines being cancelled (`action: CANCEL`).
//! Without a currency amounts are kept to 2 decimals.

use crate::model::{LineAction, OrderDocument, OrderLine};
use crate::rules::FieldError;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// Minor units when the order names no currency.
const DEFAULT_MINOR_UNITS: u32 = 2;

/// What one line comes to.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineAmounts {
    pub line_id: String,
    pub subtotal: String,
    pub tax: String,
    pub total: String,
}

/// What the order comes to, per line and in all.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amounts {
    /// The order's currency, if it names one.
    pub currency: Option<String>,
    pub subtotal: String,
    pub tax: String,
    pub total: String,
    pub lines: Vec<LineAmounts>,
}

/// The number of decimals of `currency` (2 when none is named or it has no minor unit).
pub fn minor_units(currency: Option<&str>) -> u32 {
    currency
        .and_then(iso_currency::Currency::from_code)
        .and_then(|c| c.exponent())
        .map_or(DEFAULT_MINOR_UNITS, u32::from)
}

fn decimal(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap_or_default()
}

fn round(amount: Decimal, units: u32) -> Decimal {
    amount.round_dp_with_strategy(units, RoundingStrategy::MidpointAwayFromZero)
}

/// The text of `amount` with exactly `units` decimals.
fn text(amount: Decimal, units: u32) -> String {
    let mut rounded = round(amount, units);
    rounded.rescale(units);
    rounded.to_string()
}

/// What `line` comes to, unrounded: (subtotal, tax). A discount larger than the line is
/// refused by [`check_money`]; here it leaves the line at zero.
fn line_amounts(line: &OrderLine, units: u32) -> (Decimal, Decimal) {
    let gross = decimal(line.unit_price.as_str()) * Decimal::from(line.quantity);
    let discount = line.discount.as_deref().map(decimal).unwrap_or_default();
    let subtotal = round((gross - discount).max(Decimal::ZERO), units);
    let rate = line.tax_rate.as_deref().map(decimal).unwrap_or_default();
    let tax = round(subtotal * rate / Decimal::ONE_HUNDRED, units);
    (subtotal, tax)
}

/// What the order comes to.
pub fn amounts(doc: &OrderDocument) -> Amounts {
    let units = minor_units(doc.currency.as_deref());
    let (mut subtotal, mut tax) = (Decimal::ZERO, Decimal::ZERO);
    let mut lines = Vec::with_capacity(doc.lines.len());
    for line in &doc.lines {
        let (s, t) = line_amounts(line, units);
        if line.action != LineAction::Cancel {
            subtotal += s;
            tax += t;
        }
        lines.push(LineAmounts {
            line_id: line.line_id.to_string(),
            subtotal: text(s, units),
            tax: text(t, units),
            total: text(s + t, units),
        });
    }
    Amounts {
        currency: doc.currency.clone(),
        subtotal: text(subtotal, units),
        tax: text(tax, units),
        total: text(subtotal + tax, units),
        lines,
    }
}

fn field(name: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError {
        field: name.into(),
        message: message.into(),
    }
}

/// The money and time fields of an order: a currency ISO 4217 knows with a minor unit, an
/// IANA time zone, and per line a discount no larger than the line and a tax rate of 0–100.
pub fn check_money(doc: &OrderDocument) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(code) = &doc.currency
        && iso_currency::Currency::from_code(code)
            .and_then(|c| c.exponent())
            .is_none()
    {
        errors.push(field(
            "currency",
            "must be an ISO 4217 currency code with minor units, e.g. EUR, USD or JPY",
        ));
    }
    if let Some(zone) = &doc.time_zone
        && chrono_tz::Tz::from_str(zone).is_err()
    {
        errors.push(field(
            "time_zone",
            "must be an IANA time zone, e.g. Europe/Paris or UTC",
        ));
    }
    for (i, line) in doc.lines.iter().enumerate() {
        if let Some(discount) = &line.discount {
            let gross = decimal(line.unit_price.as_str()) * Decimal::from(line.quantity);
            if !discount.is_valid() {
                errors.push(field(
                    format!("lines[{i}].discount"),
                    "must be a decimal string such as \"5.00\"",
                ));
            } else if decimal(discount.as_str()) > gross {
                errors.push(field(
                    format!("lines[{i}].discount"),
                    format!("must not exceed the line's quantity × unit_price ({gross})"),
                ));
            }
        }
        if let Some(rate) = &line.tax_rate
            && (!rate.is_valid() || decimal(rate.as_str()) > Decimal::ONE_HUNDRED)
        {
            errors.push(field(
                format!("lines[{i}].tax_rate"),
                "must be a percentage from 0 to 100 as a decimal string, e.g. \"20\" or \"8.5\"",
            ));
        }
    }
    errors
}

/// Midnight at the start of `date` in the time zone `zone` (UTC when none, or an unknown
/// name), as an RFC 3339 instant in UTC. A midnight that does not exist (a daylight-saving
/// gap) is the first instant of the day that does.
pub fn midnight(date: chrono::NaiveDate, zone: Option<&str>) -> String {
    use chrono::TimeZone;
    let tz = zone
        .and_then(|z| chrono_tz::Tz::from_str(z).ok())
        .unwrap_or(chrono_tz::UTC);
    let start = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    let local = (0..24 * 60)
        .map(|m| start + chrono::Duration::minutes(m))
        .find_map(|t| tz.from_local_datetime(&t).earliest());
    local
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_else(|| chrono::Utc.from_utc_datetime(&start))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests;
