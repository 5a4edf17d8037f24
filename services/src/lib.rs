//! uHub's server-only services. Both doors of the application (REST handlers and Leptos server
//! functions) call the use cases here, one module per feature (`jobs`, `runs`, `incidents`…):
//! each public function takes the [`Hub`] and the [`Caller`] and does the whole thing (policy,
//! archived and cross-object checks, validation, storage and audit, in one transaction). Every
//! rule lives in one of them, or in `domain` when the browser needs it too. Never compiled into
//! the WASM.

mod analysis;
pub mod ansible;
pub mod audit;
pub mod auth;
pub mod backlog;
pub mod calendar;
pub mod caller;
pub mod deployments;
pub mod digest;
pub mod engine;
pub mod environments;
pub mod error;
pub mod feeds;
pub mod forge;
pub mod forge_api;
pub mod git;
pub mod git_cli;
pub mod git_manual;
pub mod git_mirror;
pub mod host;
mod hub;
pub mod incidents;
pub mod jobs;
pub mod kubernetes;
pub mod links;
pub mod moves;
pub mod password;
pub mod personal;
pub mod projects;
pub mod rules;
pub mod runs;
pub mod scripts;
pub mod search;
pub mod secrets;
pub mod seed;
pub mod settings;
pub mod storage;
pub mod teams;
pub mod telemetry;
pub mod terraform;
pub mod timeline;
pub mod users;
pub mod vault;

pub use caller::{Caller, RequestContext, RequestId, Session};
pub use error::{ServiceError, ServiceResult};
pub use hub::Hub;
pub use storage::Storage;
#[cfg(feature = "testing")]
pub mod testing;
