//! A run's output on its way to storage: secret values masked, lines numbered, the size capped,
//! written in small batches as they arrive (never only at the end).

use domain::LogStream;
use tokio::sync::mpsc;

use crate::storage::Storage;

/// What replaces a secret value in a log.
pub const MASK: &str = "*****";
/// Longest line kept; longer ones are cut into pieces of this size.
const MAX_LINE_BYTES: usize = 16 * 1024;
/// Lines written per transaction at most.
const BATCH: usize = 256;

/// Replaces every injected secret value by [`MASK`].
#[derive(Debug, Clone, Default)]
pub struct Masker {
    /// Longest first, so that a value containing another is masked whole.
    values: Vec<String>,
}

impl Masker {
    /// Values shorter than three characters are not masked: masking `a` would blank every `a`.
    /// Multi-line values are masked line by line, since logs are read a line at a time.
    pub fn new<'a>(secret_values: impl IntoIterator<Item = &'a str>) -> Masker {
        let mut values: Vec<String> = secret_values
            .into_iter()
            .flat_map(|value| {
                std::iter::once(value.to_owned()).chain(value.lines().map(str::to_owned))
            })
            .map(|v| v.trim_end_matches('\r').to_owned())
            .filter(|v| v.chars().count() >= 3)
            .collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values.dedup();
        Masker { values }
    }

    pub fn mask(&self, line: &str) -> String {
        let mut masked = line.to_owned();
        for value in &self.values {
            if masked.contains(value.as_str()) {
                masked = masked.replace(value.as_str(), MASK);
            }
        }
        masked
    }
}

/// What the writer task receives: a line, or a request to confirm that everything sent before
/// is stored.
enum Message {
    Line(LogStream, String),
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// Sends a run's lines to the writer task.
#[derive(Clone)]
pub struct LogSender(mpsc::UnboundedSender<Message>);

impl LogSender {
    pub fn line(&self, stream: LogStream, text: impl Into<String>) {
        // The writer only stops after every sender is gone; a failed send means the run ended.
        let _ = self.0.send(Message::Line(stream, text.into()));
    }

    /// Waits until every line sent before is stored (e.g. before a webhook's final callback
    /// settles the run, so that a reader of the ended run sees all of its lines).
    pub async fn flush(&self) {
        let (done, stored) = tokio::sync::oneshot::channel();
        if self.0.send(Message::Flush(done)).is_ok() {
            let _ = stored.await;
        }
    }
}

/// Starts the writer of run `run_id`: returns the sender and the task that ends (with whether the
/// log was truncated) once every sender is dropped and every line is stored.
pub fn writer(
    storage: Storage,
    run_id: i64,
    masker: Masker,
    max_bytes: usize,
) -> (LogSender, tokio::task::JoinHandle<bool>) {
    let (sender, mut receiver) = mpsc::unbounded_channel::<Message>();
    let task = tokio::spawn(async move {
        let mut seq = 0_i64;
        let mut bytes = 0_usize;
        let mut truncated = false;
        let mut batch: Vec<(i64, LogStream, String)> = Vec::new();
        while let Some(first) = receiver.recv().await {
            let mut incoming = vec![first];
            while incoming.len() < BATCH {
                match receiver.try_recv() {
                    Ok(next) => incoming.push(next),
                    Err(_) => break,
                }
            }
            let mut confirmations = Vec::new();
            for message in incoming {
                let (stream, text) = match message {
                    Message::Line(stream, text) => (stream, text),
                    // Answered once the lines received before it are stored, below.
                    Message::Flush(done) => {
                        confirmations.push(done);
                        continue;
                    }
                };
                if truncated {
                    continue;
                }
                for piece in pieces(&masker.mask(&text)) {
                    if bytes + piece.len() > max_bytes {
                        truncated = true;
                        seq += 1;
                        batch.push((
                            seq,
                            LogStream::System,
                            format!("log truncated: it reached {max_bytes} bytes; later output was not kept"),
                        ));
                        break;
                    }
                    bytes += piece.len();
                    seq += 1;
                    batch.push((seq, stream, piece));
                }
            }
            if let Err(error) = storage
                .append_run_logs(run_id, &batch, bytes as i64, truncated)
                .await
            {
                tracing::error!(run_id, %error, "cannot store log lines");
            }
            batch.clear();
            for done in confirmations {
                let _ = done.send(());
            }
        }
        truncated
    });
    (LogSender(sender), task)
}

/// A line cut into pieces of at most [`MAX_LINE_BYTES`], on character boundaries.
fn pieces(line: &str) -> Vec<String> {
    if line.len() <= MAX_LINE_BYTES {
        return vec![line.to_owned()];
    }
    let mut out = Vec::new();
    let mut current = String::new();
    for c in line.chars() {
        if current.len() + c.len_utf8() > MAX_LINE_BYTES {
            out.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_are_masked_whole_and_line_by_line() {
        let masker = Masker::new(["s3cr3t-token", "token", "ab", "line-one\nline-two"]);
        assert_eq!(masker.mask("auth=s3cr3t-token;"), "auth=*****;");
        assert_eq!(masker.mask("a token"), "a *****");
        assert_eq!(masker.mask("ab stays"), "ab stays", "too short to mask");
        assert_eq!(masker.mask("got line-two"), "got *****");
    }

    #[test]
    fn long_lines_are_cut_on_character_boundaries() {
        let line = "é".repeat(MAX_LINE_BYTES);
        let parts = pieces(&line);
        assert!(parts.len() >= 2);
        assert!(parts.iter().all(|p| p.len() <= MAX_LINE_BYTES));
        assert_eq!(parts.concat(), line);
    }
}
