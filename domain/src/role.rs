//! The four roles of SPEC.md. What each may do is decided by the RBAC policy, not here.

crate::string_enum! {
    /// A user's role; one per user.
    pub enum Role ("role") {
        Admin => "admin",
        /// Project managers / product owners (`projets` in the seed, kept for compatibility).
        Projets => "projets",
        Dev => "dev",
        Ops => "ops",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_spelling() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(*role));
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn roles_serialise_as_their_spelling() {
        assert_eq!(
            serde_json::to_string(&Role::Projets).ok().as_deref(),
            Some("\"projets\"")
        );
    }
}
