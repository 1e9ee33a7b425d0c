//! The facade re-exports every public item of `portcullis-core`, at its root and in
//! `portcullis::core`. The list in `src/lib.rs` is explicit (a glob would copy the docs of
//! chrono, http and uuid), so this test catches an item added to core but not here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::collections::BTreeSet;

/// The names a file exports with `pub use` and `pub mod` (code lines only, not docs).
fn exported(source: &str) -> BTreeSet<String> {
    let code: String = source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .map(|line| format!("{line}\n"))
        .collect();
    let mut names = BTreeSet::new();
    for statement in code.split(';') {
        if let Some((_, module)) = statement.split_once("pub mod ") {
            names.insert(module.trim().to_owned());
        }
        let Some((_, path)) = statement.split_once("pub use ") else {
            continue;
        };
        let items = match path.split_once('{') {
            Some((_, list)) => list.trim_end().trim_end_matches('}').to_owned(),
            None => path.to_owned(),
        };
        for item in items
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
        {
            let item = item.rsplit_once(" as ").map_or(item, |(_, alias)| alias);
            let name = item.rsplit("::").next().unwrap_or(item);
            names.insert(name.trim().to_owned());
        }
    }
    names
}

#[test]
fn every_core_item_is_reexported() {
    let core = exported(include_str!("../../core/src/lib.rs"));
    let facade = exported(include_str!("../src/lib.rs"));
    assert!(
        core.contains("UserStore") && core.contains("email"),
        "{core:?}"
    );
    let missing: Vec<&String> = core.difference(&facade).collect();
    assert!(
        missing.is_empty(),
        "add {missing:?} to core_items! in crates/portcullis/src/lib.rs"
    );
}

#[test]
fn core_items_are_at_the_root_and_in_core() {
    let error = portcullis::AuthError::InvalidCredentials;
    assert_eq!(
        error.code(),
        portcullis::core::AuthError::InvalidCredentials.code()
    );
    assert_eq!(portcullis::TokenHash::of(b"t").to_hex().len(), 64);
    let _: fn() -> portcullis::chrono::DateTime<portcullis::chrono::Utc> =
        portcullis::chrono::Utc::now;
}
