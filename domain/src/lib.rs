//! uHub's domain: the typed model shared by the server and the browser, and the pure rules on it.
//!
//! Nothing here does I/O: no tokio, no sqlx, no network. Everything compiles for wasm32 too, so the
//! browser validates and decides with the very same code as the server.

pub mod action;
pub mod ansible;
pub mod backend;
pub mod backlog;
pub mod calendar;
pub mod calendar_wire;
pub mod context;
pub mod feed;
pub mod git;
pub mod host;
pub mod ical;
pub mod incident;
pub mod job;
pub mod kubernetes;
pub mod link;
pub mod move_request;
pub mod password;
pub mod policy;
pub mod project;
pub mod role;
pub mod run;
pub mod search;
pub mod terraform;
pub mod user;
pub mod zone;

pub use action::JobAction;
pub use backend::{
    BackendConfig, ExecutionBackend, WebhookPreset, DEFAULT_CALLBACK_TIMEOUT_SECONDS,
};
pub use backlog::{BacklogItem, BacklogKind, BacklogStatus};
pub use calendar::{CalendarEvent, ColorMode, EventProps};
pub use context::{ProjectContext, TimelineEntry, TimelineKind};
pub use feed::{CalendarFeed, CalendarFilters, CalendarView, FeedScope, JobChange};
pub use git::{ChangeKind, ChangeSource, CodeChange, Delivery};
pub use incident::{Incident, IncidentSeverity, IncidentStatus};
pub use job::{Job, JobStatus, JobType};
pub use link::{GitProvider, LinkKind, ProjectLink};
pub use move_request::{MoveRequest, MoveStatus};
pub use project::{Color, EnvironmentRecord, ProjectState, ProjectSummary};
pub use role::Role;
pub use run::{LogLine, LogStream, QueuePlace, Run, RunAct, RunStatus, SecretInfo};
pub use search::{fuzzy_score, HitKind, SearchHit};
pub use user::UserProfile;

/// A value that is not one of an enumeration's known spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {kind}")]
pub struct UnknownVariant {
    pub kind: &'static str,
    pub value: String,
}

/// Declares a closed set of lowercase string values with `as_str`, `FromStr`, `Display`, `ALL` and
/// serde support, so that the database, the JSON API and the UI all spell them the same way.
#[macro_export]
macro_rules! string_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident ($kind:literal) { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        $vis enum $name { $($(#[$vmeta])* #[serde(rename = $text)] $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable spelling used in the database, the API and URLs.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::UnknownVariant;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                match value {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::UnknownVariant { kind: $kind, value: value.to_owned() }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
