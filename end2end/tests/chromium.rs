//! The browser tests in headless Chromium, one test binary: the calendar and job pages
//! (`browser`) and the app shell (`shell`). One binary links the server once instead of twice;
//! `end2end::ONE_BROWSER` keeps them to one Chromium at a time across both modules.

mod ansible;
mod browser;
mod incidents;
mod kubernetes;
mod manage;
mod shell;
mod terraform;
