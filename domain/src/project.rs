//! Projects: the unit that owns environments, jobs, backlog and links.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

crate::string_enum! {
    /// An archived project keeps its history but takes no new work.
    pub enum ProjectState ("project state") {
        Active => "active",
        Archived => "archived",
    }
}

/// A project colour, always `#RRGGBB` with lowercase hex digits once parsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(value_type = String, pattern = "^#[0-9a-fA-F]{6}$", example = "#00ff00")
)]
#[serde(try_from = "String", into = "String")]
pub struct Color(String);

/// Why a text is not a `#RRGGBB` colour.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a colour is written #RRGGBB, for example #00ff00")]
pub struct InvalidColor;

impl Color {
    /// uHub green, the colour of a project created without one.
    pub fn default_accent() -> Self {
        Color("#00ff00".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The colours offered to new projects: far apart in hue and lightness, so that projects
    /// coloured from it are told apart on the calendar, and readable on black and on white.
    pub const PALETTE: [&'static str; 10] = [
        "#3ea6ff", "#f5a524", "#d78bff", "#ff6b8a", "#2dd4bf", "#a3e635", "#ff8a3d", "#818cf8",
        "#facc15", "#00cc88",
    ];

    /// The first colour of [`Color::PALETTE`] that none of `taken` uses (case aside), or the
    /// palette's colour for the next project when all are taken.
    pub fn first_free<'a>(taken: impl IntoIterator<Item = &'a str>) -> Color {
        let taken: Vec<String> = taken.into_iter().map(str::to_ascii_lowercase).collect();
        let free = Self::PALETTE
            .iter()
            .find(|colour| !taken.contains(&colour.to_string()))
            .unwrap_or(&Self::PALETTE[taken.len() % Self::PALETTE.len()]);
        Color((*free).to_owned())
    }
}

impl FromStr for Color {
    type Err = InvalidColor;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let hex = text.strip_prefix('#').ok_or(InvalidColor)?;
        if hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Color(format!("#{}", hex.to_ascii_lowercase())))
        } else {
            Err(InvalidColor)
        }
    }
}

impl TryFrom<String> for Color {
    type Error = InvalidColor;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Color> for String {
    fn from(color: Color) -> String {
        color.0
    }
}

impl fmt::Display for Color {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A project as the API and the UI see it, with a few figures about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectSummary {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub color: Color,
    pub state: ProjectState,
    pub owner_id: Option<i64>,
    pub owner_username: Option<String>,
    /// Environment names, in creation order (details at `/projects/{id}/environments`).
    pub environments: Vec<String>,
    /// Where runs go when a launch names no backend.
    pub execution_backend: Option<crate::ExecutionBackend>,
    pub execution_backend_config: crate::BackendConfig,
    pub job_count: i64,
    /// The earliest planned start of a job that is still `planned`, if any.
    pub next_job_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An environment of a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvironmentRecord {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    /// Production guardrails apply (isolated backends, approval). `prod` is production by default.
    pub is_production: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ProjectSummary {
    /// Whether the project matches a free-text filter typed by a person (name, description,
    /// owner, environment; case-insensitive). An empty filter matches everything.
    pub fn matches(&self, filter: &str) -> bool {
        let needle = filter.trim().to_lowercase();
        if needle.is_empty() {
            return true;
        }
        let haystacks = [
            Some(self.name.as_str()),
            Some(self.description.as_str()),
            self.owner_username.as_deref(),
        ];
        haystacks
            .into_iter()
            .flatten()
            .chain(self.environments.iter().map(String::as_str))
            .any(|h| h.to_lowercase().contains(&needle))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_project_gets_a_colour_no_project_uses() {
        assert_eq!(Color::first_free([]).as_str(), Color::PALETTE[0]);
        assert_eq!(
            Color::first_free(["#00ff00", "#3EA6FF"]).as_str(),
            Color::PALETTE[1]
        );
        let all_taken: Vec<&str> = Color::PALETTE.to_vec();
        assert!(Color::PALETTE.contains(&Color::first_free(all_taken).as_str()));
    }

    #[test]
    fn colours_are_hash_and_six_hex_digits() {
        assert_eq!(
            "#00FF00".parse::<Color>().map(|c| c.to_string()),
            Ok("#00ff00".to_owned())
        );
        for bad in ["00ff00", "#0f0", "#00ff0g", "#00ff000", "", "#"] {
            assert_eq!(bad.parse::<Color>(), Err(InvalidColor), "{bad:?}");
        }
    }

    #[test]
    fn colours_refuse_bad_values_when_deserialised() {
        assert!(serde_json::from_str::<Color>("\"#12345\"").is_err());
        assert_eq!(
            serde_json::from_str::<Color>("\"#66FFCC\"")
                .ok()
                .map(String::from)
                .as_deref(),
            Some("#66ffcc")
        );
    }

    fn summary(name: &str) -> ProjectSummary {
        let now = Utc::now();
        ProjectSummary {
            id: 1,
            name: name.to_owned(),
            description: "Cluster upgrades".to_owned(),
            color: Color::default_accent(),
            state: ProjectState::Active,
            owner_id: Some(4),
            owner_username: Some("demo-ops".to_owned()),
            environments: vec!["dev".to_owned(), "prod".to_owned()],
            execution_backend: None,
            execution_backend_config: crate::BackendConfig::default(),
            job_count: 0,
            next_job_at: None,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn the_filter_looks_at_name_description_owner_and_environments() {
        let project = summary("Infra K3s");
        assert!(project.matches(""));
        assert!(project.matches("  k3S "));
        assert!(project.matches("upgrades"));
        assert!(project.matches("demo-ops"));
        assert!(project.matches("prod"));
        assert!(!project.matches("registry"));
    }
}
