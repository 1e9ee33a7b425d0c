//! Benchmarks of `AuthManager::authenticate_token` (written with the SQLite backend).

fn main() {}
