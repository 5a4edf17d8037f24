//! The signed-in user in the browser, and what their role may do: for showing only what the
//! server allows (the server decides again on every request).

use domain::policy::{may, Action, Object, Subject};
use domain::{Role, UserProfile};
use leptos::prelude::*;

use crate::AppError;

/// The signed-in user, loaded once per page for the shell, the palette and the pages.
#[derive(Clone, Copy)]
pub struct Me(pub Resource<Result<UserProfile, AppError>>);

impl Me {
    /// The signed-in user as the policy sees them, once loaded.
    pub fn subject(&self) -> Option<Subject> {
        self.0.get().and_then(Result::ok).map(|user| Subject {
            user_id: user.id,
            role: user.role,
        })
    }

    /// What the policy answers for the signed-in user (a refusal while nobody is loaded).
    pub fn decide(
        &self,
        action: Action,
        object: &Object,
        environment: Option<&domain::policy::Environment<'_>>,
    ) -> domain::policy::Decision {
        match self.subject() {
            Some(subject) => may(&subject, action, object, environment),
            None => domain::policy::Decision::Deny(domain::policy::Refusal {
                rule: "unauthenticated",
                message: "sign in first",
            }),
        }
    }

    /// Whether the signed-in user may do `action` (at once or after an approval): for showing
    /// an action at all. The server decides again.
    pub fn allows(&self, action: Action, object: &Object) -> bool {
        !matches!(
            self.decide(action, object, None),
            domain::policy::Decision::Deny(_)
        )
    }
}

/// May `role` do `action` (on nothing in particular)? For showing only what the server allows;
/// the server decides again on every request.
pub fn role_may(role: Role, action: Action) -> bool {
    let subject = Subject { user_id: 0, role };
    may(&subject, action, &Object::none(), None).is_allowed()
}

/// May `role` do `action` on at least one kind of thing (its own project, any job type)? For
/// offering an action whose object is chosen later, as the palette's "New job".
pub fn role_may_somewhere(role: Role, action: Action) -> bool {
    let subject = Subject { user_id: 0, role };
    [Some(0), None].into_iter().any(|owner| {
        domain::JobType::ALL.iter().any(|job_type| {
            !matches!(
                may(&subject, action, &Object::job(owner, *job_type), None),
                domain::policy::Decision::Deny(_)
            )
        })
    })
}

/// What an island reads that the page provides everywhere else: the locale and the signed-in
/// user. An island is hydrated on its own, without the contexts around it on the server, so it
/// provides them itself (the user's resource is resolved on the server and sent with the page).
pub fn provide_for_island() -> Me {
    crate::i18n::provide_locale();
    let me = Me(Resource::new(|| (), |_| crate::auth::current_user()));
    provide_context(me);
    me
}
