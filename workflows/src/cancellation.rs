//! Cancellation and reactivation (SPEC §5, seeds/000, 002, 003, 004) as pure functions: may the
//! order be cancelled or reactivated now, and by which path.
//!
//! Like [`crate::amendment`], this runs inside Update validators and handlers and in the API
//! (capabilities, orders whose workflow has ended), so it is deterministic: the caller passes
//! in everything, including "now".

use crate::amendment::PendingKind;
use crate::model::{OrderState, OrderView, RequestState};
use crate::rules::RuleError;
use serde::{Deserialize, Serialize};

/// The order cannot be cancelled in its state. 409.
pub const NOT_CANCELLABLE: &str = "NOT_CANCELLABLE";
/// An unsolicited cease may only be cancelled with one of the configured reason codes. 409.
pub const REASON_CODE_NOT_ALLOWED: &str = "REASON_CODE_NOT_ALLOWED";
/// The order is not INACTIVE (nor ACTIVE with a scheduled cancellation). 409.
pub const NOT_REACTIVATABLE: &str = "NOT_REACTIVATABLE";
/// An effective date was given where nothing can be scheduled. 422.
pub const SCHEDULE_NOT_ALLOWED: &str = "SCHEDULE_NOT_ALLOWED";

/// Reason codes that may cancel an unsolicited cease when configuration names none.
pub const DEFAULT_UNSOLICITED_REASON_CODES: [&str; 2] = ["CUSTOMER_RETAINED", "RAISED_IN_ERROR"];

/// How a cancellation is carried out.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CancelPath {
    /// Not transferred yet: cancelled at once, the supplier is never contacted (seeds/002).
    Consumer,
    /// Transferred: a request to the supplier, who answers AP or RE (seeds/003).
    Supplier,
    /// A fulfilled subscription (ACTIVE): deactivated now or at its effective date (seeds/004).
    Subscription,
}

/// A cancellation request and its outcome (`GET /v1/orders/{id}/cancellations/{id}`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cancellation {
    pub cancellation_id: String,
    /// PENDING (at the supplier), ACCEPTED, REJECTED, SCHEDULED (a subscription's future
    /// deactivation) or SUPERSEDED (replaced, or the order ended first).
    pub state: RequestState,
    pub path: CancelPath,
    /// The supplier's answer, `AP` or `RE`; null on the consumer and subscription paths.
    pub response_code: Option<String>,
    pub reason: String,
    pub reason_code: Option<String>,
    /// When a subscription's cancellation takes effect (RFC 3339), if one was asked for.
    pub effective_at: Option<String>,
    pub requested_at: String,
    pub decided_at: Option<String>,
    /// Why the supplier rejected it, or why it was superseded.
    pub decision_reason: Option<String>,
    /// The last event written about this request.
    pub event_uuid: Option<String>,
}

/// A reactivation request (`POST /v1/orders/{id}/reactivate`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reactivation {
    pub reactivation_id: String,
    /// ACCEPTED (done), SCHEDULED (until `effective_at`) or SUPERSEDED (replaced or cancelled).
    pub state: RequestState,
    pub reason: Option<String>,
    pub effective_at: Option<String>,
    pub requested_at: String,
    pub decided_at: Option<String>,
    pub decision_reason: Option<String>,
    pub event_uuid: Option<String>,
}

/// What cancellations and reactivations share: an id, a state, and how they are settled.
pub trait Request: Clone {
    fn id(&self) -> &str;
    fn state(&self) -> RequestState;
    /// Settles the request as `to` at `at`; a superseded one keeps `why`.
    fn settle(&mut self, to: RequestState, why: &str, at: &str);
}

macro_rules! request {
    ($type:ty, $id:ident) => {
        impl Request for $type {
            fn id(&self) -> &str {
                &self.$id
            }

            fn state(&self) -> RequestState {
                self.state
            }

            fn settle(&mut self, to: RequestState, why: &str, at: &str) {
                self.state = to;
                self.decided_at = Some(at.to_string());
                if to == RequestState::Superseded {
                    self.decision_reason = Some(why.to_string());
                }
            }
        }
    };
}

request!(Cancellation, cancellation_id);
request!(Reactivation, reactivation_id);

/// Any request resource other than an amendment, persisted by `store.record`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderRequest {
    Cancellation(Cancellation),
    Reactivation(Reactivation),
}

impl OrderRequest {
    pub fn id(&self) -> &str {
        match self {
            OrderRequest::Cancellation(c) => c.id(),
            OrderRequest::Reactivation(r) => r.id(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            OrderRequest::Cancellation(_) => "CANCELLATION",
            OrderRequest::Reactivation(_) => "REACTIVATION",
        }
    }

    pub fn state(&self) -> RequestState {
        match self {
            OrderRequest::Cancellation(c) => c.state(),
            OrderRequest::Reactivation(r) => r.state(),
        }
    }
}

/// May the order be cancelled now, and how? `reason_code` matters only for an unsolicited
/// cease, which may be cancelled only with one of `allowed_codes`.
///
/// Checks in order: DRAFT (delete it instead), START, terminal states and INACTIVE without a
/// scheduled reactivation are `NOT_CANCELLABLE`; an open cancellation is
/// `REQUEST_IN_PROGRESS` (an open amendment does not block, seeds/000); an unsolicited cease
/// needs an allowed reason code; ACTIVE (and INACTIVE with a scheduled reactivation) take the
/// subscription path; an order the supplier has not received takes the consumer path;
/// ERROR_HANDLER after transfer waits for an operator; everything else goes to the supplier.
pub fn cancel_path(
    view: &OrderView,
    pending: Option<PendingKind>,
    reason_code: Option<&str>,
    allowed_codes: &[String],
) -> Result<CancelPath, RuleError> {
    use OrderState::*;
    let id = &view.document.order_id;
    let refuse = |hint: &str| {
        Err(RuleError::new(
            NOT_CANCELLABLE,
            format!(
                "order {id} is {} and cannot be cancelled: {hint}",
                view.state
            ),
        ))
    };
    match view.state {
        Draft => return refuse("it was never placed; delete it with DELETE /v1/orders/{id}"),
        Start => return refuse("it is still being recorded; try again in a moment"),
        Complete => return refuse("it has been fulfilled; place a CEASE order to stop it"),
        Cancelled | Withdrawn => return refuse("it has already ended"),
        Inactive if view.scheduled_reactivation.is_none() => {
            return refuse("the subscription is already inactive");
        }
        _ => {}
    }
    if pending == Some(PendingKind::Cancellation) {
        return Err(RuleError::new(
            crate::amendment::REQUEST_IN_PROGRESS,
            format!(
                "a cancellation of order {id} is already waiting for the supplier's answer \
                 (see the order's pending_request)"
            ),
        ));
    }
    if view.document.unsolicited
        && !reason_code.is_some_and(|c| allowed_codes.iter().any(|a| a == c))
    {
        return Err(RuleError::new(
            REASON_CODE_NOT_ALLOWED,
            format!(
                "order {id} is an unsolicited cease; it can only be cancelled with reason_code {}",
                allowed_codes.join(" or ")
            ),
        ));
    }
    match view.state {
        Active | Inactive => Ok(CancelPath::Subscription),
        _ if !view.transferred => Ok(CancelPath::Consumer),
        ErrorHandler => refuse(
            "the supplier has it and it is waiting for an operator; ask an operator to retry \
             or withdraw it",
        ),
        _ => Ok(CancelPath::Supplier),
    }
}

/// Is a reactivation allowed now? INACTIVE subscriptions reactivate (now or at a date); an
/// ACTIVE one with a scheduled cancellation loses the schedule. Anything else is refused.
pub fn check_reactivation(view: &OrderView) -> Result<(), RuleError> {
    match view.state {
        OrderState::Inactive => Ok(()),
        OrderState::Active if view.scheduled_cancellation.is_some() => Ok(()),
        state => Err(RuleError::new(
            NOT_REACTIVATABLE,
            format!(
                "order {} is {state}; only an INACTIVE subscription (or an ACTIVE one with a \
                 scheduled cancellation) can be reactivated",
                view.document.order_id
            ),
        )),
    }
}

/// An effective date may only be given where something can be scheduled: an ACTIVE
/// subscription's cancellation, or an INACTIVE one's reactivation.
pub fn check_schedule(path: CancelPath, view: &OrderView) -> Result<(), RuleError> {
    if path == CancelPath::Subscription && view.state == OrderState::Active {
        Ok(())
    } else {
        Err(RuleError::new(
            SCHEDULE_NOT_ALLOWED,
            format!(
                "order {} is {}: only an ACTIVE subscription's cancellation can take an \
                 effective_date or effective_at; send the cancellation without one",
                view.document.order_id, view.state
            ),
        ))
    }
}

/// Is `effective_at` (RFC 3339) still in the future at `now`? No date, or an unreadable one
/// (the API refuses those before they get here), means "now".
pub fn is_future(effective_at: Option<&str>, now: chrono::DateTime<chrono::Utc>) -> bool {
    effective_at
        .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
        .is_some_and(|at| at > now)
}

/// `effective_date` (`YYYY-MM-DD`, taken as midnight UTC) or `effective_at` (RFC 3339) as one
/// RFC 3339 instant; both at once, or a malformed value, is an error naming the field.
pub fn effective_instant(
    effective_date: Option<&str>,
    effective_at: Option<&str>,
) -> Result<Option<String>, crate::rules::FieldError> {
    let error = |field: &str, message: &str| crate::rules::FieldError {
        field: field.to_string(),
        message: message.to_string(),
    };
    match (effective_date, effective_at) {
        (Some(_), Some(_)) => Err(error(
            "effective_at",
            "give either effective_date or effective_at, not both",
        )),
        (Some(date), None) => chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .ok()
            .filter(|_| date.len() == 10)
            .map(|d| Some(format!("{}T00:00:00Z", d.format("%Y-%m-%d"))))
            .ok_or_else(|| error("effective_date", "must be a date, YYYY-MM-DD")),
        (None, Some(at)) => chrono::DateTime::parse_from_rfc3339(at)
            .map(|t| {
                Some(
                    t.with_timezone(&chrono::Utc)
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                )
            })
            .map_err(|_| {
                error(
                    "effective_at",
                    "must be an RFC 3339 time, e.g. 2026-12-01T09:00:00Z",
                )
            }),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{OrderDocument, OrderType};
    use serde_json::json;

    fn view(state: OrderState, transferred: bool) -> OrderView {
        let doc = OrderDocument {
            recurring: true,
            ..OrderDocument::new("acme", "o-1", "PO-1", "sim", OrderType::Provide)
        };
        let mut v = OrderView::received(doc, "2026-01-01T00:00:00Z".into());
        v.state = state;
        v.transferred = transferred;
        v
    }

    fn codes() -> Vec<String> {
        DEFAULT_UNSOLICITED_REASON_CODES.map(String::from).to_vec()
    }

    #[test]
    fn every_state_has_one_answer() {
        use OrderState::*;
        for state in OrderState::ALL {
            for transferred in [false, true] {
                let got = cancel_path(&view(state, transferred), None, None, &codes());
                let want = match (state, transferred) {
                    (Draft | Start | Complete | Cancelled | Withdrawn | Inactive, _) => {
                        Err(NOT_CANCELLABLE)
                    }
                    (Active, _) => Ok(CancelPath::Subscription),
                    (_, false) => Ok(CancelPath::Consumer),
                    (ErrorHandler, true) => Err(NOT_CANCELLABLE),
                    (_, true) => Ok(CancelPath::Supplier),
                };
                assert_eq!(
                    got.map_err(|e| e.code),
                    want.map_err(String::from),
                    "{state} {transferred}"
                );
            }
        }
    }

    #[test]
    fn an_open_cancellation_blocks_but_an_amendment_does_not() {
        let v = view(OrderState::Execution, true);
        let e = cancel_path(&v, Some(PendingKind::Cancellation), None, &codes()).unwrap_err();
        assert_eq!(e.code, crate::amendment::REQUEST_IN_PROGRESS);
        assert_eq!(
            cancel_path(&v, Some(PendingKind::Amendment), None, &codes()),
            Ok(CancelPath::Supplier)
        );
    }

    #[test]
    fn unsolicited_ceases_need_an_allowed_reason_code() {
        let mut v = view(OrderState::Execution, true);
        v.document.unsolicited = true;
        for code in [None, Some("CHANGED_MIND"), Some("customer_retained")] {
            let e = cancel_path(&v, None, code, &codes()).unwrap_err();
            assert_eq!(e.code, REASON_CODE_NOT_ALLOWED);
            assert!(e.message.contains("CUSTOMER_RETAINED"), "{}", e.message);
        }
        for code in DEFAULT_UNSOLICITED_REASON_CODES {
            assert_eq!(
                cancel_path(&v, None, Some(code), &codes()),
                Ok(CancelPath::Supplier)
            );
        }
    }

    #[test]
    fn inactive_with_a_scheduled_reactivation_can_drop_it() {
        let mut v = view(OrderState::Inactive, true);
        v.scheduled_reactivation = Some(json!({"reactivation_id": "r"}));
        assert_eq!(
            cancel_path(&v, None, None, &codes()),
            Ok(CancelPath::Subscription)
        );
        assert!(check_schedule(CancelPath::Subscription, &v).is_err());
    }

    #[test]
    fn reactivation_rules() {
        assert!(check_reactivation(&view(OrderState::Inactive, true)).is_ok());
        let mut active = view(OrderState::Active, true);
        assert_eq!(
            check_reactivation(&active).unwrap_err().code,
            NOT_REACTIVATABLE
        );
        active.scheduled_cancellation = Some(json!({"cancellation_id": "c"}));
        assert!(check_reactivation(&active).is_ok());
        for state in [
            OrderState::Execution,
            OrderState::Complete,
            OrderState::Cancelled,
        ] {
            assert_eq!(
                check_reactivation(&view(state, true)).unwrap_err().code,
                NOT_REACTIVATABLE
            );
        }
    }

    #[test]
    fn schedules_only_for_active_subscriptions() {
        assert!(check_schedule(CancelPath::Subscription, &view(OrderState::Active, true)).is_ok());
        let e =
            check_schedule(CancelPath::Supplier, &view(OrderState::Execution, true)).unwrap_err();
        assert_eq!(e.code, SCHEDULE_NOT_ALLOWED);
    }

    #[test]
    fn effective_dates_parse_to_instants() {
        assert_eq!(effective_instant(None, None).unwrap(), None);
        assert_eq!(
            effective_instant(Some("2026-12-01"), None)
                .unwrap()
                .as_deref(),
            Some("2026-12-01T00:00:00Z")
        );
        assert_eq!(
            effective_instant(None, Some("2026-12-01T10:00:00+01:00"))
                .unwrap()
                .as_deref(),
            Some("2026-12-01T09:00:00.000Z")
        );
        for (d, a) in [
            (Some("2026-13-01"), None),
            (Some("2026-1-1"), None),
            (None, Some("tomorrow")),
            (Some("2026-12-01"), Some("2026-12-01T00:00:00Z")),
        ] {
            assert!(effective_instant(d, a).is_err(), "{d:?} {a:?}");
        }
    }

    #[test]
    fn future_is_strictly_after_now() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-23T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert!(is_future(Some("2026-11-23T12:00:01Z"), now));
        assert!(!is_future(Some("2026-11-23T12:00:00Z"), now));
        assert!(!is_future(Some("2026-11-23T00:00:00Z"), now));
        assert!(!is_future(None, now));
    }
}
