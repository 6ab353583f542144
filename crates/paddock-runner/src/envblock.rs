//! The UTF-16 environment block for `CreateProcessW` with `CREATE_UNICODE_ENVIRONMENT`:
//! `NAME=VALUE\0` entries sorted case-insensitively by name (as Windows requires), names
//! de-duplicated case-insensitively (the last value given wins), terminated by an extra NUL.
//! Pure code: compiled and tested on every OS.

use std::cmp::Ordering;

/// Why an environment block cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvBlockError {
    #[error("environment variable number {index} has an empty name")]
    EmptyName { index: usize },
    #[error("environment variable name `{name}` contains `=`, which would split it")]
    EqualsInName { name: String },
    #[error("environment variable `{name}` contains a NUL character, which would end the block")]
    Nul { name: String },
}

/// Upper-cases one UTF-16 unit the way an ordinal case-insensitive comparison does: units
/// with a one-unit upper case map to it, every other unit (surrogates, `ß`) to itself.
fn fold(u: u16) -> u16 {
    let Some(c) = char::from_u32(u32::from(u)) else {
        return u;
    };
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(up), None) if (up as u32) <= 0xFFFF => up as u16,
        _ => u,
    }
}

/// Compares names as Windows sorts them in an environment block.
pub fn compare_names(a: &[u16], b: &[u16]) -> Ordering {
    a.iter().map(|&u| fold(u)).cmp(b.iter().map(|&u| fold(u)))
}

/// Builds the block. A name may start with `=` (the hidden per-drive `=C:` variables) but not
/// contain one later.
pub fn env_block<N: AsRef<[u16]>, V: AsRef<[u16]>>(
    vars: &[(N, V)],
) -> Result<Vec<u16>, EnvBlockError> {
    let lossy = |s: &[u16]| String::from_utf16_lossy(s);
    let mut entries: Vec<(&[u16], &[u16])> = Vec::new();
    for (index, (name, value)) in vars.iter().enumerate() {
        let (name, value) = (name.as_ref(), value.as_ref());
        if name.is_empty() {
            return Err(EnvBlockError::EmptyName { index });
        }
        if name[1..].contains(&u16::from(b'=')) {
            return Err(EnvBlockError::EqualsInName { name: lossy(name) });
        }
        if name.contains(&0) || value.contains(&0) {
            return Err(EnvBlockError::Nul { name: lossy(name) });
        }
        match entries
            .iter_mut()
            .find(|(n, _)| compare_names(n, name) == Ordering::Equal)
        {
            Some(entry) => *entry = (name, value),
            None => entries.push((name, value)),
        }
    }
    entries.sort_by(|a, b| compare_names(a.0, b.0));
    let mut block = Vec::new();
    for (name, value) in entries {
        block.extend_from_slice(name);
        block.push(u16::from(b'='));
        block.extend_from_slice(value);
        block.push(0);
    }
    if block.is_empty() {
        block.push(0);
    }
    block.push(0);
    Ok(block)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    fn block(vars: &[(&str, &str)]) -> Result<String, EnvBlockError> {
        let vars: Vec<(Vec<u16>, Vec<u16>)> = vars.iter().map(|(n, v)| (w(n), w(v))).collect();
        env_block(&vars).map(|b| String::from_utf16(&b).unwrap())
    }

    #[test]
    fn entries_are_sorted_case_insensitively_and_double_nul_terminated() {
        let got = block(&[
            ("path", "p"),
            ("Windir", "w"),
            ("ComSpec", "c"),
            ("_under", "u"),
        ]);
        assert_eq!(got.unwrap(), "ComSpec=c\0path=p\0Windir=w\0_under=u\0\0");
    }

    #[test]
    fn names_differing_only_in_case_are_one_variable_and_the_last_wins() {
        let got = block(&[("Path", "first"), ("PATH", "second"), ("x", "1")]);
        assert_eq!(got.unwrap(), "PATH=second\0x=1\0\0");
    }

    #[test]
    fn an_empty_environment_is_two_nuls() {
        assert_eq!(block(&[]).unwrap(), "\0\0");
    }

    #[test]
    fn hidden_drive_variables_and_empty_values_are_kept() {
        let got = block(&[("=C:", r"C:\work"), ("EMPTY", "")]);
        assert_eq!(got.unwrap(), "=C:=C:\\work\0EMPTY=\0\0");
    }

    #[test]
    fn non_ascii_names_fold_case() {
        let got = block(&[("élan", "1"), ("ÉLAN", "2")]);
        assert_eq!(got.unwrap(), "ÉLAN=2\0\0");
    }

    #[test]
    fn malformed_names_and_nuls_are_refused() {
        assert_eq!(
            block(&[("", "x")]),
            Err(EnvBlockError::EmptyName { index: 0 })
        );
        assert_eq!(
            block(&[("A=B", "x")]),
            Err(EnvBlockError::EqualsInName { name: "A=B".into() })
        );
        assert_eq!(
            block(&[("A", "x\0y")]),
            Err(EnvBlockError::Nul { name: "A".into() })
        );
    }
}
