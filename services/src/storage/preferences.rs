//! Small per-user settings remembered across sessions and devices (`user_preferences`, JSON by
//! name): the calendar's view and filters.

use domain::CalendarFilters;

use super::{now, on_db, reads, writes, Db, Tx};
use crate::{ServiceError, ServiceResult};

/// The preference the calendar's view and filters are kept under.
const CALENDAR_FILTERS: &str = "calendar.filters";

reads! {
    fn saved_calendar_filters(user_id: i64) -> Option<CalendarFilters>;
    fn calendar_filters(user_id: i64) -> CalendarFilters;
}

writes! {
    fn set_calendar_filters(user_id: i64, filters: &CalendarFilters) -> ();
}

impl Db {
    /// A remembered per-user setting (JSON), if the user saved one.
    async fn preference(
        &mut self,
        user_id: i64,
        name: &str,
    ) -> ServiceResult<Option<serde_json::Value>> {
        let value = on_db!(self, c => {
            sqlx::query_scalar::<_, sqlx::types::Json<serde_json::Value>>(
                "SELECT value FROM user_preferences WHERE user_id = $1 AND name = $2",
            )
            .bind(user_id)
            .bind(name)
            .fetch_optional(&mut *c)
            .await
        })?;
        Ok(value.map(|v| v.0))
    }

    /// The calendar view and filters the user last chose, if any. A value saved by an older
    /// uHub that no longer reads is forgotten, not an error.
    pub async fn saved_calendar_filters(
        &mut self,
        user_id: i64,
    ) -> ServiceResult<Option<CalendarFilters>> {
        Ok(self
            .preference(user_id, CALENDAR_FILTERS)
            .await?
            .and_then(|value| serde_json::from_value(value).ok()))
    }

    /// The calendar view and filters the user last chose (defaults if none).
    pub async fn calendar_filters(&mut self, user_id: i64) -> ServiceResult<CalendarFilters> {
        Ok(self
            .saved_calendar_filters(user_id)
            .await?
            .unwrap_or_default())
    }
}

impl Tx {
    /// Saves a per-user setting, replacing the previous value. Not audited: it changes what one
    /// user sees, nothing anyone else relies on.
    async fn set_preference(
        &mut self,
        user_id: i64,
        name: &str,
        value: &serde_json::Value,
    ) -> ServiceResult<()> {
        on_db!(self, c => {
            sqlx::query(
                "INSERT INTO user_preferences (user_id, name, value, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (user_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )
            .bind(user_id)
            .bind(name)
            .bind(sqlx::types::Json(value))
            .bind(now())
            .execute(&mut *c)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(())
    }

    /// Remembers the calendar view and filters the user chose.
    pub async fn set_calendar_filters(
        &mut self,
        user_id: i64,
        filters: &CalendarFilters,
    ) -> ServiceResult<()> {
        let value = serde_json::to_value(filters)
            .map_err(|e| ServiceError::Internal(format!("calendar filters: {e}")))?;
        self.set_preference(user_id, CALENDAR_FILTERS, &value).await
    }
}
