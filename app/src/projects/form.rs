//! Creating and editing a project: the form and its two server functions.

use domain::ProjectSummary;
use leptos::prelude::*;

use crate::AppError;

/// Creates a project owned by the caller, with its environments (comma-separated names;
/// `prod` is production).
#[server(prefix = "/sfn", endpoint = "projects/create")]
pub async fn create_project(
    name: String,
    description: String,
    color: String,
    environments: String,
) -> Result<ProjectSummary, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    // Empty: the palette's first colour no project uses.
    let color =
        match color.trim() {
            "" => None,
            chosen => Some(chosen.parse::<domain::Color>().map_err(|_| {
                services::ServiceError::invalid("color", "is not a #rrggbb colour")
            })?),
        };
    let project = services::projects::ProjectDraft {
        name,
        description,
        color,
        environments: environments
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(services::storage::NewEnvironment::named)
            .collect(),
        ..Default::default()
    };
    Ok(services::projects::create(&hub, &caller, project).await?)
}

/// Edits a project's name, description and colour (its owner among projets, or an admin).
#[server(prefix = "/sfn", endpoint = "projects/edit")]
pub async fn edit_project(
    project_id: i64,
    version: i64,
    name: String,
    description: String,
    color: String,
) -> Result<ProjectSummary, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    let color = color
        .parse::<domain::Color>()
        .map_err(|_| services::ServiceError::invalid("color", "is not a #rrggbb colour"))?;
    let changes = services::storage::ProjectChanges {
        name: Some(name),
        description: Some(description),
        color: Some(color),
        ..Default::default()
    };
    Ok(services::projects::update(&hub, &caller, project_id, version, changes).await?)
}

/// The create / edit form of a project. `editing` holds the project being edited.
#[component]
pub fn ProjectForm(
    editing: Option<ProjectSummary>,
    on_close: Callback<()>,
    on_saved: Callback<ProjectSummary>,
) -> impl IntoView {
    use crate::i18n::t;
    let is_new = editing.is_none();
    let name = RwSignal::new(editing.as_ref().map(|p| p.name.clone()).unwrap_or_default());
    let description = RwSignal::new(
        editing
            .as_ref()
            .map(|p| p.description.clone())
            .unwrap_or_default(),
    );
    let color = RwSignal::new(
        editing
            .as_ref()
            .map(|p| p.color.to_string())
            .unwrap_or_default(),
    );
    let environments = RwSignal::new("dev, staging, prod".to_owned());
    // The colour input cannot show "none": it shows the grey uHub would not pick itself.
    let shown_color = move || {
        let chosen = color.get();
        if chosen.is_empty() {
            "#888888".to_owned()
        } else {
            chosen
        }
    };
    let error = RwSignal::new(None::<AppError>);
    let target = editing.as_ref().map(|p| (p.id, p.version));
    // The edited project (id, version) or none for a new one; name, description, colour and
    // the environments of a new one.
    let save = Action::new(
        move |(target, n, d, c, e): &(Option<(i64, i64)>, String, String, String, String)| {
            let (target, n, d, c, e) = (*target, n.clone(), d.clone(), c.clone(), e.clone());
            async move {
                match target {
                    Some((id, version)) => edit_project(id, version, n, d, c).await,
                    None => create_project(n, d, c, e).await,
                }
            }
        },
    );
    let pending = save.pending();
    Effect::new(move |_| match save.value().get() {
        Some(Ok(project)) => on_saved.run(project),
        Some(Err(refused)) => error.set(Some(refused)),
        None => error.set(None),
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch((
            target,
            name.get_untracked(),
            description.get_untracked(),
            color.get_untracked(),
            environments.get_untracked(),
        ));
    };
    view! {
        <form class="card form form--panel" on:submit=submit data-testid="project-form" aria-labelledby="project-form-title">
            <h2 id="project-form-title">{if is_new { t("New project") } else { t("Edit the project") }}</h2>
            <label class="field">
                <span class="small muted">{t("Name")}</span>
                <input class="input" name="name" required maxlength="120" autocomplete="off"
                    value=move || name.get() prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                <crate::ui::FieldError error field="name"/>
            </label>
            <label class="field">
                <span class="small muted">{t("Description")}</span>
                <textarea class="input textarea" name="description" rows="2"
                    prop:value=move || description.get() on:input=move |ev| description.set(event_target_value(&ev))></textarea>
                <crate::ui::FieldError error field="description"/>
            </label>
            <div class="form__row">
                <fieldset class="field fieldset--bare">
                    <legend class="small muted">{t("Colour")}</legend>
                    <div class="swatches" role="radiogroup" aria-label=t("Colour") data-testid="colour-palette">
                        {domain::Color::PALETTE.map(|swatch| view! {
                            <label class="swatch" title=swatch>
                                <input type="radio" name="color-choice" value=swatch aria-label=swatch
                                    checked=move || color.get().eq_ignore_ascii_case(swatch) prop:checked=move || color.get().eq_ignore_ascii_case(swatch)
                                    on:change=move |_| color.set(swatch.to_owned())/>
                                <span style:--swatch=swatch></span>
                            </label>
                        }).collect_view()}
                        <input type="color" name="color" aria-label=t("Another colour")
                            value=shown_color prop:value=shown_color
                            on:input=move |ev| color.set(event_target_value(&ev))/>
                    </div>
                    {move || color.get().is_empty().then(|| view! {
                        <span class="small muted">{t("None chosen: uHub picks the palette's first colour no project uses.")}</span>
                    })}
                    <crate::ui::FieldError error field="color"/>
                </fieldset>
                {is_new.then(|| view! {
                    <label class="field">
                        <span class="small muted">{t("Environments (comma-separated)")}</span>
                        <input class="input" name="environments" autocomplete="off"
                            value=move || environments.get() prop:value=move || environments.get() on:input=move |ev| environments.set(event_target_value(&ev))/>
                        <crate::ui::FieldError error field="environments"/>
                    </label>
                })}
            </div>
            {move || error.get().filter(|e| e.field.is_none() || !matches!(e.field.as_deref(), Some("name" | "description" | "color" | "environments"))).map(|e| view! {
                <p class="form-error" role="alert">{e.message}</p>
            })}
            <div class="modal__actions">
                <button type="button" class="button button--ghost" on:click=move |_| on_close.run(())>{t("Cancel")}</button>
                <button type="submit" class="button button--primary" prop:disabled=move || pending.get()>
                    {if is_new { t("Create the project") } else { t("Save") }}
                </button>
            </div>
        </form>
    }
}
