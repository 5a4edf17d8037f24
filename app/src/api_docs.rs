//! The API reference page (`/docs/api`): the OpenAPI document the server generates from its
//! routes, read on the server and shown grouped by tag, with parameters, bodies, answers and
//! the schemas they use. The raw document stays at `/api/v1/openapi.json`.

use crate::ui::PageTitle;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::i18n::{t, tf};
use crate::AppError;

/// The OpenAPI document as JSON, put in the request context by the server.
#[derive(Clone, Debug)]
pub struct ApiDocument(pub std::sync::Arc<str>);

/// A field, parameter or property: where it goes, its type in words, whether it is required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDoc {
    pub name: String,
    pub location: String,
    pub kind: String,
    pub required: bool,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseDoc {
    pub status: String,
    pub description: String,
    pub kind: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub method: String,
    pub path: String,
    pub summary: String,
    pub description: String,
    /// No token needed.
    pub public: bool,
    pub parameters: Vec<FieldDoc>,
    /// The body's content type and schema, if it takes one.
    pub request: Option<(String, String)>,
    pub responses: Vec<ResponseDoc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiGroup {
    pub tag: String,
    pub endpoints: Vec<Endpoint>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaDoc {
    pub name: String,
    pub description: String,
    /// For objects.
    pub fields: Vec<FieldDoc>,
    /// For anything else (enumerations, one-of): the type in words.
    pub kind: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiReference {
    pub title: String,
    pub version: String,
    pub description: String,
    pub groups: Vec<ApiGroup>,
    pub schemas: Vec<SchemaDoc>,
}

/// The reference, read from the OpenAPI document of this very server.
#[server(prefix = "/sfn", endpoint = "docs/api")]
pub async fn read_api_reference() -> Result<ApiReference, AppError> {
    // Any signed-in user may read the reference (the document itself is public).
    crate::server::use_case()?;
    let document = use_context::<ApiDocument>()
        .ok_or_else(|| AppError::new("internal_error", "the API document is not available"))?;
    let json: serde_json::Value = serde_json::from_str(&document.0).map_err(|e| {
        AppError::new(
            "internal_error",
            format!("the API document is unreadable: {e}"),
        )
    })?;
    Ok(reading::reference(&json))
}

/// Turning OpenAPI 3.1 JSON into the page's model (server only).
#[cfg(feature = "ssr")]
mod reading {
    use serde_json::Value;

    use super::{ApiGroup, ApiReference, Endpoint, FieldDoc, ResponseDoc, SchemaDoc};

    const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

    fn text(value: &Value) -> String {
        value.as_str().unwrap_or_default().to_owned()
    }

    /// A schema's type in words: `string`, `integer | null`, `Job`, `array of Job`, `one of: …`.
    pub fn kind(schema: &Value) -> String {
        if let Some(reference) = schema["$ref"].as_str() {
            return reference.rsplit('/').next().unwrap_or(reference).to_owned();
        }
        if let Some(values) = schema["enum"].as_array() {
            let values: Vec<String> = values
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect();
            return format!("one of {}", values.join(", "));
        }
        for combinator in ["oneOf", "anyOf", "allOf"] {
            if let Some(options) = schema[combinator].as_array() {
                let parts: Vec<String> = options.iter().map(kind).collect();
                let joiner = if combinator == "allOf" { " & " } else { " | " };
                return parts.join(joiner);
            }
        }
        let types: Vec<String> = match &schema["type"] {
            Value::String(single) => vec![single.clone()],
            Value::Array(many) => many.iter().map(text).collect(),
            _ => Vec::new(),
        };
        if types.is_empty() {
            return if schema.as_object().is_some_and(|o| o.is_empty()) {
                "any JSON".to_owned()
            } else {
                "object".to_owned()
            };
        }
        types
            .iter()
            .map(|t| match t.as_str() {
                "array" => format!("array of {}", kind(&schema["items"])),
                "object" if schema["additionalProperties"].is_object() => {
                    format!("map of {}", kind(&schema["additionalProperties"]))
                }
                other => match schema["format"].as_str() {
                    Some(format) => format!("{other} ({format})"),
                    None => other.to_owned(),
                },
            })
            .collect::<Vec<_>>()
            .join(" | ")
    }

    fn properties(schema: &Value, location: &str) -> Vec<FieldDoc> {
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut fields: Vec<FieldDoc> = schema["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, property)| FieldDoc {
                name: name.clone(),
                location: location.to_owned(),
                kind: kind(property),
                required: required.contains(&name.as_str()),
                description: text(&property["description"]),
            })
            .collect();
        // Flattened parts (allOf) contribute their own properties.
        for part in schema["allOf"].as_array().into_iter().flatten() {
            fields.extend(properties(part, location));
        }
        fields
    }

    fn endpoint(path: &str, method: &str, operation: &Value) -> Endpoint {
        let parameters = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| FieldDoc {
                name: text(&p["name"]),
                location: text(&p["in"]),
                kind: kind(&p["schema"]),
                required: p["required"].as_bool().unwrap_or(false),
                description: text(&p["description"]),
            })
            .collect();
        let request = operation["requestBody"]["content"]
            .as_object()
            .and_then(|content| content.iter().next())
            .map(|(content_type, media)| (content_type.clone(), kind(&media["schema"])));
        let responses = operation["responses"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(status, response)| ResponseDoc {
                status: status.clone(),
                description: text(&response["description"]),
                kind: response["content"]
                    .as_object()
                    .and_then(|content| content.values().next())
                    .map(|media| kind(&media["schema"])),
            })
            .collect();
        Endpoint {
            method: method.to_uppercase(),
            path: path.to_owned(),
            summary: text(&operation["summary"]),
            description: text(&operation["description"]),
            public: operation["security"].is_array(),
            parameters,
            request,
            responses,
        }
    }

    pub fn reference(document: &Value) -> ApiReference {
        let mut groups: Vec<ApiGroup> = Vec::new();
        for (path, item) in document["paths"].as_object().into_iter().flatten() {
            for method in METHODS {
                let operation = &item[method];
                if !operation.is_object() {
                    continue;
                }
                let tag = operation["tags"][0].as_str().unwrap_or("other").to_owned();
                let endpoint = endpoint(path, method, operation);
                match groups.iter_mut().find(|g| g.tag == tag) {
                    Some(group) => group.endpoints.push(endpoint),
                    None => groups.push(ApiGroup {
                        tag,
                        endpoints: vec![endpoint],
                    }),
                }
            }
        }
        // The order a reader meets the model in: signing in, then the work, then administration.
        const ORDER: [&str; 10] = [
            "auth",
            "projects",
            "environments",
            "jobs",
            "runs",
            "backlog",
            "links",
            "incidents",
            "admin",
            "other",
        ];
        groups.sort_by_key(|g| {
            ORDER
                .iter()
                .position(|t| *t == g.tag)
                .unwrap_or(ORDER.len())
        });
        let schemas = document["components"]["schemas"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, schema)| {
                let fields = properties(schema, "body");
                SchemaDoc {
                    name: name.clone(),
                    description: text(&schema["description"]),
                    kind: fields.is_empty().then(|| kind(schema)),
                    fields,
                }
            })
            .collect();
        ApiReference {
            title: text(&document["info"]["title"]),
            version: text(&document["info"]["version"]),
            description: text(&document["info"]["description"]),
            groups,
            schemas,
        }
    }

    #[cfg(test)]
    mod tests {
        use serde_json::json;

        use super::*;

        #[test]
        fn types_read_as_words() {
            assert_eq!(kind(&json!({"type": ["string", "null"]})), "string | null");
            assert_eq!(kind(&json!({"$ref": "#/components/schemas/Job"})), "Job");
            assert_eq!(
                kind(&json!({"type": "array", "items": {"$ref": "#/components/schemas/Run"}})),
                "array of Run"
            );
            assert_eq!(
                kind(&json!({"type": "string", "enum": ["dev", "ops"]})),
                "one of dev, ops"
            );
            assert_eq!(
                kind(&json!({"type": "string", "format": "date-time"})),
                "string (date-time)"
            );
        }
    }
}

/// The API reference: a filter, then each group of endpoints, then the schemas. Read here, on
/// the server, and given to its island (the filter narrows it in the browser).
#[component]
#[inline(never)] // a route's page: see `App`
pub fn ApiPage() -> impl IntoView {
    let reference = crate::ui::page_data(read_api_reference);
    view! {
        <PageTitle text=t("API reference")/>
        <Suspense fallback=|| view! { <div class="card skeleton api-skeleton" aria-busy="true" aria-label=t("Loading the API reference")></div> }>
            {move || Suspend::new(async move {
                match reference.await {
                    Ok(reference) => view! { <FilteredReference reference/> }.into_any(),
                    Err(error) => view! {
                        <section class="empty-state empty-state--error" role="alert">
                            <h2>{t("The API reference could not be loaded")}</h2>
                            <p class="muted">{error.message}</p>
                            <p class="muted small mono">{error.code}</p>
                        </section>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

/// The reference's header with its filter, and the reference it narrows.
#[cfg_attr(any(feature = "ssr", feature = "island-pages"), island)]
#[cfg_attr(not(any(feature = "ssr", feature = "island-pages")), component)]
fn FilteredReference(reference: ApiReference) -> impl IntoView {
    crate::i18n::provide_locale();
    let (filter, set_filter) = signal(String::new());
    view! {
        <div class="page-header">
            <div>
                <h1>{t("API reference")}</h1>
                <p class="muted">
                    {t("Every route of")} " " <span class="mono">"/api/v1"</span>
                    ", " {t("generated from the server's code. The machine-readable document is")} " "
                    <a class="link mono" href="/api/v1/openapi.json" rel="external">"openapi.json"</a> "."
                </p>
            </div>
            <label class="search">
                <span class="visually-hidden">{t("Filter endpoints")}</span>
                <input
                    type="search"
                    name="filter"
                    class="input"
                    placeholder=t("Filter by path, method or words")
                    autocomplete="off"
                    value=filter prop:value=filter
                    on:input=move |ev| set_filter.set(event_target_value(&ev))
                />
            </label>
        </div>
        <Reference reference filter/>
    }
}

/// Text with `code` spans, as the document's descriptions write them.
fn with_code(text: String) -> impl IntoView {
    text.split('`')
        .enumerate()
        .map(|(n, part)| {
            if n % 2 == 1 {
                view! { <code class="mono api-code">{part.to_owned()}</code> }.into_any()
            } else {
                part.to_owned().into_any()
            }
        })
        .collect_view()
}

fn matches(endpoint: &Endpoint, needle: &str) -> bool {
    let needle = needle.trim().to_lowercase();
    needle.is_empty()
        || [
            &endpoint.path,
            &endpoint.method,
            &endpoint.summary,
            &endpoint.description,
        ]
        .iter()
        .any(|h| h.to_lowercase().contains(&needle))
}

#[component]
fn Reference(reference: ApiReference, filter: ReadSignal<String>) -> impl IntoView {
    let total: usize = reference.groups.iter().map(|g| g.endpoints.len()).sum();
    let groups = StoredValue::new(reference.groups);
    let shown = Memo::new(move |_| {
        let needle = filter.get();
        groups.with_value(|groups| {
            groups
                .iter()
                .filter_map(|group| {
                    let endpoints: Vec<Endpoint> = group
                        .endpoints
                        .iter()
                        .filter(|e| matches(e, &needle))
                        .cloned()
                        .collect();
                    (!endpoints.is_empty()).then(|| ApiGroup {
                        tag: group.tag.clone(),
                        endpoints,
                    })
                })
                .collect::<Vec<_>>()
        })
    });
    let count = move || {
        let visible: usize = shown.with(|g| g.iter().map(|g| g.endpoints.len()).sum());
        let (shown, n) = (visible.to_string(), total.to_string());
        if visible == total {
            let values = [("n", n.as_str()), ("version", reference.version.as_str())];
            tf("{n} endpoints · version {version}", &values)
        } else {
            tf("{shown} of {n} endpoints", &[("shown", &shown), ("n", &n)])
        }
    };
    view! {
        <p class="api-intro muted">{with_code(reference.description.clone())}</p>
        <p class="list-count muted small" data-testid="endpoint-count" aria-live="polite">{count}</p>
        <div class="api-groups" data-testid="api-reference">
            <For each=move || shown.get() key=|group| (group.tag.clone(), group.endpoints.len()) let(group)>
                <section class="api-group" aria-labelledby=format!("tag-{}", group.tag)>
                    <h2 id=format!("tag-{}", group.tag) class="api-group__title">{group.tag.clone()}</h2>
                    <ul class="api-list">
                        {group.endpoints.into_iter().map(|endpoint| view! { <EndpointItem endpoint/> }).collect_view()}
                    </ul>
                </section>
            </For>
        </div>
        <Show when=move || shown.with(Vec::is_empty)>
            <p class="empty-inline muted">{move || tf("No endpoint matches “{filter}”.", &[("filter", &filter.get())])}</p>
        </Show>
        <section class="api-group" aria-labelledby="schemas">
            <h2 id="schemas" class="api-group__title">{t("Schemas")}</h2>
            <ul class="api-list">
                {reference.schemas.into_iter().map(|schema| view! { <SchemaItem schema/> }).collect_view()}
            </ul>
        </section>
    }
}

#[component]
fn Fields(fields: Vec<FieldDoc>, caption: &'static str) -> impl IntoView {
    view! {
        <table class="api-table">
            <caption class="visually-hidden">{caption}</caption>
            <thead>
                <tr>
                    <th scope="col">{t("Name")}</th>
                    <th scope="col">{t("Type")}</th>
                    <th scope="col">{t("Description")}</th>
                </tr>
            </thead>
            <tbody>
                {fields
                    .into_iter()
                    .map(|field| view! {
                        <tr>
                            <td class="mono">
                                {field.name}
                                {field.required.then(|| view! { <span class="api-required" title=t("required")>"*"</span> })}
                                {(field.location != "body").then(|| view! { <span class="muted small">" " {field.location}</span> })}
                            </td>
                            <td class="mono small">{field.kind}</td>
                            <td class="muted">{with_code(field.description)}</td>
                        </tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn EndpointItem(endpoint: Endpoint) -> impl IntoView {
    let method_class = format!("api-method api-method--{}", endpoint.method.to_lowercase());
    view! {
        <li class="card api-endpoint" data-method=endpoint.method.clone() data-path=endpoint.path.clone()>
            <details>
                <summary class="api-endpoint__summary">
                    <span class=method_class>{endpoint.method.clone()}</span>
                    <span class="api-endpoint__path mono">{endpoint.path.clone()}</span>
                    <span class="api-endpoint__what muted">{with_code(endpoint.summary.clone())}</span>
                    {endpoint.public.then(|| view! { <span class="chip">{t("public")}</span> })}
                </summary>
                <div class="api-endpoint__body">
                    {(!endpoint.description.is_empty()).then(|| view! { <p class="muted">{with_code(endpoint.description.clone())}</p> })}
                    {(!endpoint.parameters.is_empty()).then(|| view! {
                        <h3 class="api-subtitle">{t("Parameters")}</h3>
                        <Fields fields=endpoint.parameters.clone() caption=t("Parameters")/>
                    })}
                    {endpoint.request.clone().map(|(content_type, kind)| view! {
                        <h3 class="api-subtitle">{t("Body")}</h3>
                        <p><a class="link mono" href=format!("#schema-{kind}")>{kind.clone()}</a> <span class="muted small">" " {t("as")} " " {content_type}</span></p>
                    })}
                    <h3 class="api-subtitle">{t("Answers")}</h3>
                    <ul class="api-responses">
                        {endpoint
                            .responses
                            .into_iter()
                            .map(|response| {
                                let class = if response.status.starts_with('2') { "api-status api-status--ok" } else { "api-status" };
                                view! {
                                    <li>
                                        <span class=class>{response.status}</span>
                                        <span class="muted">{with_code(response.description)}</span>
                                        {response.kind.map(|kind| view! { <span class="mono small">" → " {kind}</span> })}
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                </div>
            </details>
        </li>
    }
}

#[component]
fn SchemaItem(schema: SchemaDoc) -> impl IntoView {
    view! {
        <li class="card api-endpoint" id=format!("schema-{}", schema.name)>
            <details>
                <summary class="api-endpoint__summary">
                    <span class="api-endpoint__path mono">{schema.name.clone()}</span>
                    <span class="api-endpoint__what muted">{schema.description.clone()}</span>
                </summary>
                <div class="api-endpoint__body">
                    {schema.kind.clone().map(|kind| view! { <p class="mono small">{kind}</p> })}
                    {(!schema.fields.is_empty()).then(|| view! { <Fields fields=schema.fields.clone() caption=t("Fields")/> })}
                </div>
            </details>
        </li>
    }
}
