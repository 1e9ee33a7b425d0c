//! The layering rule: a crate depends on `portcullis-core` and on crates below it, never
//! sideways on a sibling; and the contract crate pulls in no database, runtime or framework.
//!
//! Reads `cargo metadata`, so it checks the manifests as they are, including crates added
//! after this test was written (an unknown `portcullis-*` crate fails until it is placed in
//! the table below).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Which Portcullis crates each crate may depend on (normal and build dependencies; dev
/// dependencies are free, tests may wire anything together).
const ALLOWED: &[(&str, &[&str])] = &[
    ("portcullis-core", &[]),
    ("portcullis-password", &["portcullis-core"]),
    ("portcullis-transport", &["portcullis-core"]),
    // The `testing` feature offers scratch databases built on the test kit.
    (
        "portcullis-sea-orm",
        &["portcullis-core", "portcullis-testkit"],
    ),
    ("portcullis-testkit", &["portcullis-core"]),
    ("portcullis-manager", &["portcullis-core"]),
    // What every adapter shares (API routes, auth gate, error shape), below all of them; it
    // names the transport crate for its CsrfGuard.
    (
        "portcullis-http",
        &[
            "portcullis-core",
            "portcullis-manager",
            "portcullis-transport",
        ],
    ),
    // Adapters name the transport crate for its CsrfGuard and ready-made transports.
    (
        "portcullis-tower",
        &[
            "portcullis-core",
            "portcullis-http",
            "portcullis-manager",
            "portcullis-transport",
        ],
    ),
    (
        "portcullis-axum",
        &[
            "portcullis-core",
            "portcullis-http",
            "portcullis-manager",
            "portcullis-transport",
            "portcullis-tower",
        ],
    ),
    // actix-web is not a tower stack: its adapter stands on the shared HTTP crate alone.
    (
        "portcullis-actix",
        &[
            "portcullis-core",
            "portcullis-http",
            "portcullis-manager",
            "portcullis-transport",
        ],
    ),
    // The HTTP load driver of benches/http talks to servers over TCP only.
    ("portcullis-loadgen", &[]),
    // The facade re-exports every layer; the whole-workspace test package wires anything.
    ("portcullis", &["*"]),
    ("portcullis-tests", &["*"]),
];

/// Crates that would make the contract crate a runtime, database or framework dependency.
const FORBIDDEN_IN_CORE: &[&str] = &[
    "tokio",
    "async-std",
    "smol",
    "sea-orm",
    "sqlx",
    "sqlx-core",
    "diesel",
    "rusqlite",
    "axum",
    "hyper",
    "tower",
    "actix-web",
    "warp",
    "rocket",
    "argon2",
    "bcrypt",
];

fn metadata() -> Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace root");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(root)
        .output()
        .expect("running cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON")
}

fn str_field<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or_default()
}

#[test]
fn crates_depend_only_downwards() {
    let metadata = metadata();
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let members: BTreeSet<&str> = metadata["workspace_members"]
        .as_array()
        .expect("workspace_members")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut violations = Vec::new();
    let mut checked = 0;
    for package in metadata["packages"].as_array().expect("packages") {
        let name = str_field(package, "name");
        if !members.contains(str_field(package, "id")) || !name.starts_with("portcullis") {
            continue;
        }
        checked += 1;
        let Some(permitted) = allowed.get(name) else {
            violations.push(format!(
                "{name} is not in the layering table of tests/tests/layering.rs: place it in a layer"
            ));
            continue;
        };
        for dep in package["dependencies"].as_array().expect("dependencies") {
            let dep_name = str_field(dep, "name");
            let is_dev = str_field(dep, "kind") == "dev";
            if is_dev || !dep_name.starts_with("portcullis") || permitted.contains(&"*") {
                continue;
            }
            if !permitted.contains(&dep_name) {
                violations.push(format!(
                    "{name} depends on {dep_name}, which is not below it"
                ));
            }
        }
    }
    assert!(
        checked >= 4,
        "found only {checked} portcullis crates: is the metadata right?"
    );
    assert!(
        violations.is_empty(),
        "layering violations:\n{}",
        violations.join("\n")
    );
}

#[test]
fn core_pulls_in_no_database_runtime_or_framework() {
    let metadata = metadata();
    let packages: BTreeMap<&str, &str> = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| (str_field(p, "id"), str_field(p, "name")))
        .collect();
    let nodes: BTreeMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .expect("resolve.nodes")
        .iter()
        .map(|node| (str_field(node, "id"), node))
        .collect();
    let core = packages
        .iter()
        .find(|(_, name)| **name == "portcullis-core")
        .map(|(id, _)| *id)
        .expect("portcullis-core is a workspace member");

    // Walk normal (non-dev, non-build) dependency edges from core.
    let mut seen = BTreeSet::new();
    let mut stack = vec![core];
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        for dep in nodes[id]["deps"].as_array().expect("deps") {
            let normal = dep["dep_kinds"]
                .as_array()
                .expect("dep_kinds")
                .iter()
                .any(|kind| kind["kind"].is_null());
            if normal {
                stack.push(str_field(dep, "pkg"));
            }
        }
    }
    let pulled: BTreeSet<&str> = seen.iter().map(|id| packages[id]).collect();
    let forbidden: Vec<&&str> = FORBIDDEN_IN_CORE
        .iter()
        .filter(|name| pulled.contains(**name))
        .collect();
    assert!(
        forbidden.is_empty(),
        "portcullis-core must stay a contracts-only crate, but its dependency tree contains {forbidden:?}"
    );
    assert!(
        pulled.contains("http"),
        "sanity: core's tree should contain http: {pulled:?}"
    );
}
