//! The OpenAPI document's frame: title, tags, the bearer scheme, and the error answers every
//! operation can give, added by rule so that each handler only describes its own success.

use std::collections::HashMap;

use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// The error body of every failed request (`code` is stable; match on it, not on `message`).
#[derive(ToSchema)]
#[allow(dead_code)] // Only its schema is used: errors are written by `ApiError`.
pub struct ErrorBody {
    /// Stable machine-readable code: `not_found`, `invalid`, `stale_version`, a policy rule…
    code: String,
    /// What went wrong, in words.
    message: String,
    /// For `invalid` (422): each field at fault and why.
    fields: Option<HashMap<String, String>>,
    /// For `stale_version` (409): the object as it is now.
    current: Option<serde_json::Value>,
}

pub const BEARER: &str = "bearer";

/// Title, version, tags and the security scheme; the paths are added by the router.
pub fn base_document() -> OpenApi {
    let mut document = utoipa::openapi::OpenApiBuilder::new()
        .info(
            utoipa::openapi::InfoBuilder::new()
                .title("uHub API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Projects, environments, jobs, runs, incidents, backlog and links of a uHub \
                     instance. Authenticate with `POST /api/v1/auth/token` (OAuth2 password grant, \
                     form-encoded) and send `Authorization: Bearer <token>`. Lists answer \
                     `{\"items\", \"next_cursor\"}`; errors answer `{\"code\", \"message\"}` \
                     (plus `fields` for 422). Updates carry the `version` they were based on and \
                     get 409 with `current` when it is stale.",
                ))
                .build(),
        )
        .build();
    let components = document.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
    components
        .schemas
        .insert("ErrorBody".to_owned(), ErrorBody::schema());
    document.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
    document
}

fn error_response(description: &str) -> RefOr<utoipa::openapi::response::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name(ErrorBody::name())))
                    .build(),
            )
            .build(),
    )
}

/// Adds the error answers an operation can give, from what it is: authenticated or public,
/// with a body or not, addressing an object or not, reading or writing.
fn add_errors(path: &str, method: &str, operation: &mut Operation) {
    let public = operation.security.is_some();
    let mut errors: Vec<(&str, &str)> = vec![(
        "422",
        "Invalid input: `fields` names each field at fault and why",
    )];
    if !public {
        errors.push(("401", "No valid token or session"));
        errors.push((
            "403",
            "Refused by the access policy (`code` names the rule) or the password must be changed first",
        ));
    }
    if operation.request_body.is_some() {
        errors.push(("400", "The body is not well-formed JSON"));
        errors.push(("413", "The body is larger than 1 MiB"));
        errors.push(("415", "The body is not `application/json`"));
    }
    if path.contains('{') {
        errors.push(("404", "No such object (or not visible to the caller)"));
    }
    if method != "get" {
        errors.push((
            "409",
            "Conflict: a stale `version` (with `current`), a name already taken, or a state that forbids it",
        ));
    }
    if path.contains("/secrets") || path.ends_with("/callback") {
        errors.push((
            "503",
            "The secret store (Vault, when configured) is unavailable or refused uHub's token",
        ));
    }
    for (status, description) in errors {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| error_response(description));
    }
}

/// Completes the generated document: every operation gets its error answers.
pub fn finish(document: &mut OpenApi) {
    for (path, item) in document.paths.paths.iter_mut() {
        let operations = [
            ("get", item.get.as_mut()),
            ("post", item.post.as_mut()),
            ("put", item.put.as_mut()),
            ("patch", item.patch.as_mut()),
            ("delete", item.delete.as_mut()),
        ];
        for (method, operation) in operations {
            if let Some(operation) = operation {
                add_errors(path, method, operation);
            }
        }
    }
}
