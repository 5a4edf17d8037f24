//! A run's output on its way to storage: secret values masked, lines numbered, the size capped,
//! written in small batches as they arrive (never only at the end).

use domain::LogStream;
use tokio::sync::mpsc;

use crate::storage::Storage;

/// What replaces a secret value in a log.
pub const MASK: &str = "*****";
/// Longest line kept; longer ones are cut into pieces of this size as they arrive.
pub const MAX_LINE_BYTES: usize = 16 * 1024;
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
    /// Multi-line values are masked line by line, since logs are read a line at a time. Each
    /// value is masked as written and in its common encodings (base64, URL-safe base64, percent
    /// encoding, hex), a courtesy against accidents: whoever may run code with a secret can
    /// always print it some other way, so the control is who may run what where.
    pub fn new<'a>(secret_values: impl IntoIterator<Item = &'a str>) -> Masker {
        let mut values: Vec<String> = secret_values
            .into_iter()
            .flat_map(|value| {
                std::iter::once(value.to_owned())
                    .chain(value.lines().map(str::to_owned))
                    .chain(encodings(value))
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

/// A secret value as it appears when a script prints it encoded.
fn encodings(value: &str) -> Vec<String> {
    use base64::Engine as _;
    let bytes = value.as_bytes();
    let engines = [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    let mut encoded: Vec<String> = engines.iter().map(|e| e.encode(bytes)).collect();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    encoded.push(hex.to_uppercase());
    encoded.push(hex);
    let percent: String = bytes
        .iter()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (*b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect();
    if percent != value {
        encoded.push(percent);
    }
    encoded
}

/// Cuts a stream of bytes into lines as they arrive, never holding more than one pending line
/// of at most [`MAX_LINE_BYTES`]: a longer line is given out in pieces (cut on a character
/// boundary) as soon as a piece is full. Every byte is looked at once.
#[derive(Debug, Default)]
pub struct LineSplitter {
    pending: Vec<u8>,
}

impl LineSplitter {
    /// Takes the next bytes; `emit` receives each complete line or full piece.
    pub fn push(&mut self, mut bytes: &[u8], emit: &mut impl FnMut(&str)) {
        while !bytes.is_empty() {
            let room = MAX_LINE_BYTES - self.pending.len();
            let window = &bytes[..bytes.len().min(room)];
            match window.iter().position(|b| *b == b'\n') {
                Some(end) => {
                    self.pending.extend_from_slice(&window[..end]);
                    self.emit_pending(emit);
                    bytes = &bytes[end + 1..];
                }
                None => {
                    self.pending.extend_from_slice(window);
                    bytes = &bytes[window.len()..];
                    if self.pending.len() >= MAX_LINE_BYTES {
                        self.emit_piece(emit);
                    }
                }
            }
        }
    }

    /// The last line, without its newline, once the stream ends.
    pub fn finish(&mut self, emit: &mut impl FnMut(&str)) {
        if !self.pending.is_empty() {
            self.emit_pending(emit);
        }
    }

    /// The most bytes ever held between two calls: one piece.
    pub fn held(&self) -> usize {
        self.pending.len()
    }

    fn emit_pending(&mut self, emit: &mut impl FnMut(&str)) {
        let line = String::from_utf8_lossy(&self.pending);
        emit(line.trim_end_matches('\r'));
        self.pending.clear();
    }

    /// Gives out a full piece, keeping an unfinished character for the next one.
    fn emit_piece(&mut self, emit: &mut impl FnMut(&str)) {
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(_) => self.pending.len(),
            Err(error) if error.error_len().is_none() => error.valid_up_to(),
            Err(_) => self.pending.len(),
        };
        let rest = self.pending.split_off(valid.max(1));
        emit(&String::from_utf8_lossy(&self.pending));
        self.pending = rest;
    }
}

/// What the writer task receives: a line, or a request to confirm that everything sent before
/// is stored.
enum Message {
    Line(LogStream, String),
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// Sends a run's lines to the writer task. Once the log's cap is reached the lines are dropped
/// here, before they queue: a run printing without end costs no memory.
#[derive(Clone)]
pub struct LogSender {
    sender: mpsc::UnboundedSender<Message>,
    /// Bytes sent so far, and the cap (with room for the writer's truncation notice).
    sent: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    cap: usize,
}

impl LogSender {
    pub fn line(&self, stream: LogStream, text: impl Into<String>) {
        use std::sync::atomic::Ordering;
        let text = text.into();
        let before = self.sent.fetch_add(text.len(), Ordering::Relaxed);
        // Past the cap the writer keeps nothing more; uHub's own lines (a run's end) still go.
        if before > self.cap && stream != LogStream::System {
            return;
        }
        // The writer only stops after every sender is gone; a failed send means the run ended.
        let _ = self.sender.send(Message::Line(stream, text));
    }

    /// Waits until every line sent before is stored (e.g. before a webhook's final callback
    /// settles the run, so that a reader of the ended run sees all of its lines).
    pub async fn flush(&self) {
        let (done, stored) = tokio::sync::oneshot::channel();
        if self.sender.send(Message::Flush(done)).is_ok() {
            let _ = stored.await;
        }
    }
}

/// Where a run's log stands once its writer stored every line: the last line's number and the
/// bytes kept, so that the run's last line can be written with its end (one transaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogEnd {
    pub last_seq: i64,
    pub bytes: i64,
}

/// Starts the writer of run `run_id`: returns the sender and the task that ends (with where the
/// log ends) once every sender is dropped and every line is stored.
pub fn writer(
    storage: Storage,
    run_id: i64,
    masker: Masker,
    max_bytes: usize,
) -> (LogSender, tokio::task::JoinHandle<LogEnd>) {
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
            match storage
                .append_run_logs(run_id, &batch, bytes as i64, truncated)
                .await
            {
                Ok(()) => storage.announce_run_change(run_id),
                Err(error) => tracing::error!(run_id, %error, "cannot store log lines"),
            }
            batch.clear();
            for done in confirmations {
                let _ = done.send(());
            }
        }
        LogEnd {
            last_seq: seq,
            bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
        }
    });
    let sender = LogSender {
        sender,
        sent: std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0)),
        cap: max_bytes,
    };
    (sender, task)
}

/// A line cut into pieces of at most [`MAX_LINE_BYTES`], on character boundaries.
pub fn pieces(line: &str) -> Vec<String> {
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
    fn secret_values_are_masked_in_their_common_encodings_too() {
        use base64::Engine as _;
        let secret = "prod-db-password!";
        let masker = Masker::new([secret]);
        for printed in [
            base64::engine::general_purpose::STANDARD.encode(secret),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
            secret
                .bytes()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
            "prod-db-password%21".to_owned(),
        ] {
            let line = format!("leak: {printed}");
            assert_eq!(masker.mask(&line), "leak: *****", "{printed}");
        }
    }

    #[test]
    fn a_line_without_end_is_given_out_in_pieces_as_it_arrives() {
        // 50 MB without a newline, in 64 KiB chunks: the splitter never holds more than one
        // piece, and gives every byte out.
        let mut splitter = LineSplitter::default();
        let chunk = vec![b'a'; 64 * 1024];
        let (mut pieces, mut total, mut held) = (0, 0, 0);
        for _ in 0..(50 * 1024 * 1024 / chunk.len()) {
            splitter.push(&chunk, &mut |piece: &str| {
                pieces += 1;
                total += piece.len();
                assert!(piece.len() <= MAX_LINE_BYTES);
            });
            held = held.max(splitter.held());
        }
        splitter.finish(&mut |piece: &str| total += piece.len());
        assert!(held < MAX_LINE_BYTES, "held {held} bytes");
        assert_eq!(total, 50 * 1024 * 1024);
        assert!(pieces >= 50 * 1024 * 1024 / MAX_LINE_BYTES);
    }

    #[test]
    fn lines_split_across_chunks_and_characters_come_out_whole() {
        let mut splitter = LineSplitter::default();
        let mut lines = Vec::new();
        let text = "héllo\r\nwörld\nlast";
        for byte in text.as_bytes() {
            splitter.push(std::slice::from_ref(byte), &mut |line: &str| {
                lines.push(line.to_owned())
            });
        }
        splitter.finish(&mut |line: &str| lines.push(line.to_owned()));
        assert_eq!(lines, ["héllo", "wörld", "last"]);
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
