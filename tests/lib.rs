//! Whole-workspace tests for Portcullis: rules that span crates, such as the layering rule
//! in `docs/architecture.md`. The tests live in `tests/tests/`; this library is empty.
