//! uHub's own log, captured for the tests that search it for secrets: one process-wide
//! subscriber (installed by the first capture) keeps every line, at TRACE level, written while at
//! least one capture is open. Tests running beside a capture add their lines too, which only
//! makes the search wider.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

/// How many captures are open: lines are kept only while one is.
static OPEN: AtomicUsize = AtomicUsize::new(0);
static LINES: OnceLock<Lines> = OnceLock::new();

/// Every log line kept, in memory.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An open capture; lines stop being kept when the last one is dropped.
pub struct Capture {
    lines: Lines,
    /// Where this capture's lines begin.
    from: usize,
}

impl Capture {
    /// Every line logged since the capture opened.
    pub fn text(&self) -> String {
        self.lines
            .0
            .lock()
            .map(|bytes| String::from_utf8_lossy(&bytes[self.from.min(bytes.len())..]).into_owned())
            .unwrap_or_default()
    }

    /// Fails the test when `secret` (named `what`) is in the log, and when nothing was logged
    /// (a capture that saw nothing proves nothing).
    pub fn assert_absent(&self, what: &str, secret: &str) {
        assert!(!secret.is_empty(), "{what} is known");
        let logs = self.text();
        assert!(logs.contains("route="), "requests were logged at all");
        assert!(!logs.contains(secret), "{what} appears in the log");
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Starts keeping uHub's log lines (the subscriber is installed on the first call).
pub fn capture() -> Capture {
    let lines = LINES
        .get_or_init(|| {
            let lines = Lines::default();
            let writer = lines.clone();
            let layer = tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .with_filter(filter_fn(|_| OPEN.load(Ordering::SeqCst) > 0));
            let subscriber = tracing_subscriber::registry()
                .with(layer.with_filter(tracing_subscriber::filter::LevelFilter::TRACE));
            tracing::subscriber::set_global_default(subscriber)
                .expect("the only subscriber of the test binary");
            lines
        })
        .clone();
    OPEN.fetch_add(1, Ordering::SeqCst);
    let from = lines.0.lock().map(|bytes| bytes.len()).unwrap_or(0);
    Capture { lines, from }
}
