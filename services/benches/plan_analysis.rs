//! How long uHub takes to analyse a Terraform plan of 5,000 resource changes (issue 25's target:
//! under 200 ms in a release build). Prints the figures; asserts nothing about time.

use std::time::{Duration, Instant};

use serde_json::json;
use services::terraform::{analyze, RiskPatterns};

/// A plan of `count` resource changes of every kind, in modules, with sensitive and unknown
/// attributes: the shape `terraform show -json` prints.
fn plan(count: usize) -> Vec<u8> {
    let actions = [
        json!(["create"]),
        json!(["update"]),
        json!(["delete", "create"]),
        json!(["delete"]),
        json!(["no-op"]),
    ];
    let changes: Vec<_> = (0..count)
        .map(|i| {
            let before = json!({"name": format!("db-{i}"), "size": i, "password": "p", "tags": {"team": "ops", "env": "prod"},
                "rules": [{"port": 443, "cidr": "10.0.0.0/8"}, {"port": 22, "cidr": "10.1.0.0/16"}]});
            let after = json!({"name": format!("db-{i}"), "size": i + 1, "password": "q", "tags": {"team": "ops", "env": "prod", "owner": "uhub"},
                "rules": [{"port": 443, "cidr": "10.0.0.0/8"}]});
            json!({
                "address": format!("module.m{}.aws_db_instance.db[{i}]", i % 20),
                "module_address": format!("module.m{}", i % 20),
                "mode": "managed", "type": if i % 3 == 0 { "aws_db_instance" } else { "aws_security_group" }, "name": "db",
                "provider_name": "registry.terraform.io/hashicorp/aws",
                "change": {"actions": actions[i % actions.len()], "before": before, "after": after,
                    "after_unknown": {"arn": true, "id": true}, "before_sensitive": {"password": true}, "after_sensitive": {"password": true}}
            })
        })
        .collect();
    serde_json::to_vec(&json!({
        "format_version": "1.2", "terraform_version": "1.9.5", "planned_values": {"root_module": {}},
        "resource_changes": changes,
    }))
    .expect("a plan")
}

fn main() {
    let document = plan(5000);
    let risks = RiskPatterns::default();
    let mut times: Vec<Duration> = Vec::new();
    let mut listed = 0;
    for _ in 0..15 {
        let start = Instant::now();
        let analysis = analyze(&document, &risks).expect("a valid plan");
        times.push(start.elapsed());
        listed = analysis.resources.iter().map(|r| r.changes.len()).sum();
    }
    times.sort();
    println!(
        "terraform plan of 5000 resource changes ({:.1} MB, {listed} attribute changes listed): median {:.1} ms, min {:.1} ms, max {:.1} ms (target: under 200 ms)",
        document.len() as f64 / 1e6,
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
    );
}
