//! Test helper for paddock-runner's integration tests (not shipped as a tool):
//! `args` prints each argument as hex UTF-8 on its own line; `env NAME` prints one variable;
//! `fds` lists the open descriptors (Linux); `write-handle HEX` writes to that handle value
//! and prints whether it could (Windows: an inherited handle leaks that way); `breakaway`
//! tries to start a process outside its job and prints `escaped PID` or `refused`; `exit N` exits with N; `sleep MS` sleeps;
//! `tree MS` starts `probe sleep MS`, prints its pid and sleeps MS; `harness [--grace-ms N]
//! [--timeout-ms N] [--capture] [--sigint-before-run] -- PROGRAM ARGS...` runs PROGRAM through
//! `paddock_runner::run` with signal forwarding (raising SIGINT on itself between the spawn and
//! `run` when asked) and prints `interrupted=.. timed_out=.. code=..` last.

use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = args.split_first() else {
        usage()
    };
    match cmd.as_str() {
        "args" => {
            for a in rest {
                let hex: String = a.bytes().map(|b| format!("{b:02x}")).collect();
                println!("{hex}");
            }
        }
        "env" => match rest.first().and_then(std::env::var_os) {
            Some(v) => println!("{}", v.to_string_lossy()),
            None => println!("<unset>"),
        },
        "fds" => list_fds(),
        "write-handle" => write_handle(rest.first().map_or("", String::as_str)),
        "breakaway" => breakaway(),
        "exit" => std::process::exit(rest.first().and_then(|c| c.parse().ok()).unwrap_or(2)),
        "sleep" => std::thread::sleep(millis(rest)),
        "tree" => {
            let me = std::env::current_exe().expect("locating the probe");
            let ms = rest.first().map_or("60000", String::as_str);
            let child = std::process::Command::new(me).args(["sleep", ms]).spawn();
            println!("{}", child.expect("starting the grandchild").id());
            use std::io::Write;
            std::io::stdout().flush().expect("flushing stdout");
            std::thread::sleep(millis(rest));
        }
        "harness" => harness(rest),
        _ => usage(),
    }
}

fn millis(rest: &[String]) -> Duration {
    Duration::from_millis(rest.first().and_then(|m| m.parse().ok()).unwrap_or(60_000))
}

fn usage() -> ! {
    eprintln!(
        "usage: paddock-runner-probe args|env NAME|fds|exit N|sleep MS|tree MS|harness [opts] -- CMD..."
    );
    std::process::exit(2)
}

#[cfg(target_os = "linux")]
fn list_fds() {
    let mut fds: Vec<(u32, String)> = std::fs::read_dir("/proc/self/fd")
        .expect("reading /proc/self/fd")
        .flatten()
        .filter_map(|e| {
            let fd = e.file_name().to_str()?.parse().ok()?;
            let target = std::fs::read_link(e.path()).ok()?;
            Some((fd, target.display().to_string()))
        })
        .collect();
    fds.sort();
    for (fd, target) in fds {
        println!("{fd} {target}");
    }
}

#[cfg(not(target_os = "linux"))]
fn list_fds() {
    eprintln!("fds: only on Linux");
    std::process::exit(2)
}

#[cfg(windows)]
fn write_handle(hex: &str) {
    use windows_sys::Win32::Storage::FileSystem::WriteFile;
    let value = usize::from_str_radix(hex, 16).unwrap_or_else(|_| usage());
    let mut written = 0u32;
    // SAFETY: writes 4 bytes from a static buffer to whatever the handle value names; an
    // invalid handle makes WriteFile fail, which is what the caller hopes for.
    let ok = unsafe {
        WriteFile(
            value as _,
            b"leak".as_ptr(),
            4,
            &mut written,
            std::ptr::null_mut(),
        )
    };
    println!("{}", if ok != 0 { "wrote" } else { "invalid" });
}

#[cfg(windows)]
fn breakaway() {
    use std::os::windows::process::CommandExt;
    const CREATE_BREAKAWAY_FROM_JOB: u32 = 0x0100_0000;
    let me = std::env::current_exe().expect("locating the probe");
    match std::process::Command::new(me)
        .args(["sleep", "60000"])
        .creation_flags(CREATE_BREAKAWAY_FROM_JOB)
        .spawn()
    {
        Ok(child) => println!("escaped {}", child.id()),
        Err(_) => println!("refused"),
    }
}

#[cfg(not(windows))]
fn breakaway() {
    eprintln!("breakaway: only on Windows");
    std::process::exit(2)
}

#[cfg(not(windows))]
fn write_handle(_: &str) {
    eprintln!("write-handle: only on Windows");
    std::process::exit(2)
}

fn harness(rest: &[String]) {
    let mut opts = paddock_runner::RunOptions {
        forward_signals: true,
        interrupt_grace: Duration::from_millis(500),
        ..Default::default()
    };
    let mut it = rest.iter();
    let mut program = Vec::new();
    let mut sigint_before_run = false;
    while let Some(a) = it.next() {
        let mut num = || {
            it.next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| usage())
        };
        match a.as_str() {
            "--grace-ms" => opts.interrupt_grace = Duration::from_millis(num()),
            "--timeout-ms" => opts.timeout = Some(Duration::from_millis(num())),
            "--capture" => opts.stdio = paddock_runner::StdioMode::Capture,
            "--sigint-before-run" => sigint_before_run = true,
            "--" => {
                program = it.by_ref().cloned().collect();
                break;
            }
            _ => usage(),
        }
    }
    let Some((prog, args)) = program.split_first() else {
        usage()
    };
    let child = spawn(prog, args, opts.stdio).unwrap_or_else(|e| {
        eprintln!("spawn failed: {e}");
        std::process::exit(125)
    });
    if sigint_before_run {
        raise_sigint();
    }
    let out = paddock_runner::run(child, &opts).unwrap_or_else(|e| {
        eprintln!("run failed: {e}");
        std::process::exit(125)
    });
    println!(
        "interrupted={} timed_out={} code={} stdout_bytes={}",
        out.interrupted,
        out.timed_out,
        out.status.shell_code(),
        out.stdout.bytes
    );
}

#[cfg(unix)]
fn spawn(
    prog: &str,
    args: &[String],
    stdio: paddock_runner::StdioMode,
) -> std::io::Result<Box<dyn paddock_runner::SandboxedProcess>> {
    let mut cmd = std::process::Command::new(prog);
    cmd.args(args);
    paddock_runner::unix::spawn(cmd, stdio)
}

#[cfg(windows)]
fn spawn(
    prog: &str,
    args: &[String],
    stdio: paddock_runner::StdioMode,
) -> std::io::Result<Box<dyn paddock_runner::SandboxedProcess>> {
    use paddock_runner::windows::{WinLaunch, spawn};
    let launch = WinLaunch::new(
        prog,
        args.iter().map(Into::into).collect(),
        std::env::current_dir()?,
        std::env::vars_os().collect(),
    );
    spawn(launch, stdio)
}

#[cfg(unix)]
fn raise_sigint() {
    // SAFETY: raise only sends a signal to this process.
    unsafe { libc::raise(libc::SIGINT) };
}

#[cfg(windows)]
fn raise_sigint() {
    usage()
}
