//! Python's `ast.literal_eval`, as Ansible's INI inventories apply it to every value: `22` is
//! a number, `"'22'"` a string, `[1, 2]` a list, `yes` stays the string "yes". Anything Python
//! would refuse (a name, an expression, a syntax error) is not an error: the text is kept as it is.

use serde_json::{Map, Number, Value};

/// The value Ansible stores for `text` (the raw text when Python cannot read it as a literal).
pub fn value_of(text: &str) -> Value {
    // Most values are plain words or numbers: answered without the reader.
    if text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
    {
        match text {
            "True" => return Value::Bool(true),
            "False" => return Value::Bool(false),
            "None" => return Value::Null,
            _ => {}
        }
        let first = text.as_bytes().first().copied().unwrap_or(b'0');
        if first.is_ascii_alphabetic() && !text.contains(['.', '-']) {
            return Value::String(text.to_owned());
        }
        if first.is_ascii_digit()
            && text.bytes().all(|b| b.is_ascii_digit())
            && (text.len() == 1 || first != b'0')
        {
            if let Ok(n) = text.parse::<i64>() {
                return Value::Number(n.into());
            }
        }
    }
    let source = text.trim_start_matches([' ', '\t']);
    let mut reader = Reader {
        chars: source.chars().collect(),
        at: 0,
        depth: 0,
    };
    match reader.top_level() {
        Some(value) if reader.at_end() => value,
        _ => Value::String(text.to_owned()),
    }
}

struct Reader {
    chars: Vec<char>,
    at: usize,
    /// Brackets open around the reader: Python refuses more than 200 (and Ansible then keeps the
    /// text), and a deeper reading would overflow this thread's stack.
    depth: usize,
}

/// Python's parser's nesting limit.
const MAX_NESTING: usize = 200;

/// A literal read so far: numbers keep their kind (Python refuses `-True`, accepts `-1.5`).
enum Literal {
    Value(Value),
    Number(Value),
}

impl Reader {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    /// Skips blanks and a `#` comment (Python's tokenizer does both on one line).
    fn blank(&mut self) {
        while let Some(c) = self.peek() {
            if c == ' ' || c == '\t' || c == '\x0c' {
                self.at += 1;
            } else if c == '#' {
                self.at = self.chars.len();
            } else {
                break;
            }
        }
    }

    fn at_end(&mut self) -> bool {
        self.blank();
        self.at >= self.chars.len()
    }

    fn eat(&mut self, wanted: char) -> bool {
        self.blank();
        if self.peek() == Some(wanted) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// An expression, or a bare tuple (`1, 2`), as Python's eval mode reads the whole text.
    fn top_level(&mut self) -> Option<Value> {
        let first = self.expression()?;
        if !self.eat(',') {
            return Some(first);
        }
        let mut items = vec![first];
        while !self.at_end() {
            items.push(self.expression()?);
            if !self.eat(',') {
                break;
            }
        }
        Some(Value::Array(items))
    }

    fn expression(&mut self) -> Option<Value> {
        match self.literal()? {
            Literal::Value(v) | Literal::Number(v) => Some(v),
        }
    }

    fn literal(&mut self) -> Option<Literal> {
        if self.depth >= MAX_NESTING {
            return None;
        }
        self.depth += 1;
        let literal = self.literal_here();
        self.depth -= 1;
        literal
    }

    fn literal_here(&mut self) -> Option<Literal> {
        self.blank();
        let c = self.peek()?;
        match c {
            '[' => {
                self.at += 1;
                Some(Literal::Value(Value::Array(self.items(']')?)))
            }
            '(' => {
                self.at += 1;
                if self.eat(')') {
                    return Some(Literal::Value(Value::Array(Vec::new())));
                }
                let first = self.expression()?;
                if self.eat(')') {
                    // `(x)` is x itself; `(x,)` a tuple.
                    return Some(Literal::Value(first));
                }
                if !self.eat(',') {
                    return None;
                }
                let mut items = vec![first];
                items.extend(self.items(')')?);
                Some(Literal::Value(Value::Array(items)))
            }
            '{' => {
                self.at += 1;
                self.dict().map(Literal::Value)
            }
            '-' | '+' => {
                self.at += 1;
                self.blank();
                let operand = self.number()?;
                if c == '-' {
                    Some(Literal::Number(negate(operand)?))
                } else {
                    Some(Literal::Number(operand))
                }
            }
            '0'..='9' | '.' => self.number().map(Literal::Number),
            _ if c.is_alphabetic() || c == '_' || c == '\'' || c == '"' => self.word_or_string(),
            _ => None,
        }
    }

    /// Items up to `close`, a trailing comma allowed.
    fn items(&mut self, close: char) -> Option<Vec<Value>> {
        let mut items = Vec::new();
        loop {
            if self.eat(close) {
                return Some(items);
            }
            items.push(self.expression()?);
            if self.eat(close) {
                return Some(items);
            }
            if !self.eat(',') {
                return None;
            }
        }
    }

    fn dict(&mut self) -> Option<Value> {
        let mut map = Map::new();
        loop {
            if self.eat('}') {
                return Some(Value::Object(map));
            }
            let key = self.expression()?;
            if map.is_empty() && !self.eat(':') {
                return self.set(key);
            }
            if !map.is_empty() && !self.eat(':') {
                return None;
            }
            let value = self.expression()?;
            map.insert(key_text(&key)?, value);
            if self.eat('}') {
                return Some(Value::Object(map));
            }
            if !self.eat(',') {
                return None;
            }
        }
    }

    /// The rest of a set (`{1, 2}`), written as a list. Python iterates small integers in
    /// ascending order; other sets have no order Python keeps from one run to the next.
    fn set(&mut self, first: Value) -> Option<Value> {
        let mut seen = std::collections::HashSet::from([first.to_string()]);
        let mut items = vec![first];
        loop {
            if self.eat('}') {
                break;
            }
            if !self.eat(',') {
                return None;
            }
            if self.eat('}') {
                break;
            }
            let item = self.expression()?;
            if seen.insert(item.to_string()) {
                items.push(item);
            }
        }
        if items.iter().all(|v| v.as_u64().is_some()) {
            items.sort_by_key(|v| v.as_u64());
        }
        Some(Value::Array(items))
    }

    /// `True`, `False`, `None`, or a string with its prefix (`r`, `b`, `u`), adjacent strings
    /// joined as Python joins them.
    fn word_or_string(&mut self) -> Option<Literal> {
        let start = self.at;
        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.at += 1;
        }
        let word: String = self.chars[start..self.at].iter().collect();
        if matches!(self.peek(), Some('\'' | '"')) {
            let prefix = word.to_ascii_lowercase();
            if !["", "r", "u", "b", "br", "rb"].contains(&prefix.as_str()) {
                // f-strings and unknown prefixes are not literals.
                return None;
            }
            let mut text = self.string(prefix.contains('r'))?;
            // Adjacent strings: 'a' "b" is 'ab'.
            loop {
                self.blank();
                let mark = self.at;
                let mut prefix = String::new();
                while self.peek().is_some_and(|c| c.is_alphabetic()) {
                    prefix.push(self.peek()?.to_ascii_lowercase());
                    self.at += 1;
                }
                if matches!(self.peek(), Some('\'' | '"'))
                    && ["", "r", "u", "b", "br", "rb"].contains(&prefix.as_str())
                {
                    text.push_str(&self.string(prefix.contains('r'))?);
                } else {
                    self.at = mark;
                    break;
                }
            }
            return Some(Literal::Value(Value::String(text)));
        }
        match word.as_str() {
            "True" => Some(Literal::Value(Value::Bool(true))),
            "False" => Some(Literal::Value(Value::Bool(false))),
            "None" => Some(Literal::Value(Value::Null)),
            _ => None,
        }
    }

    /// A quoted string (single, double or triple quotes) with Python's escapes.
    fn string(&mut self, raw: bool) -> Option<String> {
        let quote = self.peek()?;
        let triple = self.chars.get(self.at..self.at + 3) == Some(&[quote, quote, quote][..]);
        self.at += if triple { 3 } else { 1 };
        let mut text = String::new();
        loop {
            let c = self.peek()?;
            if c == quote {
                if !triple {
                    self.at += 1;
                    return Some(text);
                }
                if self.chars.get(self.at..self.at + 3) == Some(&[quote, quote, quote][..]) {
                    self.at += 3;
                    return Some(text);
                }
                text.push(c);
                self.at += 1;
                continue;
            }
            self.at += 1;
            if c != '\\' {
                text.push(c);
                continue;
            }
            let next = self.peek()?;
            self.at += 1;
            if raw {
                text.push('\\');
                text.push(next);
                continue;
            }
            match next {
                '\\' => text.push('\\'),
                '\'' => text.push('\''),
                '"' => text.push('"'),
                'n' => text.push('\n'),
                't' => text.push('\t'),
                'r' => text.push('\r'),
                'a' => text.push('\x07'),
                'b' => text.push('\x08'),
                'f' => text.push('\x0c'),
                'v' => text.push('\x0b'),
                '0'..='7' => {
                    let mut code = next.to_digit(8)?;
                    for _ in 0..2 {
                        match self.peek().and_then(|d| d.to_digit(8)) {
                            Some(d) => {
                                code = code * 8 + d;
                                self.at += 1;
                            }
                            None => break,
                        }
                    }
                    text.push(char::from_u32(code)?);
                }
                'x' | 'u' | 'U' => {
                    let width = match next {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let digits: String = self.chars.get(self.at..self.at + width)?.iter().collect();
                    let code = u32::from_str_radix(&digits, 16).ok()?;
                    self.at += width;
                    text.push(char::from_u32(code)?);
                }
                // An unknown escape keeps its backslash (Python warns, and Ansible hides the warning).
                other => {
                    text.push('\\');
                    text.push(other);
                }
            }
        }
    }

    /// An int or a float in Python's syntax (underscores, `0x`/`0o`/`0b`, exponents).
    fn number(&mut self) -> Option<Value> {
        let start = self.at;
        // A sign belongs to the number after an exponent's `e`, unless the number is hex.
        let mut hex = false;
        while let Some(c) = self.peek() {
            let signed_exponent = matches!(c, '+' | '-')
                && !hex
                && matches!(self.chars.get(self.at.wrapping_sub(1)), Some('e' | 'E'));
            if !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || signed_exponent) {
                break;
            }
            hex |= matches!(c, 'x' | 'X');
            self.at += 1;
        }
        let text: String = self.chars[start..self.at].iter().collect();
        python_number(&text)
    }
}

/// Python's `-x` for a number read by [`python_number`].
fn negate(value: Value) -> Option<Value> {
    let number = value.as_number()?;
    if let Some(i) = number.as_i64() {
        return Some(Value::Number(i.checked_neg()?.into()));
    }
    if let Some(u) = number.as_u64() {
        return i64::try_from(u)
            .ok()
            .and_then(i64::checked_neg)
            .map(|i| Value::Number(i.into()));
    }
    Number::from_f64(-number.as_f64()?).map(Value::Number)
}

fn digits_ok(digits: &str, radix: u32) -> bool {
    !digits.is_empty()
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
        && digits.chars().all(|c| c == '_' || c.is_digit(radix))
}

/// A Python numeric literal (no sign): `0x1F`, `1_000`, `0o17`, `1.5e3`, `.5`.
fn python_number(text: &str) -> Option<Value> {
    let lower = text.to_ascii_lowercase();
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(digits) = lower.strip_prefix(prefix) {
            let digits = digits.strip_prefix('_').unwrap_or(digits);
            if !digits_ok(digits, radix) {
                return None;
            }
            let value = u64::from_str_radix(&digits.replace('_', ""), radix).ok()?;
            return Some(Value::Number(value.into()));
        }
    }
    if lower.ends_with('j') {
        // Complex numbers are turned back into their text by Ansible; not worth imitating.
        return None;
    }
    let is_float = lower.contains('.') || lower.contains('e');
    if !is_float {
        if !digits_ok(&lower, 10) {
            return None;
        }
        let digits = lower.replace('_', "");
        // Python refuses leading zeros on a non-zero decimal int (`010`).
        if digits.len() > 1 && digits.starts_with('0') && digits.chars().any(|c| c != '0') {
            return None;
        }
        return digits
            .parse::<i64>()
            .ok()
            .map(|v| Value::Number(v.into()))
            .or_else(|| digits.parse::<u64>().ok().map(|v| Value::Number(v.into())));
    }
    let (mantissa, exponent) = match lower.split_once('e') {
        Some((m, e)) => (m, Some(e)),
        None => (lower.as_str(), None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    if (!whole.is_empty() && !digits_ok(whole, 10))
        || (!fraction.is_empty() && !digits_ok(fraction, 10))
    {
        return None;
    }
    if let Some(exponent) = exponent {
        let unsigned = exponent.trim_start_matches(['+', '-']);
        if exponent.len() - unsigned.len() > 1 || !digits_ok(unsigned, 10) {
            return None;
        }
    }
    let value: f64 = lower.replace('_', "").parse().ok()?;
    Number::from_f64(value).map(Value::Number)
}

/// A dict key as JSON writes Python's keys: strings as they are, numbers, booleans and None
/// as their JSON text.
fn key_text(key: &Value) -> Option<String> {
    match key {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some("null".into()),
        Value::Number(n) => Some(n.to_string()),
        // Lists and dicts cannot be keys in Python.
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::value_of;
    use serde_json::json;

    #[test]
    fn values_are_read_as_python_reads_literals() {
        for (text, expected) in [
            ("22", json!(22)),
            ("-3", json!(-3)),
            ("1_000", json!(1000)),
            ("0x1F", json!(31)),
            ("1.5", json!(1.5)),
            ("1e3", json!(1000.0)),
            ("True", json!(true)),
            ("None", json!(null)),
            ("yes", json!("yes")),
            ("true", json!("true")),
            ("'quoted'", json!("quoted")),
            ("\"a\" 'b'", json!("ab")),
            ("[1, 'two', (3,)]", json!([1, "two", [3]])),
            ("{'a': 1, 2: [True]}", json!({"a": 1, "2": [true]})),
            ("1 # a comment", json!(1)),
            ("010", json!("010")),
            ("a b", json!("a b")),
            ("1 + 2", json!("1 + 2")),
            ("'\\x41\\n'", json!("A\n")),
            ("r'\\d'", json!("\\d")),
            ("", json!("")),
            ("(1)", json!(1)),
            ("-True", json!("-True")),
        ] {
            assert_eq!(value_of(text), expected, "{text}");
        }
    }
}
