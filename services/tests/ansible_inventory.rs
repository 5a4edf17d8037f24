//! uHub reads inventories as Ansible does: on a corpus of INI and YAML inventories (every
//! feature of the format) and on inventories generated at random, uHub's analysis equals what
//! the real `ansible-inventory -i FILE --list` prints (lists of hosts and children compared
//! sorted); inventories Ansible refuses, uHub refuses with a reason.
//! `scripts/test.sh` installs ansible-core in its own virtualenv (`UHUB_TEST_ANSIBLE_INVENTORY`).

use std::path::{Path, PathBuf};
use std::process::Command;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use services::ansible::{analyze, Format};

fn ansible_inventory() -> PathBuf {
    std::env::var("UHUB_TEST_ANSIBLE_INVENTORY")
        .map(PathBuf::from)
        .expect("UHUB_TEST_ANSIBLE_INVENTORY must name ansible-inventory (scripts/test.sh installs ansible-core)")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/tests/fixtures/ansible")
}

/// What the real `ansible-inventory --list` prints for `file`, read by the one plugin of
/// `format` (as uHub is told the format); `Err` with Ansible's message when it refuses.
fn ansible_list(file: &Path, format: Format, home: &Path) -> Result<Value, String> {
    let plugin = match format {
        Format::Ini => "ini",
        Format::Yaml => "yaml",
    };
    // No configuration file of the machine (~/.ansible.cfg, /etc/ansible) may change the result.
    let config = home.join("ansible.cfg");
    if !config.exists() {
        std::fs::write(&config, "").expect("empty ansible.cfg");
    }
    let output = Command::new(ansible_inventory())
        .args(["-i"])
        .arg(file)
        .arg("--list")
        .env("ANSIBLE_CONFIG", &config)
        .env("ANSIBLE_HOME", home.join("home"))
        .env("ANSIBLE_LOCAL_TEMP", home.join("tmp"))
        .env("ANSIBLE_INVENTORY_ENABLED", plugin)
        .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "true")
        .env("ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED", "true")
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_DEPRECATION_WARNINGS", "false")
        .current_dir(home)
        .output()
        .expect("ansible-inventory runs");
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("ansible-inventory printed no JSON: {e}"))
}

/// The groups' `hosts` and `children` lists sorted (their order is not part of the contract).
fn sorted(mut listed: Value) -> Value {
    if let Some(groups) = listed.as_object_mut() {
        for (name, group) in groups.iter_mut() {
            if name == "_meta" {
                continue;
            }
            for key in ["hosts", "children"] {
                if let Some(Value::Array(items)) = group.get_mut(key) {
                    items.sort_by_key(|v| v.to_string());
                }
            }
        }
    }
    listed
}

fn format_of(file: &Path) -> Format {
    match file.extension().and_then(|e| e.to_str()) {
        Some("yml" | "yaml") => Format::Yaml,
        _ => Format::Ini,
    }
}

/// Compares uHub with Ansible on each file, two at a time (each `ansible-inventory` takes
/// about 0.4 s, mostly Python starting); the differences, one line each.
fn compare_all(files: &[PathBuf]) -> Vec<String> {
    let home = tempfile::tempdir().expect("ansible home");
    let mut differences = Vec::new();
    for pair in files.chunks(2) {
        let results: Vec<Option<String>> = std::thread::scope(|scope| {
            let handles: Vec<_> = pair
                .iter()
                .map(|file| scope.spawn(|| compare(file, home.path())))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("no panic"))
                .collect()
        });
        differences.extend(results.into_iter().flatten());
    }
    differences
}

fn compare(file: &Path, home: &Path) -> Option<String> {
    let format = format_of(file);
    let text = std::fs::read_to_string(file).expect("inventory text");
    let theirs = ansible_list(file, format, home);
    let ours = analyze(&text, Some(format));
    match (theirs, ours) {
        (Ok(theirs), Ok(ours)) => {
            let (theirs, ours) = (sorted(theirs), sorted(ours.inventory));
            (theirs != ours).then(|| {
                format!(
                    "{}: differs\n  ansible: {theirs}\n  uhub:    {ours}\n--- text:\n{text}",
                    file.display()
                )
            })
        }
        (Err(theirs), Ok(_)) => Some(format!(
            "{}: Ansible refuses it ({}) and uHub reads it",
            file.display(),
            theirs.trim()
        )),
        (Ok(_), Err(ours)) => Some(format!(
            "{}: uHub refuses it ({ours}) and Ansible reads it",
            file.display()
        )),
        (Err(_), Err(_)) => None,
    }
}

fn files_in(folder: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures().join(folder))
        .expect("the corpus")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    files
}

#[test]
fn the_corpus_reads_as_ansible_reads_it() {
    let files = files_in("inventories");
    assert!(files.len() >= 30, "a corpus of at least 30 inventories");
    let differences = compare_all(&files);
    assert!(differences.is_empty(), "{}", differences.join("\n\n"));
}

#[test]
fn inventories_ansible_refuses_are_refused_with_a_reason() {
    let home = tempfile::tempdir().expect("ansible home");
    let mut problems = Vec::new();
    for file in files_in("invalid") {
        let format = format_of(&file);
        let text = std::fs::read_to_string(&file).expect("inventory text");
        let theirs = ansible_list(&file, format, home.path());
        match analyze(&text, Some(format)) {
            Ok(_) => problems.push(format!(
                "{}: uHub reads it (Ansible: {})",
                file.display(),
                theirs.err().unwrap_or_else(|| "reads it too".into()).trim()
            )),
            Err(refusal) => {
                assert!(!refusal.reason.is_empty());
                if theirs.is_ok() {
                    problems.push(format!(
                        "{}: Ansible reads it, uHub says {refusal}",
                        file.display()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// One random INI inventory: groups with hosts (ranges, ports, variables of every kind),
/// children declared before and after their groups, `:vars` sections, comments.
fn random_ini(rng: &mut StdRng) -> String {
    let groups: Vec<String> = (0..rng.gen_range(1..7)).map(|i| format!("g{i}")).collect();
    let values = [
        "1",
        "-7",
        "3.5",
        "True",
        "false",
        "yes",
        "'quoted'",
        "\"two words\"",
        "[1, 'a']",
        "{'k': 'v'}",
        "plain",
        "a=b",
        "0x1F",
        "''",
        "None",
        "x # trailing comment",
    ];
    let mut text = String::new();
    if rng.gen_bool(0.3) {
        text.push_str("loose-host\n# a comment\n");
    }
    for (index, group) in groups.iter().enumerate() {
        text.push_str(&format!("[{group}]\n"));
        for _ in 0..rng.gen_range(0..4) {
            let host = match rng.gen_range(0..5) {
                0 => format!("web[{}:{}]", rng.gen_range(1..3), rng.gen_range(3..6)),
                1 => format!("db-[a:{}]", ['b', 'c', 'd'][rng.gen_range(0..3)]),
                2 => format!("h{}:{}", rng.gen_range(0..9), rng.gen_range(2000..3000)),
                _ => format!("h{}", rng.gen_range(0..9)),
            };
            text.push_str(&host);
            for v in 0..rng.gen_range(0..3) {
                let value = values[rng.gen_range(0..values.len())];
                if value.contains(' ') && !value.starts_with(['"', '\'']) {
                    continue;
                }
                text.push_str(&format!(" v{v}={value}"));
            }
            text.push('\n');
        }
        if rng.gen_bool(0.5) {
            text.push_str(&format!("[{group}:vars]\n"));
            for v in 0..rng.gen_range(1..4) {
                let value = values[rng.gen_range(0..values.len())];
                text.push_str(&format!("v{v} = {value}\n"));
            }
            if rng.gen_bool(0.2) {
                text.push_str(&format!("ansible_group_priority={}\n", rng.gen_range(1..5)));
            }
        }
        // Children only among later groups: no loops.
        let later: Vec<&String> = groups[index + 1..].iter().collect();
        if !later.is_empty() && rng.gen_bool(0.5) {
            text.push_str(&format!("[{group}:children]\n"));
            for child in later.iter().filter(|_| rng.gen_bool(0.5)) {
                text.push_str(&format!("{child}\n"));
            }
        }
    }
    if rng.gen_bool(0.4) {
        text.push_str("[all:vars]\nv0=from_all\n");
    }
    text
}

/// One random YAML inventory with nested children, hosts with and without variables, and
/// YAML 1.1 scalars.
fn random_yaml(rng: &mut StdRng) -> String {
    let scalars = [
        "1",
        "yes",
        "off",
        "'yes'",
        "0755",
        "1:30",
        "3.25",
        "~",
        "text",
        "\"quoted\"",
        "[1, two]",
        "{a: 1}",
        "2024-01-31",
        "1e5",
        "1.0e+3",
    ];
    let mut text = String::from("all:\n");
    if rng.gen_bool(0.5) {
        text.push_str(&format!(
            "  vars:\n    v0: {}\n",
            scalars[rng.gen_range(0..scalars.len())]
        ));
    }
    text.push_str("  children:\n");
    fn group(rng: &mut StdRng, text: &mut String, name: &str, depth: usize, scalars: &[&str]) {
        let pad = "  ".repeat(depth);
        text.push_str(&format!("{pad}{name}:\n"));
        let hosts = rng.gen_range(0..3);
        if hosts > 0 {
            text.push_str(&format!("{pad}  hosts:\n"));
            for _ in 0..hosts {
                let host = match rng.gen_range(0..3) {
                    0 => format!("n[{}:{}]", rng.gen_range(1..3), rng.gen_range(3..5)),
                    1 => format!("h{}:{}", rng.gen_range(0..5), rng.gen_range(2000..2100)),
                    _ => format!("h{}", rng.gen_range(0..5)),
                };
                if rng.gen_bool(0.5) {
                    text.push_str(&format!("{pad}    {host}:\n"));
                } else {
                    let value = scalars[rng.gen_range(0..scalars.len())];
                    text.push_str(&format!(
                        "{pad}    {host}:\n{pad}      v{}: {value}\n",
                        rng.gen_range(0..3)
                    ));
                }
            }
        }
        if rng.gen_bool(0.5) {
            let value = scalars[rng.gen_range(0..scalars.len())];
            text.push_str(&format!(
                "{pad}  vars:\n{pad}    v{}: {value}\n",
                rng.gen_range(0..3)
            ));
        }
        if depth < 6 && rng.gen_bool(0.4) {
            text.push_str(&format!("{pad}  children:\n"));
            for i in 0..rng.gen_range(1..3) {
                let child = format!("{name}_{i}");
                group(rng, text, &child, depth + 2, scalars);
            }
        }
    }
    for i in 0..rng.gen_range(1..4) {
        group(rng, &mut text, &format!("g{i}"), 2, &scalars);
    }
    text
}

#[test]
fn random_inventories_read_as_ansible_reads_them() {
    let seed: u64 = std::env::var("UHUB_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    println!("seed {seed} (UHUB_TEST_SEED={seed} replays it)");
    let mut rng = StdRng::seed_from_u64(seed);
    let folder = tempfile::tempdir().expect("folder");
    let mut files = Vec::new();
    for case in 0..24 {
        let ini = folder.path().join(format!("random-{case}.ini"));
        std::fs::write(&ini, random_ini(&mut rng)).expect("write");
        files.push(ini);
        let yaml = folder.path().join(format!("random-{case}.yml"));
        std::fs::write(&yaml, random_yaml(&mut rng)).expect("write");
        files.push(yaml);
    }
    let differences = compare_all(&files);
    assert!(
        differences.is_empty(),
        "seed {seed}:\n{}",
        differences.join("\n\n")
    );
}

/// What uHub keeps of an inventory it can read back: variables nested deeper than the JSON
/// reader of the stored analysis takes (128 levels) are refused when the inventory is read, not
/// found when its page is opened (such an inventory was saved, then answered 500 for ever).
#[test]
fn variables_nested_too_deep_are_refused_and_what_is_kept_reads_back() {
    let nested = |levels: usize| {
        let mut value = serde_json::json!("x");
        for _ in 0..levels {
            value = serde_json::json!({ "k": value });
        }
        serde_json::json!({"all": {"hosts": {"h": {"deep": value}}}}).to_string()
    };
    let kept = analyze(&nested(40), Some(Format::Yaml)).expect("40 levels are an inventory");
    let stored = serde_json::to_string(&kept).expect("the analysis as JSON");
    serde_json::from_str::<Value>(&stored).expect("the stored analysis reads back");
    let refused = analyze(&nested(200), Some(Format::Yaml)).expect_err("200 levels");
    assert!(refused.reason.contains("nest"), "{refused}");
}
