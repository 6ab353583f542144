//! The process runner every backend uses: stdio pass-through or capture with a size cap, a
//! timeout that ends the whole process tree, Ctrl-C/SIGTERM forwarding, and exit-status mapping.
//!
//! Backends do not spawn processes themselves; they hand the runner a `Launch` (what to start and
//! how to contain it) and the runner owns the child's lifetime. The containment object (a pid
//! namespace on Linux, a job object on Windows) is what makes "kill the tree" reliable.
//!
//! CONTRACT (stable; owned by the runner work, consumed by paddock-linux, paddock-windows, paddock):
//!
//! ```ignore
//! pub struct RunOptions { pub stdio: StdioMode, pub timeout: Option<Duration>, pub output_cap: u64,
//!                         pub forward_signals: bool }
//! pub enum StdioMode { Inherit, Capture }          // Capture: stdin is /dev/null (NUL)
//! pub struct Outcome { pub status: ExitInfo, pub duration: Duration, pub timed_out: bool,
//!                      pub interrupted: bool, pub stdout: Captured, pub stderr: Captured }
//! pub struct Captured { pub bytes: u64, pub data: Vec<u8>, pub truncated: bool }
//! pub enum ExitInfo { Code(i32), Signal(i32) }
//! impl ExitInfo { pub fn shell_code(&self) -> i32 }  // 128+signal for signals
//! pub trait SandboxedProcess: Send {              // one running sandboxed tree
//!     fn take_stdio(&mut self) -> ChildStdio;     // pipes when Capture, None when Inherit
//!     fn try_wait(&mut self) -> io::Result<Option<ExitInfo>>;
//!     fn wait_timeout(&mut self, d: Duration) -> io::Result<Option<ExitInfo>>;
//!     fn signal_tree(&mut self, sig: Interrupt) -> io::Result<()>;   // polite stop (SIGINT / Ctrl-Break)
//!     fn kill_tree(&mut self) -> io::Result<()>;  // ends every process of the tree, idempotent
//!     fn id(&self) -> u32;
//! }
//! pub fn run(child: Box<dyn SandboxedProcess>, opts: &RunOptions) -> io::Result<Outcome>;
//!
//! // Unix: a std::process::Command spawned in its own process group, PDEATHSIG on Linux.
//! #[cfg(unix)] pub mod unix { pub fn spawn(cmd: std::process::Command, stdio: StdioMode)
//!                               -> io::Result<Box<dyn SandboxedProcess>>; }
//! // Windows: CreateProcessW / CreateProcessAsUserW into a kill-on-close job at creation.
//! #[cfg(windows)] pub mod windows { pub struct WinLaunch { program, args, cwd, env, token: Option<OwnedHandle>,
//!                                    desktop: Option<String>, limits: JobLimits }
//!                                   pub fn spawn(l: WinLaunch, stdio: StdioMode) -> io::Result<Box<dyn SandboxedProcess>>; }
//! ```
