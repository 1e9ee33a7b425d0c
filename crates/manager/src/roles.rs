//! Roles and their order.

/// Role names, highest first. A user "has at least role R" when their role ranks at or
/// above R. Unknown roles rank below every known one.
///
/// ```
/// use portcullis_manager::RoleHierarchy;
/// let roles = RoleHierarchy::default(); // admin > editor > viewer > user
/// assert!(roles.at_least("admin", "editor"));
/// assert!(!roles.at_least("viewer", "editor"));
/// assert!(!roles.at_least("intern", "user"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleHierarchy {
    highest_first: Vec<String>,
}

impl RoleHierarchy {
    /// A hierarchy from role names, highest first.
    pub fn new<I, S>(highest_first: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            highest_first: highest_first.into_iter().map(Into::into).collect(),
        }
    }

    /// Whether `role` is one of the hierarchy's roles.
    #[must_use]
    pub fn contains(&self, role: &str) -> bool {
        self.rank(role).is_some()
    }

    /// The role names, highest first.
    #[must_use]
    pub fn roles(&self) -> &[String] {
        &self.highest_first
    }

    fn rank(&self, role: &str) -> Option<usize> {
        self.highest_first.iter().position(|r| r == role)
    }

    /// Whether `role` ranks at or above `minimum`. False when either is unknown.
    #[must_use]
    pub fn at_least(&self, role: &str, minimum: &str) -> bool {
        match (self.rank(role), self.rank(minimum)) {
            (Some(have), Some(need)) => have <= need,
            _ => false,
        }
    }
}

impl Default for RoleHierarchy {
    fn default() -> Self {
        Self::new(["admin", "editor", "viewer", "user"])
    }
}
