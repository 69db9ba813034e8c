//! A test double for the order engine at the API's boundary: it records what the handlers
//! send and answers what the test scripted, or is down. It knows no order rules; the
//! integration tests cover the real workflow.

use async_trait::async_trait;
use orderflow_api::error::ApiError;
use orderflow_api::order_engine::Engine;
use orderflow_domain::model::OrderView;
use orderflow_workflows::order_workflow::{
    AmendOutcome, AmendRequest, AmendmentDecision, CancelOutcome, CancelRequest,
    CancellationDecision, OperatorRequest, ReactivateOutcome, ReactivateRequest, SupplierAmendment,
    SupplierCancel,
};
use orderflow_workflows::{OrderWorkflowInput, StepCallback};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// What the handlers asked the engine for, in order.
#[derive(Clone, Debug)]
pub enum Call {
    Start(Box<OrderWorkflowInput>),
    Operator(String, OperatorRequest),
    Amend(String, AmendRequest),
    Cancel(String, CancelRequest),
    Reactivate(String, ReactivateRequest),
    /// A signal, by name, to the order.
    Signal(&'static str, String),
}

type Answer<T> = Box<dyn Fn() -> Result<T, ApiError> + Send + Sync>;

/// The answer the test scripted for one kind of request; unscripted requests are 500s, so a
/// test notices a request it did not expect.
pub struct Scripted<T>(Mutex<Option<Answer<T>>>);

impl<T> Default for Scripted<T> {
    fn default() -> Self {
        Scripted(Mutex::new(None))
    }
}

impl<T> Scripted<T> {
    pub fn answer(&self, f: impl Fn() -> Result<T, ApiError> + Send + Sync + 'static) {
        *self.0.lock().unwrap() = Some(Box::new(f));
    }

    fn get(&self, what: &str) -> Result<T, ApiError> {
        match &*self.0.lock().unwrap() {
            Some(f) => f(),
            None => Err(ApiError::internal(format!(
                "test engine: no answer for {what}"
            ))),
        }
    }
}

#[derive(Default)]
pub struct TestEngine {
    down: AtomicBool,
    /// Every request takes this long before it is answered (a slow server).
    slow: Mutex<Duration>,
    calls: Mutex<Vec<Call>>,
    /// Refuses every start with this (`None`: starts succeed).
    pub start: Scripted<()>,
    pub operator: Scripted<OrderView>,
    pub amend: Scripted<AmendOutcome>,
    pub cancel: Scripted<CancelOutcome>,
    pub reactivate: Scripted<ReactivateOutcome>,
}

impl TestEngine {
    /// Every request from now on answers as an unreachable engine does.
    pub fn go_down(&self) {
        self.down.store(true, Ordering::SeqCst);
    }

    /// Every request from now on takes `delay` before it is answered.
    pub fn slow_down(&self, delay: Duration) {
        *self.slow.lock().unwrap() = delay;
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// Records the call, then takes the engine's delay; `Err` if the engine is down.
    async fn take(&self, call: Call) -> Result<(), ApiError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(ApiError::unavailable("the test engine is down", "down"));
        }
        self.calls.lock().unwrap().push(call);
        let delay = *self.slow.lock().unwrap();
        tokio::time::sleep(delay).await;
        Ok(())
    }
}

#[async_trait]
impl Engine for TestEngine {
    async fn start_order(&self, input: OrderWorkflowInput) -> Result<(), ApiError> {
        self.take(Call::Start(Box::new(input))).await?;
        match &*self.start.0.lock().unwrap() {
            Some(refusal) => refusal(),
            None => Ok(()),
        }
    }
    async fn operator(
        &self,
        _tenant_id: &str,
        order_id: &str,
        request: OperatorRequest,
    ) -> Result<OrderView, ApiError> {
        self.take(Call::Operator(order_id.into(), request)).await?;
        self.operator.get("operator")
    }
    async fn amend(
        &self,
        _tenant_id: &str,
        order_id: &str,
        request: AmendRequest,
    ) -> Result<AmendOutcome, ApiError> {
        self.take(Call::Amend(order_id.into(), request)).await?;
        self.amend.get("amend")
    }
    async fn cancel(
        &self,
        _tenant_id: &str,
        order_id: &str,
        request: CancelRequest,
    ) -> Result<CancelOutcome, ApiError> {
        self.take(Call::Cancel(order_id.into(), request)).await?;
        self.cancel.get("cancel")
    }
    async fn reactivate(
        &self,
        _tenant_id: &str,
        order_id: &str,
        request: ReactivateRequest,
    ) -> Result<ReactivateOutcome, ApiError> {
        self.take(Call::Reactivate(order_id.into(), request))
            .await?;
        self.reactivate.get("reactivate")
    }
    async fn cancellation_decision(
        &self,
        _tenant_id: &str,
        order_id: &str,
        _decision: CancellationDecision,
    ) -> Result<(), ApiError> {
        self.take(Call::Signal("cancellation_decision", order_id.into()))
            .await
    }
    async fn supplier_cancel(
        &self,
        _tenant_id: &str,
        order_id: &str,
        _cancel: SupplierCancel,
    ) -> Result<(), ApiError> {
        self.take(Call::Signal("supplier_cancel", order_id.into()))
            .await
    }
    async fn step_callback(
        &self,
        _tenant_id: &str,
        order_id: &str,
        _callback: StepCallback,
    ) -> Result<(), ApiError> {
        self.take(Call::Signal("step_callback", order_id.into()))
            .await
    }
    async fn amendment_decision(
        &self,
        _tenant_id: &str,
        order_id: &str,
        _decision: AmendmentDecision,
    ) -> Result<(), ApiError> {
        self.take(Call::Signal("amendment_decision", order_id.into()))
            .await
    }
    async fn supplier_amend(
        &self,
        _tenant_id: &str,
        order_id: &str,
        _change: SupplierAmendment,
    ) -> Result<(), ApiError> {
        self.take(Call::Signal("supplier_amend", order_id.into()))
            .await
    }
    async fn check(&self) -> Result<usize, String> {
        if self.down.load(Ordering::SeqCst) {
            Err("the test engine is down".into())
        } else {
            Ok(1)
        }
    }
}
