//! A small Markdown preview for the post-mortem editor: headings, paragraphs, lists (and task
//! boxes), tables, `code`, **bold** and _emphasis_ — what uHub's drafts use. It builds views, never
//! HTML from the text, so nothing typed can inject markup.

use leptos::prelude::*;

enum Block {
    Heading(usize, String),
    Paragraph(String),
    List(Vec<(Option<bool>, String)>),
    Table(Vec<Vec<String>>),
}

fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    let mut out = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in inner.chars() {
        match c {
            '\\' if !escaped => escaped = true,
            '|' if !escaped => out.push(std::mem::take(&mut current).trim().to_owned()),
            other => {
                escaped = false;
                current.push(other);
            }
        }
    }
    out.push(current.trim().to_owned());
    out
}

fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut paragraph = String::new();
    let flush = |paragraph: &mut String, out: &mut Vec<Block>| {
        if !paragraph.trim().is_empty() {
            out.push(Block::Paragraph(paragraph.trim().to_owned()));
        }
        paragraph.clear();
    };
    for line in text.lines() {
        let trimmed = line.trim_end();
        if let Some(level) = ["### ", "## ", "# "]
            .iter()
            .position(|p| trimmed.starts_with(p))
        {
            flush(&mut paragraph, &mut out);
            let depth = 3 - level;
            out.push(Block::Heading(depth, trimmed[depth + 1..].to_owned()));
        } else if let Some(item) = trimmed
            .strip_prefix("- ")
            .or_else(|| trimmed.strip_prefix("* "))
        {
            flush(&mut paragraph, &mut out);
            let (task, item) = if let Some(rest) = item.strip_prefix("[ ] ") {
                (Some(false), rest)
            } else if let Some(rest) = item.strip_prefix("[x] ") {
                (Some(true), rest)
            } else {
                (None, item)
            };
            match out.last_mut() {
                Some(Block::List(items)) => items.push((task, item.to_owned())),
                _ => out.push(Block::List(vec![(task, item.to_owned())])),
            }
        } else if trimmed.starts_with('|') {
            flush(&mut paragraph, &mut out);
            let row = cells(trimmed);
            // The separator row (`| --- | --- |`) carries no content.
            if row
                .iter()
                .all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':')))
            {
                continue;
            }
            match out.last_mut() {
                Some(Block::Table(rows)) => rows.push(row),
                _ => out.push(Block::Table(vec![row])),
            }
        } else if trimmed.is_empty() {
            flush(&mut paragraph, &mut out);
            if let Some(Block::List(_) | Block::Table(_)) = out.last() {
                out.push(Block::Paragraph(String::new()));
            }
        } else {
            paragraph.push_str(trimmed);
            paragraph.push(' ');
        }
    }
    flush(&mut paragraph, &mut out);
    out.retain(|b| !matches!(b, Block::Paragraph(p) if p.is_empty()));
    out
}

/// `**bold**`, `_emphasis_` and `` `code` `` inside a line.
fn inline(text: &str) -> AnyView {
    let mut parts: Vec<AnyView> = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let next = ["**", "`", "_"]
            .iter()
            .filter_map(|m| rest.find(m).map(|at| (at, *m)))
            .min_by_key(|(at, _)| *at);
        let Some((at, marker)) = next else {
            parts.push(rest.to_owned().into_any());
            break;
        };
        let after = &rest[at + marker.len()..];
        let Some(end) = after.find(marker) else {
            parts.push(rest.to_owned().into_any());
            break;
        };
        if at > 0 {
            parts.push(rest[..at].to_owned().into_any());
        }
        let inner = after[..end].to_owned();
        parts.push(match marker {
            "**" => view! { <strong>{inner}</strong> }.into_any(),
            "`" => view! { <code class="mono">{inner}</code> }.into_any(),
            _ => view! { <em>{inner}</em> }.into_any(),
        });
        rest = &after[end + marker.len()..];
    }
    parts.collect_view().into_any()
}

/// The preview of `text`.
#[component]
pub fn MarkdownPreview(text: String) -> impl IntoView {
    let rendered = blocks(&text)
        .into_iter()
        .map(|block| match block {
            Block::Heading(1, text) => view! { <h2 class="md-h1">{inline(&text)}</h2> }.into_any(),
            Block::Heading(2, text) => view! { <h3 class="md-h2">{inline(&text)}</h3> }.into_any(),
            Block::Heading(_, text) => view! { <h4 class="md-h3">{inline(&text)}</h4> }.into_any(),
            Block::Paragraph(text) => view! { <p>{inline(&text)}</p> }.into_any(),
            Block::List(items) => view! {
                <ul class="md-list">
                    {items.into_iter().map(|(task, text)| view! {
                        <li>{task.map(|done| view! { <span aria-hidden="true">{if done { "☑ " } else { "☐ " }}</span> })}{inline(&text)}</li>
                    }).collect_view()}
                </ul>
            }.into_any(),
            Block::Table(rows) => {
                let mut rows = rows.into_iter();
                let head = rows.next().unwrap_or_default();
                view! {
                    <div class="table-scroll">
                        <table class="table">
                            <thead><tr>{head.into_iter().map(|c| view! { <th scope="col">{inline(&c)}</th> }).collect_view()}</tr></thead>
                            <tbody>{rows.map(|row| view! {
                                <tr>{row.into_iter().map(|c| view! { <td>{inline(&c)}</td> }).collect_view()}</tr>
                            }).collect_view()}</tbody>
                        </table>
                    </div>
                }.into_any()
            }
        })
        .collect_view();
    view! { <div class="markdown" data-testid="postmortem-preview">{rendered}</div> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_splits_into_its_blocks() {
        let found = blocks("# Title\n\nSome **text**\nmore.\n\n- [ ] item\n- two\n\n| a | b |\n| --- | --- |\n| 1 | x \\| y |\n");
        assert!(matches!(&found[0], Block::Heading(1, t) if t == "Title"));
        assert!(matches!(&found[1], Block::Paragraph(p) if p == "Some **text** more."));
        assert!(
            matches!(&found[2], Block::List(items) if items.len() == 2 && items[0].0 == Some(false))
        );
        assert!(
            matches!(&found[3], Block::Table(rows) if rows.len() == 2 && rows[1][1] == "x | y")
        );
    }
}
