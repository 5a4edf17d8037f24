//! uHub's server-only services. Both doors of the application (REST handlers and Leptos server
//! functions) call these functions; they hold the real work and are what tests exercise.
//! Never compiled into the WASM.

pub mod auth;
pub mod engine;
pub mod error;
pub mod host;
pub mod password;
pub mod planning;
pub mod secrets;
pub mod seed;
pub mod storage;
pub mod vault;

pub use error::{ServiceError, ServiceResult};
pub use storage::Storage;
#[cfg(feature = "testing")]
pub mod testing;
