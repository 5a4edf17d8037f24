//! Stored readings of the host: raw samples and 5-minute averages, each a JSON document.

use chrono::{DateTime, Utc};
use domain::host::HostSample;
use sqlx::types::Json;

use super::{on_db, reads, writes, Db, Tx};
use crate::ServiceResult;
use domain::host::AVERAGE_SECONDS;

reads! {
    fn host_history(from: DateTime<Utc>, to: DateTime<Utc>, averaged: bool) -> Vec<HostSample>;
}

writes! {
    fn store_host_sample(sample: &HostSample, resolution_seconds: i64) -> ();
    fn prune_host_samples(raw_before: DateTime<Utc>, averages_before: DateTime<Utc>) -> u64;
}

impl Tx {
    /// Stores one reading standing for `resolution_seconds` of time.
    pub async fn store_host_sample(
        &mut self,
        sample: &HostSample,
        resolution_seconds: i64,
    ) -> ServiceResult<()> {
        on_db!(self, c => {
            sqlx::query("INSERT INTO host_samples (sampled_at, resolution_seconds, sample) VALUES ($1, $2, $3)")
                .bind(super::stored_precision(sample.sampled_at))
                .bind(resolution_seconds)
                .bind(Json(sample))
                .execute(&mut *c)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(())
    }

    /// Removes raw readings older than `raw_before` and averages older than `averages_before`.
    pub async fn prune_host_samples(
        &mut self,
        raw_before: DateTime<Utc>,
        averages_before: DateTime<Utc>,
    ) -> ServiceResult<u64> {
        let removed = on_db!(self, c => {
            let raw = sqlx::query("DELETE FROM host_samples WHERE resolution_seconds <> $1 AND sampled_at < $2")
                .bind(AVERAGE_SECONDS)
                .bind(raw_before)
                .execute(&mut *c)
                .await?
                .rows_affected();
            let averages = sqlx::query("DELETE FROM host_samples WHERE resolution_seconds = $1 AND sampled_at < $2")
                .bind(AVERAGE_SECONDS)
                .bind(averages_before)
                .execute(&mut *c)
                .await?
                .rows_affected();
            raw + averages
        });
        Ok(removed)
    }
}

impl Db {
    /// Readings between `from` and `to`, oldest first: raw ones when `averaged` is false, else
    /// the 5-minute averages.
    pub async fn host_history(
        &mut self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        averaged: bool,
    ) -> ServiceResult<Vec<HostSample>> {
        let condition = if averaged { "=" } else { "<>" };
        let sql = format!(
            "SELECT sample FROM host_samples WHERE resolution_seconds {condition} $1 \
             AND sampled_at >= $2 AND sampled_at <= $3 ORDER BY sampled_at"
        );
        let rows = on_db!(self, c => {
            sqlx::query_scalar::<_, Json<HostSample>>(&sql)
                .bind(AVERAGE_SECONDS)
                .bind(from)
                .bind(to)
                .fetch_all(&mut *c)
                .await
        })?;
        Ok(rows.into_iter().map(|row| row.0).collect())
    }
}
