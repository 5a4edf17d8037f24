//! Analyses of documents people send (inventories, plans): CPU work of tens of milliseconds
//! and megabytes of answer, run off the async workers and two at a time at most, so that a
//! few large bodies cannot take every worker of the server.

use crate::{ServiceError, ServiceResult};

static RUNNING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Runs `work` on the blocking pool once one of the two turns is free.
pub(crate) async fn off_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> ServiceResult<T> {
    bounded_off_thread(&RUNNING, "the analysis", work).await
}

/// Runs `work` on the blocking pool once one of `turns` is free (`what` names it in errors):
/// CPU- or memory-heavy work whose number in flight must stay bounded.
pub(crate) async fn bounded_off_thread<T: Send + 'static>(
    turns: &tokio::sync::Semaphore,
    what: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> ServiceResult<T> {
    let _turn = turns
        .acquire()
        .await
        .map_err(|e| ServiceError::Internal(format!("{what}'s queue closed: {e}")))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ServiceError::Internal(format!("{what} stopped: {e}")))
}
