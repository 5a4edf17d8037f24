//! Users as they may be shown: never a password hash or a token.

use serde::{Deserialize, Serialize};

use crate::Role;

/// A user as returned to clients (`GET /api/v1/auth/me`, lists, avatars).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserProfile {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: Role,
    pub theme: String,
    pub locale: String,
    pub is_active: bool,
}
