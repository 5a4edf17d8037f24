//! Host lines as Ansible reads them: Python's `shlex.split(line, comments=True)`, the
//! `host:port` forms of `parse_address`, and ranges (`web[01:20]`, `db-[a:c]`, `[1:10:2]`).

/// More hosts than this from one pattern is refused (a typo like `[1:10000000]` would otherwise
/// fill the server's memory).
pub const MAX_HOSTS_PER_PATTERN: usize = 10_000;

/// The most `[…]` a host pattern may hold (an IPv6 address in brackets counts as one).
const MAX_RANGES_PER_PATTERN: usize = 16;

/// The most host names one inventory may spell out, ranges expanded and repeats counted: 8 MiB
/// of real fleet is about 100,000 hosts, while 8 MiB of `h[1:9999]` lines would be billions.
pub const MAX_HOST_NAMES: usize = 500_000;

/// The most bytes of variables one inventory may hold once each host has its own copy (host
/// lines give their variables to every name of a range; merging gives each host its groups').
pub const MAX_VARIABLE_BYTES: usize = 128 * 1024 * 1024;

/// Counts what an inventory spells out: host names against [`MAX_HOST_NAMES`], copies of
/// variables against [`MAX_VARIABLE_BYTES`].
#[derive(Debug, Default)]
pub struct HostBudget {
    names: usize,
    bytes: usize,
}

impl HostBudget {
    /// `names` more hosts, each given `variable_bytes` of variables.
    pub fn spend(&mut self, names: usize, variable_bytes: usize) -> Result<(), String> {
        self.names = self.names.saturating_add(names);
        if self.names > MAX_HOST_NAMES {
            return Err(format!(
                "the inventory names more than {MAX_HOST_NAMES} hosts (ranges expanded)"
            ));
        }
        self.bytes = self
            .bytes
            .saturating_add(names.saturating_mul(variable_bytes));
        if self.bytes > MAX_VARIABLE_BYTES {
            return Err(too_much_variables());
        }
        Ok(())
    }
}

pub fn too_much_variables() -> String {
    format!(
        "the inventory's variables, copied to each of its hosts, pass {} MiB",
        MAX_VARIABLE_BYTES / (1024 * 1024)
    )
}

/// Python's `shlex.split(line, comments=True)` (POSIX mode): whitespace separates, quotes group,
/// backslash escapes, `#` outside quotes ends the line.
pub fn shlex_split(line: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut token = String::new();
    // A token exists once a character or a pair of quotes was read (`''` is an empty token).
    let mut started = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\r' | '\n' => {
                if started {
                    tokens.push(std::mem::take(&mut token));
                    started = false;
                }
            }
            '#' => break,
            '\\' => {
                let escaped = chars.next().ok_or("No escaped character")?;
                token.push(escaped);
                started = true;
            }
            '\'' => {
                started = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(inner) => token.push(inner),
                        None => return Err("No closing quotation".into()),
                    }
                }
            }
            '"' => {
                started = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            // Inside double quotes a backslash escapes only `\` and `"`.
                            Some(next @ ('\\' | '"')) => token.push(next),
                            Some(next) => {
                                token.push('\\');
                                token.push(next);
                            }
                            None => return Err("No escaped character".into()),
                        },
                        Some(inner) => token.push(inner),
                        None => return Err("No closing quotation".into()),
                    }
                }
            }
            other => {
                token.push(other);
                started = true;
            }
        }
    }
    if started {
        tokens.push(token);
    }
    Ok(tokens)
}

/// A host pattern's names and the port it gives them (`db1:2222`, `[::1]:22`).
pub fn expand_pattern(pattern: &str) -> Result<(Vec<String>, Option<u16>), String> {
    // Each range is one level of expansion: real names have a few, not thousands.
    if pattern.matches('[').count() > MAX_RANGES_PER_PATTERN {
        return Err(format!(
            "the host pattern has more than {MAX_RANGES_PER_PATTERN} ranges"
        ));
    }
    // Ansible keeps a pattern it cannot read as an address whole, port included.
    let (name, port) = split_port(pattern)
        .filter(|(name, _)| valid_host(name))
        .unwrap_or_else(|| (pattern.to_owned(), None));
    if pattern.trim().ends_with(':') && port.is_none() {
        return Err(format!(
            "Invalid host pattern '{pattern}' supplied, ending in ':' is not allowed, this character is reserved to provide a port."
        ));
    }
    let mut names = Vec::new();
    expand_ranges(&name, &mut names)?;
    if names.iter().any(|n| n.trim() == "---") {
        return Err(format!(
            "Invalid host pattern '{pattern}' supplied, '---' is normally a sign this is a YAML file."
        ));
    }
    Ok((names, port))
}

/// `[host]:port` then `host:port` (ranges may contain `:`), as `parse_address` tries them.
fn split_port(address: &str) -> Option<(String, Option<u16>)> {
    let mut address = address.to_owned();
    let mut port = None;
    if let Some(rest) = address.strip_prefix('[') {
        if let Some((inner, digits)) = rest.rsplit_once("]:") {
            if !inner.is_empty() && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
            {
                port = Some(digits.parse::<u64>().ok()?);
                address = inner.to_owned();
            }
        }
    }
    // host:port, where host has no ':' outside brackets.
    let mut depth = 0usize;
    let mut colon = None;
    let mut broken = false;
    for (index, c) in address.char_indices() {
        match c {
            '[' if depth == 0 => depth = 1,
            '[' => broken = true,
            ']' if depth == 1 => depth = 0,
            ']' => broken = true,
            ':' if depth == 0 => {
                if colon.is_some() {
                    broken = true;
                }
                colon = Some(index);
            }
            _ => {}
        }
    }
    if let (Some(at), false, 0) = (colon, broken, depth) {
        let digits = &address[at + 1..];
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            port = Some(digits.parse::<u64>().ok()?);
            address.truncate(at);
        }
    }
    let port = match port {
        // Ansible sets `ansible_port` only for a non-zero port.
        Some(0) | None => None,
        Some(p) => Some(u16::try_from(p).ok()?),
    };
    Some((address, port))
}

/// An IPv4 address, an IPv6 address, or a host name (labels of word characters and `-`), each
/// part possibly a range.
fn valid_host(host: &str) -> bool {
    if host.is_empty() {
        return false;
    }
    let without_ranges = strip_ranges(host);
    let Some(plain) = without_ranges else {
        return false;
    };
    if plain.contains(':') {
        return plain
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
    }
    plain.split('.').all(|label| {
        !label.is_empty()
            && label
                .chars()
                .next()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
            && label
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            && !label.ends_with(['_', '-'])
    })
}

/// The host with each `[..]` range replaced by `0` (for validation), `None` when a bracket is
/// unbalanced.
fn strip_ranges(host: &str) -> Option<String> {
    let mut out = String::new();
    let mut inside = false;
    for c in host.chars() {
        match (c, inside) {
            ('[', false) => inside = true,
            (']', true) => {
                inside = false;
                out.push('0');
            }
            ('[' | ']', _) => return None,
            (_, true) => {}
            (c, false) => out.push(c),
        }
    }
    (!inside).then_some(out)
}

const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// `expand_hostname_range`: the first `[begin:end(:step)]` expanded, then the rest of each name.
fn expand_ranges(name: &str, out: &mut Vec<String>) -> Result<(), String> {
    let Some(open) = name.find('[') else {
        out.push(name.to_owned());
        return Ok(());
    };
    let head = &name[..open];
    let after = &name[open + 1..];
    let (range, tail) = match after.find(']') {
        Some(close) => (&after[..close], &after[close + 1..]),
        None => return Err(format!("invalid host range in '{name}'")),
    };
    if range.contains('|') || head.contains('|') || tail.contains('|') {
        return Err(format!("invalid host range in '{name}'"));
    }
    let bounds: Vec<&str> = range.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err("host range must be begin:end or begin:end:step".into());
    }
    let begin = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    let step: usize = match bounds.get(2) {
        Some(step) => step
            .trim()
            .parse()
            .map_err(|_| format!("invalid host range step '{step}'"))?,
        None => 1,
    };
    if step == 0 {
        return Err("host range step must not be zero".into());
    }
    if end.is_empty() {
        return Err("host range must specify end value".into());
    }
    let width = if begin.starts_with('0') && begin.len() > 1 {
        if begin.len() != end.len() {
            return Err("host range must specify equal-length begin and end formats".into());
        }
        begin.len()
    } else {
        0
    };
    let mut items: Vec<String> = Vec::new();
    match (LETTERS.find(begin), LETTERS.find(end)) {
        (Some(first), Some(last)) => {
            if first > last {
                return Err("host range must have begin <= end".into());
            }
            items.extend(
                LETTERS[first..=last]
                    .chars()
                    .step_by(step)
                    .map(|c| format!("{c:0>width$}")),
            );
        }
        _ => {
            let first: i64 = begin
                .trim()
                .parse()
                .map_err(|_| format!("invalid host range begin '{begin}'"))?;
            let last: i64 = end
                .trim()
                .parse()
                .map_err(|_| format!("invalid host range end '{end}'"))?;
            // In i128: the bounds may be anywhere in i64 and the step anything in usize.
            let span = i128::from(last) - i128::from(first);
            let step = step as i128;
            let count = if span < 0 { 0 } else { span / step + 1 };
            if count.saturating_add(out.len() as i128) > MAX_HOSTS_PER_PATTERN as i128 {
                return Err(too_many(name));
            }
            for index in 0..count {
                let value = i128::from(first) + index * step;
                let digits = if value < 0 {
                    format!(
                        "-{:0>width$}",
                        value.unsigned_abs(),
                        width = width.saturating_sub(1)
                    )
                } else {
                    format!("{value:0>width$}")
                };
                items.push(digits);
            }
        }
    }
    for item in items {
        let expanded = format!("{head}{item}{tail}");
        expand_ranges(&expanded, out)?;
        if out.len() > MAX_HOSTS_PER_PATTERN {
            return Err(too_many(name));
        }
    }
    Ok(())
}

fn too_many(name: &str) -> String {
    format!("the host pattern '{name}' expands to more than {MAX_HOSTS_PER_PATTERN} hosts")
}

#[cfg(test)]
mod tests {
    use super::{expand_pattern, shlex_split};

    #[test]
    fn host_lines_split_as_python_shlex_splits_them() {
        assert_eq!(
            shlex_split(r#"web1 a=1 b="two words" c='x y' d=\"q # comment"#),
            Ok(vec![
                "web1".to_owned(),
                "a=1".into(),
                "b=two words".into(),
                "c=x y".into(),
                "d=\"q".into()
            ])
        );
        assert_eq!(
            shlex_split("h a=b#c"),
            Ok(vec!["h".to_owned(), "a=b".into()])
        );
        assert!(shlex_split("h a='open").is_err());
    }

    #[test]
    fn patterns_expand_like_ansible() {
        let names = |p: &str| expand_pattern(p).map(|(n, _)| n);
        assert_eq!(names("web[01:03]").map(|n| n.len()), Ok(3));
        assert_eq!(
            names("web[01:03]").map(|n| n[0].clone()),
            Ok("web01".into())
        );
        assert_eq!(
            names("db-[a:c]"),
            Ok(vec!["db-a".into(), "db-b".into(), "db-c".into()])
        );
        assert_eq!(
            names("n[1:10:4]"),
            Ok(vec!["n1".into(), "n5".into(), "n9".into()])
        );
        assert_eq!(
            names("r[1:2]-[a:b]").map(|n| n.join(",")),
            Ok("r1-a,r1-b,r2-a,r2-b".into())
        );
        assert_eq!(
            expand_pattern("db1:2222"),
            Ok((vec!["db1".into()], Some(2222)))
        );
        assert_eq!(
            expand_pattern("10.0.0.1:2200"),
            Ok((vec!["10.0.0.1".into()], Some(2200)))
        );
        assert_eq!(
            expand_pattern("[::1]:22"),
            Ok((vec!["::1".into()], Some(22)))
        );
        assert!(expand_pattern("web[1:100000]").is_err());
        assert!(expand_pattern("web[01:100]").is_err());
        assert!(expand_pattern("web:").is_err());
    }
}
