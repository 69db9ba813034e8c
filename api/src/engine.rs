//! The API's side of Temporal: start order workflows, send them updates, check the engine.
//! Translates Temporal's errors into API errors so handlers stay about HTTP. The handlers
//! reach it through the [`crate::order_engine::Engine`] trait.

use crate::error::ApiError;
use crate::order_engine::Engine;
use async_trait::async_trait;
use orderflow_domain::model::{OrderState, OrderView, workflow_id};
use orderflow_domain::rules::RuleError;
use orderflow_workflows::order_workflow::{
    AmendOutcome, AmendRequest, AmendmentDecision, CancelOutcome, CancelRequest,
    CancellationDecision, OperatorRequest, ReactivateOutcome, ReactivateRequest, SA_ORDER_REF,
    SA_ORDER_STATE, SA_PENDING_REQUEST, SA_SUPPLIER_ID, SA_TENANT_ID, SupplierAmendment,
    SupplierCancel,
};
use orderflow_workflows::{OrderWorkflow, OrderWorkflowInput, StepCallback};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use temporalio_client::errors::{
    WorkflowInteractionError, WorkflowStartError, WorkflowUpdateError,
};
use temporalio_client::{
    Client, WorkflowExecuteUpdateOptions, WorkflowIdReusePolicy, WorkflowSignalOptions,
    WorkflowStartOptions,
};
use temporalio_common::search_attributes::SearchAttributes;
use temporalio_common::{HasWorkflowDefinition, SignalDefinition, UpdateDefinition};

#[derive(Clone)]
pub struct TemporalEngine {
    client: Client,
    task_queue: String,
    /// One Update at a time per order from this API instance: the server caps in-flight
    /// Updates per workflow, and queuing here turns a burst into quick, ordered answers.
    order_locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

/// How long an Update may take before the API gives up waiting (the engine may still apply
/// it; the order then shows it).
const UPDATE_TIMEOUT: Duration = Duration::from_secs(30);

/// Requests queued for one order in one API instance, beyond which a new one is refused with
/// 429 at once: a tenant hammering one order cannot pile up tasks and memory here. Far above
/// what a client racing itself sends (the tests send 20 at once, which must all be answered).
const MAX_WAITERS_PER_ORDER: usize = 64;

impl TemporalEngine {
    pub fn new(client: Client, task_queue: String) -> TemporalEngine {
        TemporalEngine {
            client,
            task_queue,
            order_locks: Arc::default(),
        }
    }

    /// Runs `update` for one order, serialized with other Updates to the same order and
    /// bounded in time.
    async fn serialized<T>(
        &self,
        workflow_id: &str,
        update: impl Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        let lock = {
            let mut locks = self.order_locks.lock().unwrap_or_else(|e| e.into_inner());
            let lock = locks.entry(workflow_id.to_string()).or_default();
            // The map holds one reference; every other is a request queued or running.
            if Arc::strong_count(lock) > MAX_WAITERS_PER_ORDER {
                return Err(ApiError::too_many_requests(
                    "too many requests are waiting for this order; retry shortly",
                    1,
                ));
            }
            lock.clone()
        };
        let result = {
            let _turn = lock.lock().await;
            tokio::time::timeout(UPDATE_TIMEOUT, update).await
        };
        drop(lock);
        let mut locks = self.order_locks.lock().unwrap_or_else(|e| e.into_inner());
        if locks
            .get(workflow_id)
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            locks.remove(workflow_id);
        }
        drop(locks);
        result.unwrap_or_else(|_| {
            Err(ApiError::unavailable(
                "the order engine did not answer in time; read the order to see whether the request was applied",
                format!("update to {workflow_id} timed out after {UPDATE_TIMEOUT:?}"),
            ))
        })
    }

    /// Sends one Update to the order's workflow: serialized per order, bounded in time, and
    /// with refusals mapped to their HTTP status. An order that continues as new closes one
    /// run and opens the next under the same id: an Update that met the closing run is sent
    /// again (twice at most), so only an order that has really ended answers ORDER_CLOSED.
    async fn update<U>(
        &self,
        tenant_id: &str,
        order_id: &str,
        update: impl Fn() -> U,
        input: U::Input,
    ) -> Result<U::Output, ApiError>
    where
        U: UpdateDefinition<Workflow = <OrderWorkflow as HasWorkflowDefinition>::Run>,
        U::Input: Send + Clone,
        U::Output: 'static,
    {
        let id = workflow_id(tenant_id, order_id);
        let handle = self.client.get_workflow_handle::<OrderWorkflow>(id.clone());
        let mut attempts = 0;
        loop {
            let answer = self
                .serialized(&id, async {
                    handle
                        .execute_update(
                            update(),
                            input.clone(),
                            WorkflowExecuteUpdateOptions::default(),
                        )
                        .await
                        .map_err(|e| update_error(e, order_id))
                })
                .await;
            match answer {
                Err(e) if e.code == "ORDER_CLOSED" && attempts < 2 => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                answer => return answer,
            }
        }
    }

    /// Sends one signal to the order's workflow (an ended or unknown order is 404).
    async fn signal<S>(
        &self,
        tenant_id: &str,
        order_id: &str,
        signal: S,
        input: S::Input,
    ) -> Result<(), ApiError>
    where
        S: SignalDefinition<Workflow = <OrderWorkflow as HasWorkflowDefinition>::Run>,
        S::Input: Send,
    {
        self.client
            .get_workflow_handle::<OrderWorkflow>(workflow_id(tenant_id, order_id))
            .signal(signal, input, WorkflowSignalOptions::default())
            .await
            .map_err(|e| match e {
                // The server answers NOT_FOUND for an unknown and for a closed workflow alike;
                // callers have found the order's row first, so its workflow has ended.
                WorkflowInteractionError::NotFound(_) => ApiError::order_closed(order_id),
                other => ApiError::unavailable("the order engine did not answer", other),
            })
    }
}

/// The handlers' engine, on the Temporal client.
#[async_trait]
impl Engine for TemporalEngine {
    /// Starts the order's workflow. Order ids are never reused, even after the order ends.
    ///
    /// `OrderState` starts as SUBMITTED, the state the workflow's first task moves to, so that
    /// this first move costs the server no search-attribute upsert (a visibility write).
    async fn start_order(&self, input: OrderWorkflowInput) -> Result<(), ApiError> {
        let d = &input.order;
        let attributes = SearchAttributes::new([
            SA_ORDER_STATE.value_set(OrderState::Submitted.as_str().to_string()),
            SA_TENANT_ID.value_set(d.tenant_id.to_string()),
            SA_SUPPLIER_ID.value_set(d.supplier_id.to_string()),
            SA_ORDER_REF.value_set(d.order_ref.clone()),
            SA_PENDING_REQUEST.value_set("NONE".to_string()),
        ]);
        let options = WorkflowStartOptions::new(self.task_queue.clone(), d.workflow_id())
            .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
            .search_attributes(attributes)
            .build();
        let order_id = d.order_id.clone();
        match self
            .client
            .start_workflow(OrderWorkflow::run, input, options)
            .await
        {
            Ok(_) => Ok(()),
            Err(WorkflowStartError::AlreadyStarted { .. }) => {
                Err(ApiError::duplicate_order(&order_id))
            }
            Err(e) => Err(ApiError::unavailable("could not start the order", e)),
        }
    }

    /// Sends an operator command and returns the order as it stands after it.
    async fn operator(
        &self,
        tenant_id: &str,
        order_id: &str,
        request: OperatorRequest,
    ) -> Result<OrderView, ApiError> {
        self.update(tenant_id, order_id, || OrderWorkflow::operator, request)
            .await
    }

    /// Sends a tenant's amendment; refusals come back as the validator's rule errors.
    async fn amend(
        &self,
        tenant_id: &str,
        order_id: &str,
        request: AmendRequest,
    ) -> Result<AmendOutcome, ApiError> {
        self.update(tenant_id, order_id, || OrderWorkflow::amend, request)
            .await
    }

    /// Sends a tenant's cancellation; refusals come back as the validator's rule errors.
    async fn cancel(
        &self,
        tenant_id: &str,
        order_id: &str,
        request: CancelRequest,
    ) -> Result<CancelOutcome, ApiError> {
        self.update(tenant_id, order_id, || OrderWorkflow::cancel, request)
            .await
    }

    /// Sends a tenant's reactivation of a subscription.
    async fn reactivate(
        &self,
        tenant_id: &str,
        order_id: &str,
        request: ReactivateRequest,
    ) -> Result<ReactivateOutcome, ApiError> {
        self.update(tenant_id, order_id, || OrderWorkflow::reactivate, request)
            .await
    }

    /// Passes a supplier's answer to a PENDING cancellation to the order's workflow.
    async fn cancellation_decision(
        &self,
        tenant_id: &str,
        order_id: &str,
        decision: CancellationDecision,
    ) -> Result<(), ApiError> {
        self.signal(
            tenant_id,
            order_id,
            OrderWorkflow::cancellation_decision,
            decision,
        )
        .await
    }

    /// Passes the supplier's own cancellation to the order's workflow.
    async fn supplier_cancel(
        &self,
        tenant_id: &str,
        order_id: &str,
        cancel: SupplierCancel,
    ) -> Result<(), ApiError> {
        self.signal(tenant_id, order_id, OrderWorkflow::supplier_cancel, cancel)
            .await
    }

    /// Passes a supplier's step callback to the order's workflow.
    async fn step_callback(
        &self,
        tenant_id: &str,
        order_id: &str,
        callback: StepCallback,
    ) -> Result<(), ApiError> {
        self.signal(tenant_id, order_id, OrderWorkflow::step_callback, callback)
            .await
    }

    /// Passes a supplier's decision on a PENDING amendment to the order's workflow.
    async fn amendment_decision(
        &self,
        tenant_id: &str,
        order_id: &str,
        decision: AmendmentDecision,
    ) -> Result<(), ApiError> {
        self.signal(
            tenant_id,
            order_id,
            OrderWorkflow::amendment_decision,
            decision,
        )
        .await
    }

    /// Passes a supplier-initiated change to the order's workflow.
    async fn supplier_amend(
        &self,
        tenant_id: &str,
        order_id: &str,
        change: SupplierAmendment,
    ) -> Result<(), ApiError> {
        self.signal(tenant_id, order_id, OrderWorkflow::supplier_amend, change)
            .await
    }

    /// Is the engine reachable and is at least one worker polling the order queue?
    async fn check(&self) -> Result<usize, String> {
        use temporalio_client::NamespacedClient;
        use temporalio_common::protos::temporal::api::enums::v1::TaskQueueType;
        use temporalio_common::protos::temporal::api::taskqueue::v1::TaskQueue;
        use temporalio_common::protos::temporal::api::workflowservice::v1::DescribeTaskQueueRequest;
        let request = DescribeTaskQueueRequest {
            namespace: self.client.namespace(),
            task_queue: Some(TaskQueue {
                name: self.task_queue.clone(),
                ..Default::default()
            }),
            task_queue_type: TaskQueueType::Workflow as i32,
            ..Default::default()
        };
        let response = self
            .client
            .connection()
            .workflow_service()
            .describe_task_queue(tonic::Request::new(request))
            .await
            .map_err(|e| format!("Temporal unreachable: {}", e.message()))?; // operators only
        Ok(response.into_inner().pollers.len())
    }
}

/// A refused request, with the HTTP status its code stands for.
pub fn rule_error(rule: RuleError) -> ApiError {
    ApiError::from(rule)
}

/// Maps what Temporal answered to an Update. Only a rule error (the validator's JSON) is
/// passed on as it is; any other text of the engine or the workflow is logged, never answered.
fn update_error(error: WorkflowUpdateError, order_id: &str) -> ApiError {
    match error {
        // Callers have found the order's row first: its workflow has ended.
        WorkflowUpdateError::NotFound(_) => ApiError::order_closed(order_id),
        WorkflowUpdateError::Failed(failure) => match RuleError::from_message(&failure.message) {
            Some(rule) => rule_error(rule),
            None => {
                tracing::warn!(order_id, failure = %failure.message, "an update failed in the workflow");
                ApiError::conflict(
                    "REQUEST_FAILED",
                    "the order could not take the request; read the order and try again",
                )
            }
        },
        WorkflowUpdateError::Rpc(status)
            if status.message().contains("already completed")
                || status
                    .message()
                    .contains("workflow execution already completed") =>
        {
            ApiError::order_closed(order_id)
        }
        WorkflowUpdateError::Rpc(status)
            if status.code() == temporalio_client::tonic::Code::ResourceExhausted =>
        {
            ApiError::too_many_requests(
                format!("order '{order_id}' is busy with other requests; retry shortly"),
                1,
            )
        }
        other => ApiError::unavailable("the order engine did not answer", other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orderflow_domain::rule_code::RuleCode;
    use temporalio_common::protos::temporal::api::failure::v1::Failure;

    #[test]
    fn an_update_on_an_ended_order_is_409_order_closed() {
        let not_found = WorkflowUpdateError::NotFound(tonic::Status::not_found("no workflow"));
        let completed = WorkflowUpdateError::Rpc(tonic::Status::failed_precondition(
            "workflow execution already completed",
        ));
        for error in [not_found, completed] {
            let e = update_error(error, "o-1");
            assert_eq!((e.status.as_u16(), e.code.as_str()), (409, "ORDER_CLOSED"));
            assert!(e.message.contains("o-1"), "{}", e.message);
        }
    }

    #[test]
    fn a_failure_inside_the_workflow_is_409_request_failed_in_fixed_words() {
        let failure = Failure {
            message: "panicked at workflows/src/order_workflow/handlers.rs".into(),
            ..Default::default()
        };
        let e = update_error(WorkflowUpdateError::Failed(Box::new(failure)), "o-1");
        assert_eq!(
            (e.status.as_u16(), e.code.as_str()),
            (409, "REQUEST_FAILED")
        );
        assert!(!e.message.contains("panicked"), "{}", e.message);
        // A rule's refusal keeps its own code.
        let rule = RuleError::new(RuleCode::NotAmendable, "finished");
        let failure = Failure {
            message: rule.to_json(),
            ..Default::default()
        };
        let e = update_error(WorkflowUpdateError::Failed(Box::new(failure)), "o-1");
        assert_eq!(e.code, "NOT_AMENDABLE");
    }
}
