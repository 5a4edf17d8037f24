//! Fuzzy matching for the command palette: the same scoring on the server (data) and in the
//! browser (pages and actions), so results from both sides rank alike.

use serde::{Deserialize, Serialize};

crate::string_enum! {
    /// What a palette result is.
    pub enum HitKind ("search hit kind") {
        Project => "project",
        Job => "job",
        Incident => "incident",
        User => "user",
        Commit => "commit",
        MergeRequest => "merge_request",
    }
}

/// One thing the palette found on the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    pub kind: HitKind,
    pub id: i64,
    pub title: String,
    /// A short second line: the project of a job, the state of an incident…
    pub detail: String,
    /// Where Enter goes.
    pub href: String,
    pub score: i32,
}

/// How well `needle` matches `haystack`, or `None` when it does not: every character of the
/// needle (spaces ignored, case folded) must appear in order. A whole substring beats a
/// scattered match, a match at the start of a word beats one inside it, and shorter titles win
/// ties, so typing `Release v0.1` puts "Release v0.1 – staging" first.
pub fn fuzzy_score(needle: &str, haystack: &str) -> Option<i32> {
    let needle: Vec<char> = needle
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    if needle.is_empty() {
        return Some(0);
    }
    let hay: Vec<char> = haystack.chars().flat_map(char::to_lowercase).collect();
    let mut score = 0i32;
    let mut next = 0usize;
    let mut previous_match: Option<usize> = None;
    for wanted in &needle {
        let found = (next..hay.len()).find(|&i| hay[i] == *wanted)?;
        let word_start = found == 0 || !hay[found - 1].is_alphanumeric();
        score += 1;
        if word_start {
            score += 8;
        }
        if previous_match.is_some_and(|p| p + 1 == found) {
            score += 5;
        }
        previous_match = Some(found);
        next = found + 1;
    }
    let compact_query: String = needle.iter().collect();
    let compact_hay: String = hay.iter().filter(|c| !c.is_whitespace()).collect();
    if compact_hay.contains(&compact_query) {
        score += 40;
        if compact_hay.starts_with(&compact_query) {
            score += 20;
        }
    }
    // Shorter titles first among equals; never enough to beat a better match.
    score -= (hay.len() as i32 / 16).min(8);
    Some(score)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_character_must_appear_in_order() {
        assert!(fuzzy_score("rls", "Release").is_some());
        assert!(fuzzy_score("slr", "Release").is_none());
        assert!(fuzzy_score("xyz", "Release v0.1").is_none());
        assert_eq!(fuzzy_score("  ", "anything"), Some(0));
    }

    #[test]
    fn a_whole_title_prefix_ranks_first() {
        let release = fuzzy_score("Release v0.1", "Release v0.1 – staging").unwrap_or(-1);
        let scattered = fuzzy_score("Release v0.1", "Rotate release keys v0 and v1").unwrap_or(-1);
        assert!(release > scattered, "{release} > {scattered}");
        let word = fuzzy_score("cal", "Go to calendar").unwrap_or(-1);
        let inside = fuzzy_score("cal", "Local backup").unwrap_or(-1);
        assert!(word > inside, "{word} > {inside}");
    }

    #[test]
    fn case_and_spaces_do_not_matter() {
        assert_eq!(
            fuzzy_score("RELEASEV0.1", "release v0.1"),
            fuzzy_score("release v0.1", "release v0.1")
        );
    }
}
