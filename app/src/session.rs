//! The signed-in user in the browser, and what their role may do: for showing only what the
//! server allows (the server decides again on every request).

use domain::policy::{may, Action, Object, Subject};
use domain::{Role, UserProfile};
use leptos::prelude::*;

use crate::AppError;

/// The signed-in user, for the shell, the palette, the pages and their islands.
///
/// Known at once where the page is drawn: the server knows who asks, and the page carries
/// them (`data-me` on the shell's root) to the islands hydrated in the browser. Not a
/// `Resource`: a resource in an island is matched with the server's serialized value by its
/// creation number, which the server counts over the whole page and each island bundle from
/// its own zero, so an island could read another resource's value, fail to hydrate and ask
/// the server again. Asked of the server only where the page did not say (never in practice).
#[derive(Clone, Copy)]
pub struct Me(pub RwSignal<Option<Result<UserProfile, AppError>>>);

impl Me {
    /// The signed-in user of this page: see [`Me`].
    pub fn signed_in() -> Me {
        let known = known_user();
        #[cfg(feature = "hydrate")]
        let unknown = known.is_none();
        let me = Me(RwSignal::new(known));
        #[cfg(feature = "hydrate")]
        if unknown {
            leptos::task::spawn_local(async move {
                let user = crate::auth::current_user().await;
                me.0.set(Some(user));
            });
        }
        me
    }

    /// The signed-in user, or why there is none.
    pub fn user(&self) -> Result<UserProfile, AppError> {
        self.0.get_untracked().unwrap_or_else(|| {
            Err(AppError::new("unauthenticated", "sign in first").with_status(401))
        })
    }

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

/// The signed-in user as the server knows them while it renders the page, or as the page
/// carries them in the browser (see [`Me`]); `None` when neither says.
fn known_user() -> Option<Result<UserProfile, AppError>> {
    #[cfg(feature = "ssr")]
    {
        Some(crate::auth::signed_in_profile())
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        let carried = web_sys::window()
            .and_then(|window| window.document())
            .and_then(|document| document.query_selector("[data-me]").ok().flatten())
            .and_then(|root| root.get_attribute("data-me"))?;
        serde_json::from_str::<UserProfile>(&carried).ok().map(Ok)
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        None
    }
}

/// Whether the page is refused to the signed-in user, whose role may not take `action` at all:
/// decided on the server, which knows who asks (the stored account the shell read into [`Me`],
/// not the token's claims), and then answered with a 403 and [`crate::ui::OnlyFor`] instead of
/// the page (whose own calls would be refused one by one). The server functions and routes
/// behind the page authorise again on their own.
pub fn refused_to_role(action: Action) -> bool {
    #[cfg(feature = "ssr")]
    {
        let allowed = use_context::<Me>()
            .and_then(|me| me.user().ok())
            .is_some_and(|user| role_may(user.role, action));
        if !allowed {
            crate::error::answer_status(http::StatusCode::FORBIDDEN);
        }
        !allowed
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = action;
        false
    }
}

/// What an island reads that the page provides everywhere else: the locale and the signed-in
/// user. An island is hydrated on its own, without the contexts around it on the server, so it
/// provides them itself (the user as the page carries them, see [`Me`]). On the server it is
/// drawn inside the page, whose shell has provided both already: they are taken as they are
/// rather than read again for each island.
pub fn provide_for_island() -> Me {
    #[cfg(feature = "ssr")]
    if let Some(me) = use_context::<Me>() {
        return me;
    }
    crate::i18n::provide_locale();
    let me = Me::signed_in();
    provide_context(me);
    me
}
