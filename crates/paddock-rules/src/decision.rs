//! The three decisions a rule can give, ordered by strictness, so that "strictest wins" is `max`.
//!
//! `Allow < Prompt < Forbid`; combining any set of decisions with `max` never loosens.

use serde::{Deserialize, Serialize};

/// What a rule (or the parser, when unsure) says about a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    Allow,
    Prompt,
    Forbid,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Prompt => "prompt",
            Decision::Forbid => "forbid",
        }
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictest_decision_is_the_maximum() {
        let all = [Decision::Allow, Decision::Forbid, Decision::Prompt];
        assert_eq!(all.iter().max(), Some(&Decision::Forbid));
        assert_eq!(
            [Decision::Allow, Decision::Prompt].iter().max(),
            Some(&Decision::Prompt)
        );
    }
}
