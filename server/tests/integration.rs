//! The server's integration tests, one test binary: each file of this folder is a module.
//! One binary links the whole server once instead of once per file, which keeps a cold build's
//! link time and disk use down (each link is about 130 MB). `secrets_in_logs` stays a binary of
//! its own: it installs the process's global log subscriber.

mod common;

mod auth;
mod calendar_api;
mod calendar_follow;
mod crash;
mod docker_runs;
mod domain_api;
mod guardrails;
mod host_metrics;
mod http;
mod jobs_api;
mod openapi;
mod rbac;
mod runs;
mod startup;
mod vault_secrets;
mod webhook_runs;
