//! Terraform in uHub: plans (`terraform show -json` documents) read into a summary that agrees
//! with Terraform's own "Plan: X to add, Y to change, Z to destroy", resources with their
//! attribute changes and risk flags, drift and outputs — every sensitive value redacted, every
//! unknown one said so. Nothing of the document is kept but what the answer shows.

use serde_json::Value;

/// The largest plan uHub reads (real plans exceed the API's 1 MiB bodies).
pub const MAX_PLAN_BYTES: usize = 32 * 1024 * 1024;

pub use domain::terraform::{SENSITIVE, UNKNOWN};

pub mod stored;

/// Plan formats uHub reads (`format_version`, major.minor).
const FORMATS: [&str; 5] = ["0.1", "0.2", "1.0", "1.1", "1.2"];
/// Attribute changes listed for one resource, at most (the counts stay exact).
const MAX_CHANGES_PER_RESOURCE: usize = 500;
/// Nesting followed inside a value; deeper parts are shown whole.
const MAX_DEPTH: usize = 32;

/// Why a document is not a plan uHub reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub use domain::terraform::{
    AttributeChange, Drift, OutputChange, PlanAnalysis, ResourceChange, Summary,
};

/// Resource types that deserve a second look, by kind: a type matches when it contains one of
/// the words (`aws_iam_role` is `iam`).
#[derive(Debug, Clone)]
pub struct RiskPatterns(pub Vec<(String, Vec<String>)>);

impl Default for RiskPatterns {
    fn default() -> Self {
        let words = |list: &[&str]| list.iter().map(|w| (*w).to_owned()).collect();
        RiskPatterns(vec![
            (
                "iam".to_owned(),
                words(&[
                    "_iam_",
                    "_iam",
                    "role_assignment",
                    "_policy",
                    "service_account",
                ]),
            ),
            (
                "database".to_owned(),
                words(&[
                    "_db_",
                    "_db",
                    "database",
                    "_rds_",
                    "sql",
                    "dynamodb",
                    "redis",
                    "_elasticache",
                    "mongodb",
                    "_spanner",
                ]),
            ),
            (
                "dns".to_owned(),
                words(&["_dns_", "_dns", "route53", "_record", "_zone"]),
            ),
            (
                "network".to_owned(),
                words(&[
                    "_vpc",
                    "subnet",
                    "security_group",
                    "firewall",
                    "_network",
                    "_route",
                    "_nat_",
                    "load_balancer",
                    "_lb",
                    "_peering",
                ]),
            ),
        ])
    }
}

impl RiskPatterns {
    fn kinds(&self, resource_type: &str) -> impl Iterator<Item = &str> + '_ {
        let resource_type = resource_type.to_ascii_lowercase();
        self.0
            .iter()
            .filter(move |(_, words)| words.iter().any(|w| resource_type.contains(w.as_str())))
            .map(|(kind, _)| kind.as_str())
    }

    /// The defaults changed by `UHUB_TERRAFORM_RISKS`: `kind=word,word;kind=word`. A kind named
    /// takes exactly these words (a new kind is added, `kind=` with no word removes it); kinds
    /// not named keep their defaults. Words match inside resource types, case-insensitively.
    pub fn with_overrides(text: &str) -> Result<RiskPatterns, String> {
        let mut patterns = RiskPatterns::default();
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (kind, words) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` is not kind=word,word"))?;
            let kind = kind.trim().to_ascii_lowercase();
            if kind.is_empty()
                || kind.len() > 40
                || !kind
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(format!(
                    "`{kind}` is not a risk kind (letters, digits, - and _)"
                ));
            }
            let words: Vec<String> = words
                .split(',')
                .map(|w| w.trim().to_ascii_lowercase())
                .filter(|w| !w.is_empty())
                .collect();
            patterns.0.retain(|(known, _)| *known != kind);
            if !words.is_empty() {
                patterns.0.push((kind, words));
            }
        }
        Ok(patterns)
    }
}

fn text(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_owned)
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Reads a `terraform show -json` plan.
pub fn analyze(document: &[u8], risks: &RiskPatterns) -> Result<PlanAnalysis, Invalid> {
    if document.len() > MAX_PLAN_BYTES {
        return Err(Invalid(format!(
            "the plan is larger than {MAX_PLAN_BYTES} bytes"
        )));
    }
    let plan: Value = serde_json::from_slice(document).map_err(|e| {
        Invalid(format!(
            "not a JSON document (line {}, column {}): {e}",
            e.line(),
            e.column()
        ))
    })?;
    let Some(top) = plan.as_object() else {
        return Err(Invalid(
            "not a plan: a plan is a JSON object (the output of `terraform show -json PLANFILE`)"
                .to_owned(),
        ));
    };
    let format_version = text(top.get("format_version")).ok_or_else(|| {
        Invalid(
            "not a plan: no `format_version` (the output of `terraform show -json PLANFILE`)"
                .to_owned(),
        )
    })?;
    let major_minor: String = format_version
        .split('.')
        .take(2)
        .collect::<Vec<_>>()
        .join(".");
    if !FORMATS.contains(&major_minor.as_str()) {
        return Err(Invalid(format!(
            "format_version {format_version} is not read: uHub reads plans of formats 0.1 to 1.2"
        )));
    }
    if !top.contains_key("planned_values") && !top.contains_key("resource_changes") {
        return Err(Invalid(
            "not a plan: no `planned_values` nor `resource_changes` (is this a state? run `terraform show -json` on a saved plan file)"
                .to_owned(),
        ));
    }
    if top.get("planned_values").is_some_and(|v| !v.is_object()) {
        return Err(Invalid("`planned_values` is not an object".to_owned()));
    }
    let mut summary = Summary::default();
    let mut resources = Vec::new();
    for (index, entry) in top
        .get("resource_changes")
        .map(|v| {
            v.as_array()
                .ok_or_else(|| Invalid("`resource_changes` is not a list".to_owned()))
        })
        .transpose()?
        .into_iter()
        .flatten()
        .enumerate()
    {
        let resource = resource_change(entry, index, risks)?;
        bucket(&mut summary, &resource)?;
        resources.push(resource);
    }
    let drift = top
        .get("resource_drift")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|entry| Drift {
            address: text(entry.get("address")).unwrap_or_default(),
            actions: strings(entry.pointer("/change/actions")),
        })
        .collect();
    let mut outputs: Vec<OutputChange> = top
        .get("output_changes")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, change)| OutputChange {
            name: name.clone(),
            actions: strings(change.get("actions")),
            sensitive: [
                change.get("before_sensitive"),
                change.get("after_sensitive"),
            ]
            .iter()
            .any(|s| s.is_some_and(marks_anything)),
        })
        .collect();
    outputs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(PlanAnalysis {
        format_version,
        terraform_version: text(top.get("terraform_version")),
        plan_sha256: crate::digest::sha256_hex(document),
        summary,
        resources,
        drift,
        outputs,
        errored: top.get("errored").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// The use case behind `POST /api/v1/terraform/plans/analyze`: any signed-in user may analyse a
/// plan (nothing is stored; the document is never logged). The answer is the analysis as JSON,
/// computed off the async workers, two at a time at most.
pub async fn analyze_for(
    hub: &crate::Hub,
    caller: &crate::Caller,
    document: Vec<u8>,
) -> crate::ServiceResult<Result<Vec<u8>, Invalid>> {
    caller.may(
        domain::policy::Action::Read,
        &domain::policy::Object::none(),
        None,
    )?;
    let risks = hub.executor.terraform_risks();
    let outcome = crate::analysis::off_thread(move || {
        analyze(&document, &risks).map(|analysis| serde_json::to_vec(&analysis))
    })
    .await?;
    match outcome {
        Ok(Ok(json)) => Ok(Ok(json)),
        Ok(Err(e)) => Err(crate::ServiceError::Internal(format!(
            "the analysis as JSON: {e}"
        ))),
        Err(invalid) => Ok(Err(invalid)),
    }
}

/// Masks `mask`'s findings (a run's secret values) in every string of the analysis's values:
/// a secret given to Terraform as a variable not marked sensitive would otherwise be kept.
pub fn mask_values(analysis: &mut PlanAnalysis, mask: impl Fn(&str) -> String) {
    fn walk(value: &mut Value, mask: &impl Fn(&str) -> String) {
        match value {
            Value::String(text) => *text = mask(text),
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, mask)),
            Value::Object(map) => map.values_mut().for_each(|v| walk(v, mask)),
            _ => {}
        }
    }
    for resource in &mut analysis.resources {
        for change in &mut resource.changes {
            walk(&mut change.before, &mask);
            walk(&mut change.after, &mask);
        }
    }
}

/// A sensitivity mark that marks something: `true`, or a container holding a `true`.
fn marks_anything(mark: &Value) -> bool {
    match mark {
        Value::Bool(b) => *b,
        Value::Array(items) => items.iter().any(marks_anything),
        Value::Object(map) => map.values().any(marks_anything),
        _ => false,
    }
}

fn resource_change(
    entry: &Value,
    index: usize,
    risks: &RiskPatterns,
) -> Result<ResourceChange, Invalid> {
    let address = text(entry.get("address"))
        .ok_or_else(|| Invalid(format!("resource_changes[{index}] has no `address`")))?;
    let change = entry
        .get("change")
        .and_then(Value::as_object)
        .ok_or_else(|| Invalid(format!("{address}: no `change`")))?;
    let actions = strings(change.get("actions"));
    if actions.is_empty() {
        return Err(Invalid(format!("{address}: no `actions`")));
    }
    let resource_type = text(entry.get("type")).unwrap_or_default();
    let destroys = actions.iter().any(|a| a == "delete");
    let replaces = destroys && actions.iter().any(|a| a == "create");
    let mut risk: Vec<String> = Vec::new();
    if destroys {
        risk.push("destroy".to_owned());
    }
    if replaces {
        risk.push("replace".to_owned());
    }
    let changing = !actions.iter().all(|a| a == "no-op" || a == "read");
    if changing {
        risk.extend(risks.kinds(&resource_type).map(str::to_owned));
    }
    let null = Value::Null;
    let mut changes = Vec::new();
    let mut truncated = false;
    if changing {
        let mut walk = Walk {
            out: &mut changes,
            truncated: &mut truncated,
        };
        walk.diff(
            String::new(),
            change.get("before").unwrap_or(&null),
            change.get("after").unwrap_or(&null),
            change.get("before_sensitive").unwrap_or(&null),
            change.get("after_sensitive").unwrap_or(&null),
            change.get("after_unknown").unwrap_or(&null),
            0,
        );
    }
    Ok(ResourceChange {
        address,
        module: text(entry.get("module_address")),
        resource_type,
        name: text(entry.get("name")).unwrap_or_default(),
        provider: text(entry.get("provider_name")),
        actions,
        action_reason: text(entry.get("action_reason")),
        replace_paths: change
            .get("replace_paths")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(path_text)
            .collect(),
        risk,
        changes,
        changes_truncated: truncated,
        previous_address: text(entry.get("previous_address")),
        importing: change.get("importing").is_some_and(|v| !v.is_null()),
    })
}

/// A `replace_paths` entry (`["tags", "Name"]`, `["ports", 0]`) as `tags.Name`, `ports[0]`.
fn path_text(steps: &Value) -> String {
    let mut path = String::new();
    for step in steps.as_array().into_iter().flatten() {
        match step {
            Value::Number(n) => path.push_str(&format!("[{n}]")),
            Value::String(key) => push_key(&mut path, key),
            other => push_key(&mut path, &other.to_string()),
        }
    }
    path
}

fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push_str(&format!("[{}]", Value::String(key.to_owned())));
    }
}

fn bucket(summary: &mut Summary, resource: &ResourceChange) -> Result<(), Invalid> {
    use domain::terraform::ChangeKind;
    match ChangeKind::of(&resource.actions) {
        Some(ChangeKind::Create) => summary.create += 1,
        Some(ChangeKind::Update) => summary.update += 1,
        Some(ChangeKind::Delete) => summary.delete += 1,
        Some(ChangeKind::Replace) => summary.replace += 1,
        Some(ChangeKind::Read) => summary.read += 1,
        Some(ChangeKind::NoOp) => summary.no_op += 1,
        Some(ChangeKind::Forget) => summary.forget += 1,
        None => {
            return Err(Invalid(format!(
                "{}: unknown actions {:?}",
                resource.address, resource.actions
            )))
        }
    }
    if resource.previous_address.is_some() {
        summary.moved += 1;
    }
    if resource.importing {
        summary.import += 1;
    }
    Ok(())
}

/// The attribute changes of one resource, sensitive and unknown marks applied.
struct Walk<'a> {
    out: &'a mut Vec<AttributeChange>,
    truncated: &'a mut bool,
}

impl Walk<'_> {
    #[allow(clippy::too_many_arguments)] // the two values and their three marks, walked together
    fn diff(
        &mut self,
        path: String,
        before: &Value,
        after: &Value,
        before_sensitive: &Value,
        after_sensitive: &Value,
        unknown: &Value,
        depth: usize,
    ) {
        if *self.truncated {
            // The listing is full: the rest would be walked for nothing.
            return;
        }
        if before == after && !matches!(unknown, Value::Bool(true)) && !marks_anything(unknown) {
            return;
        }
        let sensitive = matches!(before_sensitive, Value::Bool(true))
            || matches!(after_sensitive, Value::Bool(true));
        let unknown_here = matches!(unknown, Value::Bool(true));
        let both_containers = matches!(
            (before, after),
            (Value::Object(_) | Value::Null, Value::Object(_))
                | (Value::Object(_), Value::Null)
                | (Value::Array(_) | Value::Null, Value::Array(_))
                | (Value::Array(_), Value::Null)
        ) && !(before.is_null() && after.is_null());
        if !sensitive && !unknown_here && both_containers && depth < MAX_DEPTH {
            // Keys of either side (and of the unknown marks), each once: a set, so that a
            // hostile object of many keys costs n log n, not n².
            let mut names: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
            let mut length = 0;
            for side in [before, after, unknown] {
                match side {
                    Value::Object(map) => names.extend(map.keys().map(String::as_str)),
                    Value::Array(list) => length = length.max(list.len()),
                    _ => {}
                }
            }
            for name in names {
                let mut next = path.clone();
                push_key(&mut next, name);
                let key = Key::Name(name);
                self.diff(
                    next,
                    child(before, &key),
                    child(after, &key),
                    child(before_sensitive, &key),
                    child(after_sensitive, &key),
                    child(unknown, &key),
                    depth + 1,
                );
            }
            for index in 0..length {
                let key = Key::Index(index);
                self.diff(
                    format!("{path}[{index}]"),
                    child(before, &key),
                    child(after, &key),
                    child(before_sensitive, &key),
                    child(after_sensitive, &key),
                    child(unknown, &key),
                    depth + 1,
                );
            }
            return;
        }
        if self.out.len() >= MAX_CHANGES_PER_RESOURCE {
            *self.truncated = true;
            return;
        }
        let shown = |value: &Value, mark: &Value| -> Value {
            if matches!(mark, Value::Bool(true)) || (marks_anything(mark) && !value.is_null()) {
                Value::String(SENSITIVE.to_owned())
            } else {
                value.clone()
            }
        };
        let after_shown = if unknown_here || marks_anything(unknown) {
            Value::String(UNKNOWN.to_owned())
        } else {
            shown(after, after_sensitive)
        };
        self.out.push(AttributeChange {
            path,
            before: shown(before, before_sensitive),
            after: after_shown,
            sensitive: sensitive
                || marks_anything(before_sensitive)
                || marks_anything(after_sensitive),
            unknown: unknown_here || marks_anything(unknown),
        });
    }
}

enum Key<'a> {
    Name(&'a str),
    Index(usize),
}

static NULL: Value = Value::Null;
static TRUE: Value = Value::Bool(true);

/// The part of `value` at `key`; a mark given for a whole container (`true`) holds for its parts.
fn child<'v>(value: &'v Value, key: &Key<'_>) -> &'v Value {
    match (value, key) {
        (Value::Object(map), Key::Name(name)) => map.get(*name).unwrap_or(&NULL),
        (Value::Array(list), Key::Index(i)) => list.get(*i).unwrap_or(&NULL),
        (Value::Bool(true), _) => &TRUE,
        _ => &NULL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(changes: Value) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "format_version": "1.2", "terraform_version": "1.9.0",
            "planned_values": {"root_module": {}}, "resource_changes": changes,
            "output_changes": {"db_password": {"actions": ["create"], "before": null, "after": "out-canary", "after_unknown": false, "before_sensitive": false, "after_sensitive": true}},
        }))
        .unwrap_or_default()
    }

    #[test]
    fn each_change_is_counted_once_and_sensitive_values_never_show() {
        let document = plan(serde_json::json!([
            {"address": "aws_iam_role.app", "type": "aws_iam_role", "name": "app", "change": {"actions": ["create"], "before": null,
              "after": {"name": "app", "secret": "create-canary"}, "after_unknown": {"arn": true}, "before_sensitive": false, "after_sensitive": {"secret": true}}},
            {"address": "aws_db_instance.main", "type": "aws_db_instance", "name": "main", "change": {"actions": ["update"],
              "before": {"password": "old-canary", "size": 10}, "after": {"password": "new-canary", "size": 20},
              "after_unknown": {}, "before_sensitive": {"password": true}, "after_sensitive": {"password": true}}},
            {"address": "null_resource.gone", "type": "null_resource", "name": "gone", "change": {"actions": ["delete"], "before": {"id": "1"}, "after": null, "after_unknown": {}, "before_sensitive": {}, "after_sensitive": false}},
            {"address": "null_resource.swap", "type": "null_resource", "name": "swap", "change": {"actions": ["create", "delete"], "before": {"id": "1", "triggers": {"v": "1"}}, "after": {"triggers": {"v": "2"}}, "after_unknown": {"id": true}, "before_sensitive": {}, "after_sensitive": {}, "replace_paths": [["triggers", "v"]]}, "action_reason": "replace_because_cannot_update"},
            {"address": "data.x.y", "mode": "data", "type": "x", "name": "y", "change": {"actions": ["read"], "before": null, "after": {}, "after_unknown": {}}},
            {"address": "null_resource.same", "type": "null_resource", "name": "same", "change": {"actions": ["no-op"], "before": {}, "after": {}}}
        ]));
        let analysis = analyze(&document, &RiskPatterns::default()).expect("a plan");
        assert_eq!(
            analysis.summary,
            Summary {
                create: 1,
                update: 1,
                delete: 1,
                replace: 1,
                read: 1,
                no_op: 1,
                ..Summary::default()
            }
        );
        assert_eq!(analysis.summary.terraform_line(), (2, 1, 2));
        let text = serde_json::to_string(&analysis).unwrap_or_default();
        for canary in ["create-canary", "old-canary", "new-canary", "out-canary"] {
            assert!(!text.contains(canary), "{canary} in {text}");
        }
        let db = &analysis.resources[1];
        assert!(db.risk.iter().any(|r| r == "database"), "{:?}", db.risk);
        let password = db
            .changes
            .iter()
            .find(|c| c.path == "password")
            .expect("the password changed");
        assert!(password.sensitive && password.before == SENSITIVE && password.after == SENSITIVE);
        let role = &analysis.resources[0];
        assert!(role.risk.iter().any(|r| r == "iam"));
        assert!(role
            .changes
            .iter()
            .any(|c| c.path == "arn" && c.unknown && c.after == UNKNOWN));
        let swap = &analysis.resources[3];
        assert_eq!(swap.risk[..2], ["destroy", "replace"]);
        assert_eq!(swap.replace_paths, ["triggers.v"]);
        assert!(analysis.outputs[0].sensitive);
    }

    #[test]
    fn configured_risk_kinds_flag_their_resource_types() {
        let change = |kind: &str| {
            serde_json::json!({"address": format!("{kind}.x"), "type": kind, "name": "x",
                "change": {"actions": ["update"], "before": {"a": 1}, "after": {"a": 2}}})
        };
        let document = plan(serde_json::json!([
            change("aws_s3_bucket"),
            change("google_dns_record_set")
        ]));
        let risks = RiskPatterns::with_overrides("storage=_s3_;dns=").expect("overrides");
        let analysis = analyze(&document, &risks).expect("a plan");
        assert_eq!(analysis.resources[0].risk, vec!["storage".to_owned()]);
        assert!(analysis.resources[1].risk.is_empty(), "dns was removed");
        let defaults = analyze(&document, &RiskPatterns::default()).expect("a plan");
        assert_eq!(defaults.resources[1].risk, vec!["dns".to_owned()]);
        assert!(RiskPatterns::with_overrides("bad kind!=x").is_err());
    }

    #[test]
    fn a_resource_of_many_attributes_lists_a_bounded_number() {
        let wide: serde_json::Map<String, Value> = (0..100_000)
            .map(|i| (format!("k{i}"), Value::from(i)))
            .collect();
        let document = plan(serde_json::json!([
            {"address": "x.wide", "type": "x", "name": "wide", "change": {"actions": ["create"], "before": null,
              "after": Value::Object(wide), "after_unknown": {}}}
        ]));
        let analysis = analyze(&document, &RiskPatterns::default()).expect("a plan");
        let wide = &analysis.resources[0];
        assert_eq!(wide.changes.len(), MAX_CHANGES_PER_RESOURCE);
        assert!(wide.changes_truncated);
    }

    #[test]
    fn what_is_not_a_plan_is_refused_with_why() {
        for (document, says) in [
            (&b"{"[..], "not a JSON document"),
            (&b"[]"[..], "a JSON object"),
            (&br#"{"format_version": "1.0", "values": {}}"#[..], "state"),
            (
                &br#"{"format_version": "2.0", "planned_values": {}}"#[..],
                "formats 0.1 to 1.2",
            ),
            (&br#"{"planned_values": {}}"#[..], "format_version"),
        ] {
            let refused = analyze(document, &RiskPatterns::default()).expect_err("refused");
            assert!(
                refused.0.contains(says),
                "{}: {}",
                String::from_utf8_lossy(document),
                refused.0
            );
        }
    }
}
