//! Faults injected into the real Secrets Manager client: an SDK interceptor that makes the Nth
//! call of the function's client fail, as an error answer (HTTP 500), a throttling answer
//! (HTTP 400 `ThrottlingException`) or a call that never reaches the service (a dispatch
//! failure, as a timeout or a dropped connection looks). The client it goes on has SDK retries
//! off, so each injected fault reaches the function as it is.

use std::sync::{Arc, Mutex};

use aws_sdk_secretsmanager::config::interceptors::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextMut,
};
use aws_sdk_secretsmanager::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_secretsmanager::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

/// The kinds of Secrets Manager fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmFault {
    /// The service answers HTTP 500 `InternalServiceError`.
    ServerError,
    /// The service answers HTTP 400 `ThrottlingException`.
    Throttling,
    /// The request never gets an answer (a timeout or a dropped connection).
    NoAnswer,
}

impl SmFault {
    /// Every kind.
    pub const ALL: [SmFault; 3] = [SmFault::ServerError, SmFault::Throttling, SmFault::NoAnswer];
}

#[derive(Debug, Default)]
struct State {
    calls: usize,
    /// (call number, 1-based; kind; how many calls in a row fail from there).
    plan: Option<(usize, SmFault, usize)>,
    injected: usize,
    /// The fault to put on the answer of the call under way.
    answer: Option<SmFault>,
}

/// The interceptor; clones share one plan and count.
#[derive(Debug, Clone, Default)]
pub struct SmFaults {
    state: Arc<Mutex<State>>,
}

impl SmFaults {
    /// No fault planned.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes `times` calls in a row fail with `kind`, starting at call number `at` (1-based,
    /// counted from now).
    pub fn fail(&self, at: usize, kind: SmFault, times: usize) {
        let mut s = self.state.lock().unwrap();
        s.calls = 0;
        s.injected = 0;
        s.plan = Some((at, kind, times));
    }

    /// No fault planned; the call count starts again from zero.
    pub fn clear(&self) {
        *self.state.lock().unwrap() = State::default();
    }

    /// How many faults were injected since the last [`SmFaults::fail`].
    pub fn injected(&self) -> usize {
        self.state.lock().unwrap().injected
    }

    /// How many calls were made since the last [`SmFaults::fail`] or [`SmFaults::clear`].
    pub fn calls(&self) -> usize {
        self.state.lock().unwrap().calls
    }
}

impl Intercept for SmFaults {
    fn name(&self) -> &'static str {
        "SmFaults"
    }

    fn modify_before_transmit(
        &self,
        _context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let mut s = self.state.lock().unwrap();
        s.calls += 1;
        s.answer = None;
        let Some((at, kind, times)) = s.plan else {
            return Ok(());
        };
        if s.calls < at || s.calls >= at + times {
            return Ok(());
        }
        s.injected += 1;
        if kind == SmFault::NoAnswer {
            return Err("injected fault: the request got no answer".into());
        }
        s.answer = Some(kind);
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let answer = self.state.lock().unwrap().answer.take();
        let (status, code) = match answer {
            None | Some(SmFault::NoAnswer) => return Ok(()),
            Some(SmFault::ServerError) => (500, "InternalServiceError"),
            Some(SmFault::Throttling) => (400, "ThrottlingException"),
        };
        let body = format!(r#"{{"__type":"{code}","message":"injected fault"}}"#);
        let mut response = HttpResponse::new(StatusCode::try_from(status)?, SdkBody::from(body));
        response
            .headers_mut()
            .insert("content-type", "application/x-amz-json-1.1");
        *context.response_mut() = response;
        Ok(())
    }
}
