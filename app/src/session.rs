//! The signed-in user in the browser, and what their role may do: for showing only what the
//! server allows (the server decides again on every request).

use domain::policy::{may, Action, Object, Subject};
use domain::{Role, UserProfile};
use leptos::prelude::*;

use crate::AppError;

/// The signed-in user, loaded once per page for the shell, the palette and the pages.
#[derive(Clone, Copy)]
pub struct Me(pub Resource<Result<UserProfile, AppError>>);

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
