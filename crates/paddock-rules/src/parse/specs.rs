//! The option tables of the programs the parsers look through or the classifier trusts, in
//! getopt form (see `getopt`), taken from the GNU coreutils / util-linux / findutils / sudo
//! manuals. A program listed here has its options read as it reads them; an option missing from
//! its table is reported as a problem, so a table that lags a new release errs towards asking.

use super::getopt::Arg::{No, Optional as Opt, Required as Req};
use super::getopt::Spec;

pub const ENV: Spec = Spec {
    short: "+i0u:C:S:v",
    long: &[
        ("ignore-environment", No, Some('i')),
        ("null", No, Some('0')),
        ("unset", Req, Some('u')),
        ("chdir", Req, Some('C')),
        ("split-string", Req, Some('S')),
        ("debug", No, Some('v')),
        ("block-signal", Opt, None),
        ("default-signal", Opt, None),
        ("ignore-signal", Opt, None),
        ("list-signal-handling", No, None),
        ("help", No, None),
        ("version", No, None),
    ],
    posix: true,
};

pub const NICE: Spec = Spec {
    short: "+n:",
    long: &[
        ("adjustment", Req, Some('n')),
        ("help", No, None),
        ("version", No, None),
    ],
    posix: true,
};

pub const TIMEOUT: Spec = Spec {
    short: "+k:s:fpv",
    long: &[
        ("kill-after", Req, Some('k')),
        ("signal", Req, Some('s')),
        ("foreground", No, Some('f')),
        ("preserve-status", No, Some('p')),
        ("verbose", No, Some('v')),
        ("help", No, None),
        ("version", No, None),
    ],
    posix: true,
};

pub const STDBUF: Spec = Spec {
    short: "+i:o:e:",
    long: &[
        ("input", Req, Some('i')),
        ("output", Req, Some('o')),
        ("error", Req, Some('e')),
        ("help", No, None),
        ("version", No, None),
    ],
    posix: true,
};

pub const TIME: Spec = Spec {
    short: "+f:o:apqv",
    long: &[
        ("format", Req, Some('f')),
        ("output", Req, Some('o')),
        ("append", No, Some('a')),
        ("portability", No, Some('p')),
        ("quiet", No, Some('q')),
        ("verbose", No, Some('v')),
        ("help", No, None),
        ("version", No, None),
    ],
    posix: true,
};

pub const NOHUP: Spec = Spec {
    short: "+",
    long: &[("help", No, None), ("version", No, None)],
    posix: true,
};

pub const SETSID: Spec = Spec {
    short: "+cfw",
    long: &[
        ("ctty", No, Some('c')),
        ("fork", No, Some('f')),
        ("wait", No, Some('w')),
        ("help", No, None),
        ("version", No, None),
    ],
    posix: true,
};

pub const FLOCK: Spec = Spec {
    short: "+sexunw:oE:c:F",
    long: &[
        ("shared", No, Some('s')),
        ("exclusive", No, Some('x')),
        ("unlock", No, Some('u')),
        ("nonblock", No, Some('n')),
        ("nb", No, Some('n')),
        ("timeout", Req, Some('w')),
        ("wait", Req, Some('w')),
        ("close", No, Some('o')),
        ("conflict-exit-code", Req, Some('E')),
        ("command", Req, Some('c')),
        ("no-fork", No, Some('F')),
        ("verbose", No, None),
        ("help", No, None),
        ("version", No, None),
    ],
    posix: true,
};

pub const WATCH: Spec = Spec {
    short: "+bcCd::eghn:pq:rtwxv",
    long: &[
        ("beep", No, Some('b')),
        ("color", No, Some('c')),
        ("no-color", No, Some('C')),
        ("differences", Opt, Some('d')),
        ("errexit", No, Some('e')),
        ("chgexit", No, Some('g')),
        ("interval", Req, Some('n')),
        ("precise", No, Some('p')),
        ("equexit", Req, Some('q')),
        ("no-rerun", No, Some('r')),
        ("no-title", No, Some('t')),
        ("no-wrap", No, Some('w')),
        ("exec", No, Some('x')),
        ("help", No, Some('h')),
        ("version", No, Some('v')),
    ],
    posix: true,
};

pub const SCRIPT: Spec = Spec {
    short: "aB:c:eE:fI:m:o:O:qT:t::h",
    long: &[
        ("append", No, Some('a')),
        ("log-io", Req, Some('B')),
        ("command", Req, Some('c')),
        ("return", No, Some('e')),
        ("echo", Req, Some('E')),
        ("flush", No, Some('f')),
        ("log-in", Req, Some('I')),
        ("logging-format", Req, Some('m')),
        ("output-limit", Req, Some('o')),
        ("log-out", Req, Some('O')),
        ("quiet", No, Some('q')),
        ("log-timing", Req, Some('T')),
        ("timing", Opt, Some('t')),
        ("force", No, None),
        ("help", No, Some('h')),
        ("version", No, None),
    ],
    posix: false,
};

pub const SU: Spec = Spec {
    short: "c:fg:G:lmpPs:w:hV",
    long: &[
        ("command", Req, Some('c')),
        ("session-command", Req, None),
        ("fast", No, Some('f')),
        ("group", Req, Some('g')),
        ("supp-group", Req, Some('G')),
        ("login", No, Some('l')),
        ("preserve-environment", No, Some('p')),
        ("pty", No, Some('P')),
        ("shell", Req, Some('s')),
        ("whitelist-environment", Req, Some('w')),
        ("help", No, Some('h')),
        ("version", No, Some('V')),
    ],
    posix: false,
};

pub const SUDO: Spec = Spec {
    short: "+AbBC:D:Eeg:HhiKkLlnPp:R:r:SsT:t:U:u:Vv",
    long: &[
        ("askpass", No, Some('A')),
        ("background", No, Some('b')),
        ("bell", No, Some('B')),
        ("close-from", Req, Some('C')),
        ("chdir", Req, Some('D')),
        ("preserve-env", Opt, Some('E')),
        ("edit", No, Some('e')),
        ("group", Req, Some('g')),
        ("set-home", No, Some('H')),
        ("help", No, Some('h')),
        ("host", Req, None),
        ("login", No, Some('i')),
        ("remove-timestamp", No, Some('K')),
        ("reset-timestamp", No, Some('k')),
        ("list", No, Some('l')),
        ("non-interactive", No, Some('n')),
        ("preserve-groups", No, Some('P')),
        ("prompt", Req, Some('p')),
        ("chroot", Req, Some('R')),
        ("role", Req, Some('r')),
        ("stdin", No, Some('S')),
        ("shell", No, Some('s')),
        ("command-timeout", Req, Some('T')),
        ("type", Req, Some('t')),
        ("other-user", Req, Some('U')),
        ("user", Req, Some('u')),
        ("version", No, Some('V')),
        ("validate", No, Some('v')),
    ],
    posix: true,
};

pub const DOAS: Spec = Spec {
    short: "+a:C:Lnsu:",
    long: &[],
    posix: true,
};

pub const CHROOT: Spec = Spec {
    short: "+",
    long: &[
        ("groups", Req, None),
        ("userspec", Req, None),
        ("skip-chdir", No, None),
        ("help", No, None),
        ("version", No, None),
    ],
    posix: true,
};

pub const IONICE: Spec = Spec {
    short: "+c:n:p:P:u:t",
    long: &[
        ("class", Req, Some('c')),
        ("classdata", Req, Some('n')),
        ("pid", Req, Some('p')),
        ("pgid", Req, Some('P')),
        ("uid", Req, Some('u')),
        ("ignore", No, Some('t')),
        ("help", No, None),
        ("version", No, None),
    ],
    posix: true,
};

pub const XARGS: Spec = Spec {
    short: "+0a:d:E:e::I:i::L:l::n:opP:rs:tx",
    long: &[
        ("null", No, Some('0')),
        ("arg-file", Req, Some('a')),
        ("delimiter", Req, Some('d')),
        ("eof", Opt, Some('e')),
        ("replace", Opt, Some('i')),
        ("max-lines", Opt, Some('l')),
        ("max-args", Req, Some('n')),
        ("open-tty", No, Some('o')),
        ("interactive", No, Some('p')),
        ("max-procs", Req, Some('P')),
        ("no-run-if-empty", No, Some('r')),
        ("max-chars", Req, Some('s')),
        ("verbose", No, Some('t')),
        ("exit", No, Some('x')),
        ("show-limits", No, None),
        ("process-slot-var", Req, None),
        ("help", No, None),
        ("version", No, None),
    ],
    posix: true,
};

/// GNU parallel: only the common options; any other makes the line ask.
pub const PARALLEL: Spec = Spec {
    short: "+0a:d:I:j:kn:N:qvXm",
    long: &[
        ("null", No, Some('0')),
        ("arg-file", Req, Some('a')),
        ("delimiter", Req, Some('d')),
        ("jobs", Req, Some('j')),
        ("keep-order", No, Some('k')),
        ("max-args", Req, Some('n')),
        ("quote", No, Some('q')),
        ("verbose", No, Some('v')),
        ("bar", No, None),
        ("eta", No, None),
        ("progress", No, None),
        ("tag", No, None),
        ("dry-run", No, None),
        ("will-cite", No, None),
        ("halt", Req, None),
        ("timeout", Req, None),
        ("colsep", Req, None),
        ("joblog", Req, None),
    ],
    posix: true,
};

pub const SED: Spec = Spec {
    short: "nrsuEzl:i::e:f:",
    long: &[
        ("quiet", No, Some('n')),
        ("silent", No, Some('n')),
        ("regexp-extended", No, Some('E')),
        ("separate", No, Some('s')),
        ("unbuffered", No, Some('u')),
        ("null-data", No, Some('z')),
        ("zero-terminated", No, Some('z')),
        ("line-length", Req, Some('l')),
        ("in-place", Opt, Some('i')),
        ("expression", Req, Some('e')),
        ("file", Req, Some('f')),
        ("posix", No, None),
        ("debug", No, None),
        ("sandbox", No, None),
        ("follow-symlinks", No, None),
        ("binary", No, Some('b')),
        ("help", No, None),
        ("version", No, None),
    ],
    posix: false,
};

pub const SORT: Spec = Spec {
    short: "bdfgiMhnRrVcCmo:S:t:T:uk:sz",
    long: &[
        ("ignore-leading-blanks", No, Some('b')),
        ("dictionary-order", No, Some('d')),
        ("ignore-case", No, Some('f')),
        ("general-numeric-sort", No, Some('g')),
        ("ignore-nonprinting", No, Some('i')),
        ("month-sort", No, Some('M')),
        ("human-numeric-sort", No, Some('h')),
        ("numeric-sort", No, Some('n')),
        ("random-sort", No, Some('R')),
        ("random-source", Req, None),
        ("reverse", No, Some('r')),
        ("sort", Req, None),
        ("version-sort", No, Some('V')),
        ("batch-size", Req, None),
        ("check", Opt, Some('c')),
        ("compress-program", Req, None),
        ("debug", No, None),
        ("files0-from", Req, None),
        ("key", Req, Some('k')),
        ("merge", No, Some('m')),
        ("output", Req, Some('o')),
        ("stable", No, Some('s')),
        ("buffer-size", Req, Some('S')),
        ("field-separator", Req, Some('t')),
        ("temporary-directory", Req, Some('T')),
        ("parallel", Req, None),
        ("unique", No, Some('u')),
        ("zero-terminated", No, Some('z')),
        ("help", No, None),
        ("version", No, None),
    ],
    posix: false,
};

pub const UNIQ: Spec = Spec {
    short: "cdDf:is:uw:z",
    long: &[
        ("count", No, Some('c')),
        ("repeated", No, Some('d')),
        ("all-repeated", Opt, None),
        ("skip-fields", Req, Some('f')),
        ("group", Opt, None),
        ("ignore-case", No, Some('i')),
        ("skip-chars", Req, Some('s')),
        ("unique", No, Some('u')),
        ("check-chars", Req, Some('w')),
        ("zero-terminated", No, Some('z')),
        ("help", No, None),
        ("version", No, None),
    ],
    posix: false,
};

pub const DATE: Spec = Spec {
    short: "d:f:I::r:Rs:uU",
    long: &[
        ("date", Req, Some('d')),
        ("debug", No, None),
        ("file", Req, Some('f')),
        ("iso-8601", Opt, Some('I')),
        ("resolution", No, None),
        ("rfc-email", No, Some('R')),
        ("rfc-3339", Req, None),
        ("reference", Req, Some('r')),
        ("set", Req, Some('s')),
        ("utc", No, Some('u')),
        ("universal", No, Some('u')),
        ("help", No, None),
        ("version", No, None),
    ],
    posix: false,
};

pub const RM: Spec = Spec {
    short: "dfiIrRv",
    long: &[
        ("force", No, Some('f')),
        ("interactive", Opt, None),
        ("one-file-system", No, None),
        ("no-preserve-root", No, None),
        ("preserve-root", Opt, None),
        ("recursive", No, Some('r')),
        ("dir", No, Some('d')),
        ("verbose", No, Some('v')),
        ("help", No, None),
        ("version", No, None),
    ],
    posix: false,
};

/// The table for `program` (a normalised name), if there is one.
pub fn for_program(program: &str) -> Option<&'static Spec> {
    Some(match program {
        "env" => &ENV,
        "nice" => &NICE,
        "timeout" => &TIMEOUT,
        "stdbuf" => &STDBUF,
        "time" => &TIME,
        "nohup" => &NOHUP,
        "setsid" => &SETSID,
        "flock" => &FLOCK,
        "watch" => &WATCH,
        "script" => &SCRIPT,
        "su" => &SU,
        "sudo" => &SUDO,
        "doas" => &DOAS,
        "chroot" => &CHROOT,
        "ionice" => &IONICE,
        "xargs" => &XARGS,
        "parallel" => &PARALLEL,
        "sed" => &SED,
        "sort" => &SORT,
        "uniq" => &UNIQ,
        "date" => &DATE,
        "rm" => &RM,
        _ => return None,
    })
}
