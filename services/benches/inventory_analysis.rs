//! How long uHub takes to analyse a 1 MB INI inventory and a 1 MB YAML one (issue 24's target:
//! under 100 ms in a release build). Prints the figures; asserts nothing about time.

use std::time::{Duration, Instant};

use services::ansible::{analyze, Format};

/// About `bytes` of INI: 50-host groups with host variables, `:vars` and `:children`.
fn ini_fleet(bytes: usize) -> String {
    let mut text = String::new();
    let mut group = 0;
    while text.len() < bytes {
        text.push_str(&format!("[site{group}]\n"));
        for host in 0..50 {
            text.push_str(&format!(
                "web-{group}-{host}.example.com ansible_host=10.{}.{}.{host} ansible_port=22 role='web' weight={host}\n",
                group / 250,
                group % 250
            ));
        }
        text.push_str(&format!(
            "[site{group}:vars]\nntp_server=ntp{group}.example.com\nbackup=True\n"
        ));
        text.push_str(&format!("[region{}:children]\nsite{group}\n", group % 8));
        group += 1;
    }
    text
}

/// About `bytes` of YAML with the same shape.
fn yaml_fleet(bytes: usize) -> String {
    let mut text = String::from("all:\n  children:\n");
    let mut group = 0;
    while text.len() < bytes {
        text.push_str(&format!("    site{group}:\n      vars:\n        ntp_server: ntp{group}.example.com\n      hosts:\n"));
        for host in 0..50 {
            text.push_str(&format!(
                "        web-{group}-{host}.example.com:\n          ansible_host: 10.{}.{}.{host}\n          weight: {host}\n",
                group / 250,
                group % 250
            ));
        }
        group += 1;
    }
    text
}

fn measure(name: &str, text: &str, format: Format) {
    let mut times: Vec<Duration> = Vec::new();
    let mut hosts = 0;
    for _ in 0..15 {
        let start = Instant::now();
        let analysis = analyze(text, Some(format)).expect("the fleet is a valid inventory");
        times.push(start.elapsed());
        hosts = analysis.summary.hosts;
    }
    times.sort();
    let start = Instant::now();
    let (_, inventory) = services::ansible::read(text, Some(format)).expect("valid");
    let reading = start.elapsed();
    let start = Instant::now();
    let groups = inventory.host_group_lists().expect("valid");
    let _ = inventory.to_list_json(inventory.merged_vars(&groups));
    println!(
        "  of which reading {:.1} ms, writing Ansible's view {:.1} ms",
        reading.as_secs_f64() * 1e3,
        start.elapsed().as_secs_f64() * 1e3
    );
    println!(
        "{name}: {:.2} MB, {hosts} hosts: median {:.1} ms, best {:.1} ms, worst {:.1} ms (target < 100 ms)",
        text.len() as f64 / 1e6,
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
    );
}

fn main() {
    measure("INI inventory", &ini_fleet(1_000_000), Format::Ini);
    measure("YAML inventory", &yaml_fleet(1_000_000), Format::Yaml);
}
