//! Small text rules every use case applies to what people type, whichever door it came through.

use crate::{ServiceError, ServiceResult};

/// The longest comment on a decision (an approval, a rejection).
pub const MAX_COMMENT_CHARS: usize = 2000;
/// The longest free text (a description).
pub const MAX_DESCRIPTION_CHARS: usize = 100_000;

/// Free text: any characters but NUL (PostgreSQL cannot store it and SQLite would, so the two
/// engines would answer differently), at most `max_chars`.
pub fn free_text(field: &'static str, value: &str, max_chars: usize) -> ServiceResult<()> {
    if value.contains('\0') {
        return Err(ServiceError::invalid(
            field,
            "must not contain NUL (U+0000) characters",
        ));
    }
    if value.chars().count() > max_chars {
        return Err(ServiceError::invalid(
            field,
            format!("at most {max_chars} characters"),
        ));
    }
    Ok(())
}

/// An optional comment of a decision: trimmed, empty as none, at most 2,000 characters.
pub fn comment(comment: Option<&str>) -> ServiceResult<Option<String>> {
    let Some(comment) = comment.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    free_text("comment", comment, MAX_COMMENT_CHARS)?;
    Ok(Some(comment.to_owned()))
}

/// The name of a record (a link, an inventory, a plan's workspace): trimmed, one line of 1 to
/// 120 characters.
pub fn one_line_name(name: &str) -> ServiceResult<&str> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 120 || name.contains(char::is_control) {
        return Err(ServiceError::invalid(
            "name",
            "must be one line of 1 to 120 characters",
        ));
    }
    Ok(name)
}
