//! Telling the supplier that a subscription changed (seeds/004): a deactivation or a
//! reactivation takes effect on the order at once (the order follows the tenant), and the
//! supplier, who runs and bills the service, is told afterwards. Each change queues one
//! notice; the workflow sends them in order and removes each when the supplier has it.

use super::{Change, EventDetail, Order};
use crate::model::EventType;
use serde::{Deserialize, Serialize};

/// What the supplier is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NoticeKind {
    Deactivate,
    Reactivate,
}

impl NoticeKind {
    /// The notice an event calls for: a subscription that went INACTIVE or ACTIVE again.
    fn of(event: EventType) -> Option<NoticeKind> {
        match event {
            EventType::OrderDeactivated => Some(NoticeKind::Deactivate),
            EventType::OrderReactivated => Some(NoticeKind::Reactivate),
            _ => None,
        }
    }

    /// What the change is called in messages.
    pub fn noun(self) -> &'static str {
        match self {
            NoticeKind::Deactivate => "deactivation",
            NoticeKind::Reactivate => "reactivation",
        }
    }

    /// The supplier's path below `/orders/{id}/`, also the step of the call's idempotency key.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Deactivate => "deactivate",
            NoticeKind::Reactivate => "reactivate",
        }
    }
}

/// One change the supplier has yet to be told of.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SupplierNotice {
    pub kind: NoticeKind,
    /// The cancellation or reactivation that made the change.
    pub request_id: String,
    /// When it took effect (RFC 3339).
    pub effective_at: String,
    pub reason: Option<String>,
}

impl SupplierNotice {
    /// The step of the call's idempotency key: one per request, so a retried call repeats it.
    pub fn step(&self) -> String {
        format!("{}/{}", self.kind.as_str(), self.request_id)
    }
}

impl Order {
    /// Queues the notice that `event` calls for, for the request `request_id` whose change
    /// took effect at `at`.
    pub(super) fn queue_notice(
        &mut self,
        event: EventType,
        request_id: Option<&str>,
        reason: Option<String>,
        at: &str,
    ) {
        if let (Some(kind), Some(request_id)) = (NoticeKind::of(event), request_id) {
            self.notices.push(SupplierNotice {
                kind,
                request_id: request_id.to_string(),
                effective_at: at.to_string(),
                reason,
            });
        }
    }

    /// The oldest notice the supplier has yet to get.
    pub fn next_notice(&self) -> Option<&SupplierNotice> {
        self.notices.first()
    }

    /// The supplier has the notice for `request_id`.
    pub fn notice_delivered(&mut self, request_id: &str) {
        self.notices.retain(|n| n.request_id != request_id);
    }

    /// The supplier could not be told (it refused, or every retry failed): the order stays as
    /// the tenant asked, and an event says the supplier may not know, for an operator.
    pub fn notice_failed(&mut self, request_id: &str, reason: String) -> Option<Change> {
        let at = self
            .notices
            .iter()
            .position(|n| n.request_id == request_id)?;
        let notice = self.notices.remove(at);
        Some(Change {
            reason: Some(reason.clone()),
            ..Change::event(
                EventType::SupplierNoticeFailed,
                EventDetail::Notice {
                    notice: notice.kind,
                    request_id: notice.request_id,
                    effective_at: notice.effective_at,
                    reason,
                },
            )
        })
    }

    /// Forgets every queued notice (runs recorded before the supplier was told).
    pub fn drop_notices(&mut self) {
        self.notices.clear();
    }
}
