//! Analyses of documents people send (inventories, plans): CPU work of tens of milliseconds
//! and megabytes of answer, run off the async workers and two at a time at most, so that a
//! few large bodies cannot take every worker of the server.

use crate::{ServiceError, ServiceResult};

static RUNNING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Runs `work` on the blocking pool once one of the two turns is free.
pub(crate) async fn off_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> ServiceResult<T> {
    let _turn = RUNNING
        .acquire()
        .await
        .map_err(|e| ServiceError::Internal(format!("the analysis queue closed: {e}")))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ServiceError::Internal(format!("the analysis stopped: {e}")))
}
