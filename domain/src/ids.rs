//! Identifiers and amounts that parse. Ids end up in workflow ids, URLs and supplier paths, so
//! they are kept to a safe alphabet (`A-Z a-z 0-9 . _ -`, 1 to 128 characters); that also makes
//! the colon in a supplier order id (`tenant:order`) unambiguous. Prices are decimal strings,
//! never floats, so amounts survive every round trip exactly.
//!
//! On the wire each is its plain string (`#[serde(transparent)]`), and reading one does not
//! check it: a submitted order is checked as a whole by [`crate::rules::validate_order`], which
//! reports every bad field at once rather than failing on the first.

use serde::{Deserialize, Serialize};

/// Why a string is not a valid id or price.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub kind: &'static str,
    pub value: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "'{}' is not a valid {}", self.value, self.kind)
    }
}

impl std::error::Error for ParseError {}

/// Is `id` 1-128 characters of `A-Z a-z 0-9 . _ -`?
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Is `price` a non-negative decimal with at most 15 integer and 4 fractional digits
/// (`"12"`, `"12.50"`)?
pub fn is_valid_price(price: &str) -> bool {
    let (int, frac) = price.split_once('.').unwrap_or((price, ""));
    !int.is_empty()
        && int.len() <= 15
        && int.chars().all(|c| c.is_ascii_digit())
        && price.contains('.') != frac.is_empty()
        && frac.len() <= 4
        && frac.chars().all(|c| c.is_ascii_digit())
}

macro_rules! string_newtype {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $valid:path) => {
        $(#[$doc])*
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Checks `value` and wraps it.
            pub fn parse(value: &str) -> Result<$name, ParseError> {
                if $valid(value) {
                    Ok($name(value.to_string()))
                } else {
                    Err(ParseError { kind: $kind, value: value.to_string() })
                }
            }

            /// Wraps `value` without checking it, as reading it from the wire does; for values
            /// that are checked as part of a whole, e.g. by [`crate::rules::validate_order`].
            pub fn unchecked(value: impl Into<String>) -> $name {
                $name(value.into())
            }

            /// Is the wrapped string valid? (Values read from the wire are not checked.)
            pub fn is_valid(&self) -> bool {
                $valid(&self.0)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = ParseError;

            fn from_str(value: &str) -> Result<$name, ParseError> {
                $name::parse(value)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
    };
}

string_newtype!(
    /// A tenant, as named in API keys and workflow ids.
    TenantId,
    "tenant id",
    is_valid_id
);
string_newtype!(
    /// An order, unique per tenant and never reused.
    OrderId,
    "order id",
    is_valid_id
);
string_newtype!(
    /// A supplier, as configured in the supplier directory.
    SupplierId,
    "supplier id",
    is_valid_id
);
string_newtype!(
    /// A line of an order, unique within the order.
    LineId,
    "line id",
    is_valid_id
);
string_newtype!(
    /// A non-negative decimal amount with at most 4 fractional digits, e.g. `"12.50"`.
    Price,
    "price",
    is_valid_price
);

#[cfg(test)]
mod tests;
