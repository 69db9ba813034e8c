//! The API's side of Temporal: start order workflows, send them updates, check the engine.
//! Translates Temporal's errors into API errors so handlers stay about HTTP.

use crate::error::ApiError;
use orderflow_workflows::model::{OrderView, workflow_id};
use orderflow_workflows::order_workflow::{
    OperatorRequest, SA_ORDER_REF, SA_ORDER_STATE, SA_PENDING_REQUEST, SA_SUPPLIER_ID, SA_TENANT_ID,
};
use orderflow_workflows::rules::RuleError;
use orderflow_workflows::{OrderWorkflow, OrderWorkflowInput, StepCallback};
use temporalio_client::errors::{WorkflowStartError, WorkflowUpdateError};
use temporalio_client::{
    Client, WorkflowExecuteUpdateOptions, WorkflowIdReusePolicy, WorkflowSignalOptions,
    WorkflowStartOptions,
};
use temporalio_common::search_attributes::SearchAttributes;

#[derive(Clone)]
pub struct Engine {
    client: Client,
    task_queue: String,
}

impl Engine {
    pub fn new(client: Client, task_queue: String) -> Engine {
        Engine { client, task_queue }
    }

    /// Starts the order's workflow. Order ids are never reused, even after the order ends.
    pub async fn start_order(&self, input: OrderWorkflowInput) -> Result<(), ApiError> {
        let d = &input.order;
        let attributes = SearchAttributes::new([
            SA_ORDER_STATE.value_set("START".to_string()),
            SA_TENANT_ID.value_set(d.tenant_id.clone()),
            SA_SUPPLIER_ID.value_set(d.supplier_id.clone()),
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
            Err(WorkflowStartError::AlreadyStarted { .. }) => Err(ApiError::conflict(
                "DUPLICATE_ORDER",
                format!("order '{order_id}' already exists; order ids are unique per tenant"),
            )),
            Err(e) => Err(ApiError::unavailable(format!(
                "could not start the order: {e}"
            ))),
        }
    }

    /// Sends an operator command and returns the order as it stands after it.
    pub async fn operator(
        &self,
        tenant_id: &str,
        order_id: &str,
        request: OperatorRequest,
    ) -> Result<OrderView, ApiError> {
        let handle = self
            .client
            .get_workflow_handle::<OrderWorkflow>(workflow_id(tenant_id, order_id));
        handle
            .execute_update(
                OrderWorkflow::operator,
                request,
                WorkflowExecuteUpdateOptions::default(),
            )
            .await
            .map_err(|e| update_error(e, order_id))
    }

    /// Passes a supplier's step callback to the order's workflow.
    pub async fn step_callback(
        &self,
        tenant_id: &str,
        order_id: &str,
        callback: StepCallback,
    ) -> Result<(), ApiError> {
        let handle = self
            .client
            .get_workflow_handle::<OrderWorkflow>(workflow_id(tenant_id, order_id));
        handle
            .signal(
                OrderWorkflow::step_callback,
                callback,
                WorkflowSignalOptions::default(),
            )
            .await
            .map_err(|e| {
                let text = e.to_string();
                if text.contains("not found") || text.contains("already completed") {
                    ApiError::not_found(order_id)
                } else {
                    ApiError::unavailable(format!("the order engine did not answer: {text}"))
                }
            })
    }

    /// Is the engine reachable and is at least one worker polling the order queue?
    pub async fn check(&self) -> Result<usize, String> {
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
            .map_err(|e| format!("Temporal unreachable: {}", e.message()))?;
        Ok(response.into_inner().pollers.len())
    }
}

fn update_error(error: WorkflowUpdateError, order_id: &str) -> ApiError {
    match error {
        WorkflowUpdateError::NotFound(_) => ApiError::not_found(order_id),
        WorkflowUpdateError::Failed(failure) => match RuleError::from_message(&failure.message) {
            Some(rule) => ApiError::conflict(&rule.code, rule.message),
            None => ApiError::conflict("REQUEST_FAILED", failure.message.clone()),
        },
        WorkflowUpdateError::Rpc(status)
            if status.message().contains("already completed")
                || status
                    .message()
                    .contains("workflow execution already completed") =>
        {
            ApiError::conflict("ORDER_CLOSED", format!("order '{order_id}' has ended"))
        }
        other => ApiError::unavailable(format!("the order engine did not answer: {other}")),
    }
}
