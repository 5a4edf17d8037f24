//! Plan analysis (issue 25) on real `terraform show -json` documents: the 11 plans of
//! terraform-json's test data (formats 0.1 to 1.2, modules, sensitive values, moved blocks,
//! action reasons, checks, numerics; `invalid` refused).

use services::terraform::{analyze, RiskPatterns, SENSITIVE};

fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/tests/fixtures/terraform")
}

#[test]
fn every_real_plan_is_read_and_the_invalid_one_refused() {
    let mut read = 0;
    for entry in std::fs::read_dir(fixtures()).expect("the fixtures") {
        let path = entry.expect("an entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let document = std::fs::read(&path).expect("readable");
        let analysis = analyze(&document, &RiskPatterns::default());
        if name == "invalid.plan.json" {
            let refused = analysis.expect_err("invalid is refused");
            assert!(refused.0.contains("line"), "names where: {}", refused.0);
        } else {
            let analysis = analysis.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(analysis.plan_sha256.len(), 64);
            read += 1;
        }
    }
    assert_eq!(
        read, 10,
        "ten valid plans (the issue counts 12; the folder holds 11 with `invalid`)"
    );
}

#[test]
fn the_plans_say_what_terraform_says() {
    let read = |name: &str| {
        let document = std::fs::read(fixtures().join(name)).expect("fixture");
        analyze(&document, &RiskPatterns::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    // 110_basic: 7 resources to add (a module's two, bar, baz[0..2], foo).
    let basic = read("110_basic.plan.json");
    assert_eq!(basic.summary.terraform_line(), (7, 0, 0));
    assert_eq!(
        basic
            .resources
            .iter()
            .filter(|r| r.module.as_deref() == Some("module.foo"))
            .count(),
        2
    );
    // A moved block: counted as moved, no change.
    let moved = read("moved_block.plan.json");
    assert_eq!((moved.summary.moved, moved.summary.no_op), (1, 1));
    assert_eq!(
        moved.resources[0].previous_address.as_deref(),
        Some("random_id.test")
    );
    // An import: counted besides its update.
    let identity = read("identity.plan.json");
    assert_eq!((identity.summary.update, identity.summary.import), (1, 1));
    // A data source read in a module.
    assert_eq!(read("013_module_depends_on.plan.json").summary.read, 1);
    // Sensitive values: the sensitive output is said so, and no value of it is in the answer.
    let sensitive = read("110_sensitive_values.plan.json");
    let foo = sensitive
        .outputs
        .iter()
        .find(|o| o.name == "foo")
        .expect("output foo");
    assert!(foo.sensitive);
    let answer = serde_json::to_value(&sensitive).expect("json");
    assert!(
        answer["outputs"].to_string().find("bar").is_none(),
        "{}",
        answer["outputs"]
    );
    // A sensitive attribute (`sensitive_content`) stays masked or absent.
    let checks = read("has_checks.plan.json");
    for resource in &checks.resources {
        for change in resource
            .changes
            .iter()
            .filter(|c| c.path == "sensitive_content")
        {
            assert!(change.sensitive);
            assert!(change.after.is_null() || change.after == SENSITIVE);
        }
    }
}
