//! The API's abuse limits, in front of every handler: requests at once (all callers), each
//! tenant's request rate (a token bucket per tenant, `governor`), and a time limit per
//! request. Each refusal is immediate and says when to come back (`Retry-After`), so a
//! tenant that floods the API slows only itself.

use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use orderflow_config::{Caller, Settings};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

pub struct Guard {
    settings: Arc<Settings>,
    in_flight: Arc<Semaphore>,
    tenants: DefaultKeyedRateLimiter<String>,
    timeout: Duration,
}

impl Guard {
    pub fn new(settings: Arc<Settings>) -> Guard {
        let limits = &settings.api;
        let rate = NonZeroU32::new(limits.tenant_requests_per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(limits.tenant_burst).unwrap_or(rate);
        Guard {
            in_flight: Arc::new(Semaphore::new(limits.max_concurrent_requests.max(1))),
            tenants: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            timeout: Duration::from_secs(limits.request_timeout_secs.max(1)),
            settings,
        }
    }

    /// The tenant whose key the request carries; `None` for anyone else (the operator, a
    /// signed supplier callback, a bad key: those are answered without a tenant's bucket).
    fn tenant(&self, request: &Request) -> Option<String> {
        match crate::extract::bearer_caller(request.headers(), &self.settings)? {
            Caller::Tenant(tenant) => Some(tenant),
            Caller::Operator => None,
        }
    }
}

pub async fn protect(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let Ok(_permit) = guard.in_flight.clone().try_acquire_owned() else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "OVERLOADED",
            "the API is handling as many requests as it can; retry shortly",
        )
        .retry_after(1)
        .into_response();
    };
    if let Some(tenant) = guard.tenant(&request)
        && let Err(not_until) = guard.tenants.check_key(&tenant)
    {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        return ApiError::too_many_requests(
            format!(
                "tenant '{tenant}' is over its rate of {} requests per second; retry after {seconds} s",
                guard.settings.api.tenant_requests_per_second
            ),
            seconds.max(1),
        )
        .into_response();
    }
    match tokio::time::timeout(guard.timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "REQUEST_TIMEOUT",
            "the request took too long and was abandoned; read the order to see whether it was applied",
        )
        .retry_after(1)
        .into_response(),
    }
}
