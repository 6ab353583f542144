//! Program names as rules see them: the basename (after `/` or `\`), lower case, without a
//! `.exe` suffix, so `C:\Windows\System32\CMD.EXE`, `cmd.exe` and `cmd` are one program.

/// The normalised name of a program as written in a command.
pub fn program_key(program: &str) -> String {
    let base = program.rsplit(['/', '\\']).next().unwrap_or(program);
    let lower = base.to_lowercase();
    match lower.strip_suffix(".exe") {
        Some(stem) if !stem.is_empty() => stem.to_string(),
        _ => lower,
    }
}

/// True when the program is named by a relative path (`./x`, `bin/x`), i.e. it may be a file the
/// command itself wrote, not the system program its basename suggests.
pub fn is_relative_path(program: &str) -> bool {
    let has_sep = program.contains('/') || program.contains('\\');
    let b = program.as_bytes();
    let absolute = program.starts_with('/')
        || program.starts_with('\\')
        || (b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':');
    has_sep && !absolute
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_key_ignores_directory_case_and_exe() {
        let cases = [
            ("git", "git"),
            ("/usr/bin/git", "git"),
            (r"C:\Program Files\Git\cmd\GIT.EXE", "git"),
            ("Remove-Item", "remove-item"),
            (
                "Microsoft.PowerShell.Management\\Remove-Item",
                "remove-item",
            ),
            (".exe", ".exe"),
            ("./script.sh", "script.sh"),
        ];
        for (input, want) in cases {
            assert_eq!(program_key(input), want, "{input}");
        }
    }

    #[test]
    fn relative_program_paths_are_recognised() {
        assert!(is_relative_path("./ls"));
        assert!(is_relative_path(r"bin\git.exe"));
        assert!(!is_relative_path("/bin/ls"));
        assert!(!is_relative_path(r"C:\Windows\System32\where.exe"));
        assert!(!is_relative_path("ls"));
    }
}
