//! Support for Paddock's own tests. A test that cannot run here (a tool is missing, or the OS it
//! runs on cannot do what it checks) says `SKIPPED: reason` and passes on a developer's machine,
//! but fails where every prerequisite must be present: `.ci/run` sets `PADDOCK_REQUIRE_ALL=1`.

/// The variable that turns every skip into a failure.
pub const REQUIRE_ALL: &str = "PADDOCK_REQUIRE_ALL";

/// Reports a test that cannot run here: prints `SKIPPED: reason`, or panics when
/// `PADDOCK_REQUIRE_ALL=1`. The caller returns right after.
pub fn skip(reason: &str) {
    if let Err(failure) = verdict(required(), reason) {
        panic!("{failure}");
    }
    println!("SKIPPED: {reason}");
}

/// A small seeded generator (xorshift64*) for the randomised tests, so that a failure names a
/// seed that reproduces it.
pub struct Rng(pub u64);

impl Rng {
    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n.max(1)
    }
}

/// True when `PADDOCK_REQUIRE_ALL=1`.
pub fn required() -> bool {
    std::env::var_os(REQUIRE_ALL).is_some_and(|v| v == "1")
}

fn verdict(required: bool, reason: &str) -> Result<(), String> {
    if required {
        return Err(format!(
            "this test cannot run here: {reason}; {REQUIRE_ALL}=1 says it must: install what \
             is missing, or unset {REQUIRE_ALL} to let it skip"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::verdict;

    #[test]
    fn a_skip_fails_when_every_prerequisite_is_required() {
        assert_eq!(verdict(false, "no tool"), Ok(()));
        let err = verdict(true, "no tool").unwrap_err();
        assert!(
            err.contains("no tool") && err.contains("PADDOCK_REQUIRE_ALL=1"),
            "{err}"
        );
    }
}
