//! Which program a Windows command runs and how its command line is spelled: cmd.exe
//! (`%ComSpec%`), Windows PowerShell (always `-NoProfile` unless asked), pwsh, Git Bash, or a name
//! looked up through `PATH` and `PATHEXT`; and cmd's own command line for `cmd /c ...`.
//!
//! Guarantees: lookups never search the current directory (the CreateProcess default that lets a
//! planted `git.exe` in a repo win); every result is an absolute path to an existing file; a cmd
//! argument that cmd cannot be handed unambiguously is refused, never mangled.

use paddock_runner::cmdline::{CmdLineError, argv_line, cmd_exe_argv_line, cmd_exe_script_line};
use std::ffi::{OsStr, OsString};
use std::os::windows::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// A shell Paddock knows how to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnownShell {
    /// `cmd.exe`, from `%ComSpec%`, else `%SystemRoot%\System32\cmd.exe`.
    Cmd,
    /// Windows PowerShell 5.1, `%SystemRoot%\System32\WindowsPowerShell\v1.0\powershell.exe`.
    WindowsPowerShell,
    /// PowerShell 7+, `pwsh.exe` on PATH, else `%ProgramFiles%\PowerShell\7\pwsh.exe`.
    Pwsh,
    /// Git for Windows' bash, `%ProgramFiles%\Git\bin\bash.exe` (or the per-user install).
    GitBash,
}

impl KnownShell {
    pub fn name(self) -> &'static str {
        match self {
            KnownShell::Cmd => "cmd",
            KnownShell::WindowsPowerShell => "powershell",
            KnownShell::Pwsh => "pwsh",
            KnownShell::GitBash => "bash",
        }
    }
}

/// A program or shell that cannot be found or spelled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShellError {
    #[error(
        "{shell} not found (looked in: {looked}); install it or name the program by its full path"
    )]
    ShellNotFound { shell: &'static str, looked: String },
    #[error(
        "`{name}` not found on PATH (with extensions {pathext}); check the name or give a full path"
    )]
    ProgramNotFound { name: String, pathext: String },
    #[error(
        "cmd argument `{arg}` contains both a double quote and a space; cmd has no way to escape a \
         quote inside a quoted argument. Pass the whole command as one string after /c"
    )]
    CmdQuote { arg: String },
    #[error(transparent)]
    CmdLine(#[from] CmdLineError),
}

/// The environment a lookup reads, with Windows' case-insensitive names.
#[derive(Debug, Clone, Copy)]
pub struct Env<'a>(pub &'a [(OsString, OsString)]);

impl Env<'_> {
    pub fn get(&self, name: &str) -> Option<&OsStr> {
        self.0
            .iter()
            .find(|(k, _)| k.to_string_lossy().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_os_str())
            .filter(|v| !v.is_empty())
    }
}

/// Finds `shell` for a command that will see `env`.
pub fn find_shell(shell: KnownShell, env: Env<'_>) -> Result<PathBuf, ShellError> {
    let system_root = env
        .get("SystemRoot")
        .map_or(PathBuf::from(r"C:\Windows"), PathBuf::from);
    let program_files = env
        .get("ProgramFiles")
        .map_or(PathBuf::from(r"C:\Program Files"), PathBuf::from);
    let mut candidates: Vec<PathBuf> = Vec::new();
    match shell {
        KnownShell::Cmd => {
            candidates.extend(env.get("ComSpec").map(PathBuf::from));
            candidates.push(system_root.join(r"System32\cmd.exe"));
        }
        KnownShell::WindowsPowerShell => {
            candidates.push(system_root.join(r"System32\WindowsPowerShell\v1.0\powershell.exe"));
        }
        KnownShell::Pwsh => {
            candidates.extend(search_path(OsStr::new("pwsh.exe"), env));
            candidates.push(program_files.join(r"PowerShell\7\pwsh.exe"));
        }
        KnownShell::GitBash => {
            candidates.push(program_files.join(r"Git\bin\bash.exe"));
            if let Some(local) = env.get("LOCALAPPDATA") {
                candidates.push(Path::new(local).join(r"Programs\Git\bin\bash.exe"));
            }
        }
    }
    candidates
        .iter()
        .find(|c| c.is_absolute() && c.is_file())
        .cloned()
        .ok_or_else(|| ShellError::ShellNotFound {
            shell: shell.name(),
            looked: candidates
                .iter()
                .map(|c| c.display().to_string())
                .collect::<Vec<_>>()
                .join("; "),
        })
}

/// `PATHEXT` as lower-case extensions with their dot (`.com;.exe;.bat;.cmd` when unset).
fn path_extensions(env: Env<'_>) -> Vec<String> {
    let raw = env
        .get("PATHEXT")
        .map_or(".COM;.EXE;.BAT;.CMD".into(), |v| {
            v.to_string_lossy().into_owned()
        });
    raw.split(';')
        .map(str::trim)
        .filter(|e| e.starts_with('.') && e.len() > 1)
        .map(str::to_ascii_lowercase)
        .collect()
}

/// The candidates for `name` in one directory: as given when it already carries a `PATHEXT`
/// extension, otherwise with each extension appended in `PATHEXT` order.
fn candidates_in(dir: &Path, name: &OsStr, exts: &[String]) -> Vec<PathBuf> {
    let lower = name.to_string_lossy().to_ascii_lowercase();
    if exts.iter().any(|e| lower.ends_with(e.as_str())) {
        return vec![dir.join(name)];
    }
    exts.iter()
        .map(|e| {
            let mut file = name.to_os_string();
            file.push(e);
            dir.join(file)
        })
        .collect()
}

/// Looks `name` up like cmd does, minus the current directory: a name with a directory part is
/// tried where it points (absolute only); a bare name in each `PATH` directory in order.
pub fn search_path(name: &OsStr, env: Env<'_>) -> Option<PathBuf> {
    let exts = path_extensions(env);
    let as_path = Path::new(name);
    if as_path.parent().is_some_and(|p| !p.as_os_str().is_empty()) {
        if !as_path.is_absolute() {
            return None;
        }
        let dir = as_path.parent()?;
        let file = as_path.file_name()?;
        return candidates_in(dir, file, &exts)
            .into_iter()
            .find(|c| c.is_file());
    }
    let path = env.get("PATH")?;
    path.to_string_lossy()
        .split(';')
        .map(|d| d.trim().trim_matches('"'))
        .filter(|d| !d.is_empty() && Path::new(d).is_absolute())
        .flat_map(|d| candidates_in(Path::new(d), name, &exts))
        .find(|c| c.is_file())
}

/// Resolves a program name for a command that will see `env`.
pub fn resolve_program(name: &OsStr, env: Env<'_>) -> Result<PathBuf, ShellError> {
    search_path(name, env).ok_or_else(|| ShellError::ProgramNotFound {
        name: name.to_string_lossy().into_owned(),
        pathext: path_extensions(env).join(";"),
    })
}

/// The program's name without extension, lower-cased, as Windows resolves it (trailing dots
/// and spaces dropped).
fn file_stem_lower(program: &Path) -> String {
    crate::winpath::effective_stem(program).unwrap_or_default()
}

/// True when `program` is cmd.exe.
pub fn is_cmd(program: &Path) -> bool {
    file_stem_lower(program) == "cmd"
}

/// True when `program` is a batch file, which CreateProcess would hand to cmd.exe with the
/// arguments unescaped for cmd (the "BatBadBut" injection).
/// `x.bat.`, `x.bat ` and `x.bat::$DATA` are batch files too: Windows strips the trailing
/// dots and spaces and names the data stream before it decides how to start the file.
pub fn is_batch(program: &Path) -> bool {
    crate::winpath::effective_extension(program).is_some_and(|e| e == "bat" || e == "cmd")
}

/// The command line that runs batch file `program` with exactly `args` through `cmd_exe`, every
/// cmd metacharacter escaped (the runner's `cmd_exe_argv_line`; `%` is refused there).
pub fn batch_command_line(
    cmd_exe: &Path,
    program: &Path,
    args: &[OsString],
) -> Result<OsString, ShellError> {
    let mut argv: Vec<Vec<u16>> = vec![program.as_os_str().encode_wide().collect()];
    argv.extend(args.iter().map(|a| a.encode_wide().collect()));
    let cmd: Vec<u16> = cmd_exe.as_os_str().encode_wide().collect();
    Ok(OsString::from_wide(&cmd_exe_argv_line(&cmd, &argv)?))
}

/// True when `program` is Windows PowerShell or pwsh.
pub fn is_powershell(program: &Path) -> bool {
    matches!(file_stem_lower(program).as_str(), "powershell" | "pwsh")
}

/// PowerShell's arguments with `-NoProfile` first unless `keep_profile` or already present, so
/// the user's profile script (which the sandbox could not have vetted) does not run.
pub fn powershell_args(args: &[OsString], keep_profile: bool) -> Vec<OsString> {
    let has = args.iter().any(|a| {
        let a = a.to_string_lossy().to_ascii_lowercase();
        a == "-noprofile" || a == "-nop"
    });
    let mut out = Vec::with_capacity(args.len() + 1);
    if !keep_profile && !has {
        out.push(OsString::from("-NoProfile"));
    }
    out.extend(args.iter().cloned());
    out
}

/// The complete command line for `cmd.exe /c ...`, built by the runner's
/// `cmd_exe_script_line` (`"<cmd>" /d /v:off /s /c "<script>"`: no AutoRun, no `!` expansion,
/// cmd strips exactly the outer quotes). One argument after `/c` is the script verbatim (how
/// agents pass commands); several are joined with spaces, each quoted when it is empty or holds
/// whitespace. When the first argument is not `/c` the arguments are ordinary and get the
/// standard quoting (`argv_line`), as any other program's.
pub fn cmd_command_line(program: &Path, args: &[OsString]) -> Result<OsString, ShellError> {
    let program: Vec<u16> = program.as_os_str().encode_wide().collect();
    let rest = match args.split_first() {
        Some((first, rest)) if first.to_string_lossy().eq_ignore_ascii_case("/c") => rest,
        _ => {
            let args: Vec<Vec<u16>> = args.iter().map(|a| a.encode_wide().collect()).collect();
            return Ok(OsString::from_wide(&argv_line(&program, &args)?));
        }
    };
    let script = if let [only] = rest {
        only.clone()
    } else {
        let mut joined = OsString::new();
        for (i, arg) in rest.iter().enumerate() {
            if i > 0 {
                joined.push(" ");
            }
            joined.push(quote_for_cmd(arg)?);
        }
        joined
    };
    let script: Vec<u16> = script.encode_wide().collect();
    let line = cmd_exe_script_line(&program, &script)?;
    Ok(OsString::from_wide(&line))
}

fn quote_for_cmd(arg: &OsStr) -> Result<OsString, ShellError> {
    let text = arg.to_string_lossy();
    let needs = text.is_empty() || text.chars().any(char::is_whitespace);
    if !needs {
        return Ok(arg.to_os_string());
    }
    if text.contains('"') {
        return Err(ShellError::CmdQuote {
            arg: text.into_owned(),
        });
    }
    let mut quoted = OsString::from("\"");
    quoted.push(arg);
    quoted.push("\"");
    Ok(quoted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    fn line(args: &[&str]) -> String {
        cmd_command_line(Path::new(r"C:\cmd.exe"), &os(args))
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn cmd_c_with_one_argument_runs_it_verbatim() {
        assert_eq!(
            line(&["/c", "echo hi & echo \"x\""]),
            r#""C:\cmd.exe" /d /v:off /s /c "echo hi & echo "x"""#
        );
    }

    #[test]
    fn cmd_c_with_several_arguments_quotes_those_with_spaces() {
        assert_eq!(
            line(&["/C", "echo", "hi there", ""]),
            r#""C:\cmd.exe" /d /v:off /s /c "echo "hi there" """"#
        );
    }

    #[test]
    fn cmd_without_leading_c_uses_standard_quoting() {
        assert_eq!(line(&["/?"]), r#""C:\cmd.exe" /?"#);
        assert_eq!(line(&["/q", "/c", "ver"]), r#""C:\cmd.exe" /q /c ver"#);
        assert_eq!(line(&[]), r#""C:\cmd.exe""#);
        // Standard quoting: spaces quoted, an inner quote escaped with a backslash, no /d /s.
        assert_eq!(
            line(&["/k", "echo a b", "say \"hi\""]),
            r#""C:\cmd.exe" /k "echo a b" "say \"hi\"""#
        );
    }

    #[test]
    fn cmd_argument_with_quote_and_space_is_refused() {
        let err =
            cmd_command_line(Path::new(r"C:\cmd.exe"), &os(&["/c", "echo", "a \"b"])).unwrap_err();
        assert!(matches!(err, ShellError::CmdQuote { .. }));
    }

    #[test]
    fn cmd_script_with_line_break_is_refused() {
        let err = cmd_command_line(Path::new(r"C:\cmd.exe"), &os(&["/c", "echo a\r\ndel x"]))
            .unwrap_err();
        assert!(matches!(err, ShellError::CmdLine(_)), "{err}");
    }

    #[test]
    fn batch_file_arguments_are_escaped_for_cmd() {
        assert!(is_batch(Path::new(r"C:\x\build.CMD")));
        assert!(!is_batch(Path::new(r"C:\x\build.exe")));
        let line = batch_command_line(
            Path::new(r"C:\cmd.exe"),
            Path::new(r"C:\x\build.bat"),
            &os(&["a&calc", "\"b\""]),
        )
        .unwrap()
        .to_string_lossy()
        .into_owned();
        assert!(
            line.starts_with(r#""C:\cmd.exe" /d /v:off /s /c ""#),
            "{line}"
        );
        assert!(line.contains("a^&calc"), "{line}");
        assert!(!line.contains(" a&calc"), "{line}");
    }

    #[test]
    fn batch_file_argument_with_percent_is_refused() {
        let err = batch_command_line(
            Path::new(r"C:\cmd.exe"),
            Path::new(r"C:\b.bat"),
            &os(&["%PATH%"]),
        );
        assert!(matches!(err, Err(ShellError::CmdLine(_))));
    }

    #[test]
    fn powershell_gets_noprofile_unless_present_or_asked() {
        assert_eq!(
            powershell_args(&os(&["-c", "1"]), false),
            os(&["-NoProfile", "-c", "1"])
        );
        assert_eq!(
            powershell_args(&os(&["-NOP", "-c", "1"]), false),
            os(&["-NOP", "-c", "1"])
        );
        assert_eq!(powershell_args(&os(&["-c", "1"]), true), os(&["-c", "1"]));
    }

    #[test]
    fn program_kinds_are_recognised_by_file_name() {
        assert!(is_cmd(Path::new(r"C:\Windows\System32\CMD.EXE")));
        assert!(is_powershell(Path::new(r"C:\x\pwsh.exe")));
        assert!(is_powershell(Path::new("powershell")));
        assert!(!is_cmd(Path::new(r"C:\x\cmdx.exe")));
        assert!(is_cmd(Path::new(r"C:\Windows\System32\cmd.exe. ")));
        for batch in [
            r"C:\x\b.bat",
            r"C:\x\b.bat.",
            r"C:\x\b.bat ",
            r"C:\x\b.CMD::$DATA",
        ] {
            assert!(is_batch(Path::new(batch)), "{batch}");
        }
        assert!(!is_batch(Path::new(r"C:\x\b.bat.exe")));
    }

    #[test]
    fn path_lookup_finds_program_with_pathext_and_skips_cwd() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tool.cmd"), "@echo off").unwrap();
        let env = vec![
            (
                OsString::from("Path"),
                OsString::from(format!("relative;{}", dir.path().display())),
            ),
            (OsString::from("PATHEXT"), OsString::from(".EXE;.CMD")),
        ];
        let found = resolve_program(OsStr::new("tool"), Env(&env)).unwrap();
        assert_eq!(found, dir.path().join("tool.cmd"));
        assert!(resolve_program(OsStr::new(r"sub\tool"), Env(&env)).is_err());
        let missing = resolve_program(OsStr::new("nope"), Env(&env)).unwrap_err();
        assert!(missing.to_string().contains(".exe;.cmd"), "{missing}");
    }

    #[test]
    fn cmd_is_found_through_comspec() {
        let dir = tempfile::tempdir().unwrap();
        let cmd = dir.path().join("cmd.exe");
        std::fs::write(&cmd, "").unwrap();
        let env = vec![(OsString::from("COMSPEC"), cmd.clone().into_os_string())];
        assert_eq!(find_shell(KnownShell::Cmd, Env(&env)).unwrap(), cmd);
    }

    #[test]
    fn missing_git_bash_names_where_it_looked() {
        let env = vec![(
            OsString::from("ProgramFiles"),
            OsString::from(r"C:\nowhere"),
        )];
        let err = find_shell(KnownShell::GitBash, Env(&env)).unwrap_err();
        assert!(
            err.to_string().contains(r"C:\nowhere\Git\bin\bash.exe"),
            "{err}"
        );
    }
}
