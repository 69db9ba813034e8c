//! Amounts in minor units, exact decimals, and the money fields' checks.

use super::*;
use crate::ids::{LineId, Price};
use crate::model::OrderType;

fn line(
    id: &str,
    quantity: u32,
    price: &str,
    discount: Option<&str>,
    tax: Option<&str>,
) -> OrderLine {
    OrderLine {
        line_id: LineId::parse(id).unwrap(),
        product_code: "P".into(),
        quantity,
        unit_price: Price::unchecked(price),
        action: LineAction::Add,
        discount: discount.map(Price::unchecked),
        tax_rate: tax.map(Price::unchecked),
    }
}

fn doc(currency: Option<&str>, lines: Vec<OrderLine>) -> OrderDocument {
    OrderDocument {
        currency: currency.map(String::from),
        lines,
        ..OrderDocument::for_test("acme", "o-1", "PO-1", "sim", OrderType::Provide)
    }
}

#[test]
fn lines_and_the_order_come_to_exact_amounts_in_minor_units() {
    let d = doc(
        Some("EUR"),
        vec![
            line("a", 3, "19.99", Some("5"), Some("20")),
            line("b", 1, "0.10", None, Some("8.5")),
        ],
    );
    let a = amounts(&d);
    // 3 × 19.99 − 5 = 54.97; tax 10.994 → 10.99.
    assert_eq!(
        (
            a.lines[0].subtotal.as_str(),
            a.lines[0].tax.as_str(),
            a.lines[0].total.as_str()
        ),
        ("54.97", "10.99", "65.96")
    );
    // 0.10 × 8.5 % = 0.0085 → 0.01 (half away from zero).
    assert_eq!(
        (a.lines[1].tax.as_str(), a.lines[1].total.as_str()),
        ("0.01", "0.11")
    );
    assert_eq!(
        (a.subtotal.as_str(), a.tax.as_str(), a.total.as_str()),
        ("55.07", "11.00", "66.07")
    );
    assert_eq!(a.currency.as_deref(), Some("EUR"));
    // Floats would not get this right: 0.1 + 0.2.
    let d = doc(
        None,
        vec![
            line("a", 1, "0.1", None, None),
            line("b", 1, "0.2", None, None),
        ],
    );
    assert_eq!(amounts(&d).total, "0.30");
}

#[test]
fn each_currency_keeps_its_own_minor_units_and_cancelled_lines_do_not_count() {
    let mut yen = doc(Some("JPY"), vec![line("a", 2, "1250", None, Some("10"))]);
    assert_eq!(amounts(&yen).total, "2750");
    let dinar = doc(Some("KWD"), vec![line("a", 1, "1.2345", None, None)]);
    assert_eq!(amounts(&dinar).total, "1.235");
    yen.lines.push(OrderLine {
        action: LineAction::Cancel,
        ..line("b", 1, "1000", None, None)
    });
    let a = amounts(&yen);
    assert_eq!(
        (a.total.as_str(), a.lines[1].total.as_str()),
        ("2750", "1000")
    );
    assert_eq!(minor_units(None), 2);
    assert_eq!(minor_units(Some("XAU")), 2, "no minor unit: the default");
}

#[test]
fn bad_money_fields_are_named() {
    let mut d = doc(
        Some("EURO"),
        vec![
            line("a", 2, "10", Some("20.01"), Some("101")),
            line("b", 1, "10", Some("1,5"), Some("-1")),
        ],
    );
    d.time_zone = Some("Mars/Olympus".into());
    let fields: Vec<String> = check_money(&d).into_iter().map(|e| e.field).collect();
    assert_eq!(
        fields,
        [
            "currency",
            "time_zone",
            "lines[0].discount",
            "lines[0].tax_rate",
            "lines[1].discount",
            "lines[1].tax_rate"
        ]
    );
    let mut d = doc(
        Some("XAU"),
        vec![line("a", 2, "10", Some("20"), Some("100"))],
    );
    assert_eq!(check_money(&d).len(), 1, "gold has no minor unit");
    d.currency = Some("USD".into());
    d.time_zone = Some("America/New_York".into());
    assert!(check_money(&d).is_empty());
}
