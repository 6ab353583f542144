//! Command-line options read the way GNU getopt_long reads them: short clusters (`-uo FILE`,
//! `-oFILE`), attached and separate values, long options with `=` or a separate value, unique
//! abbreviations of long options (`--expr` for `--expression`), `--` ending the options, and
//! (unless `posix`) options after operands.
//!
//! The guarantee: every option a program would see is reported under its canonical name (the
//! short letter when it has one, else the full long name), and anything getopt would reject or
//! that is only known at run time is reported as a problem, never silently skipped.

use super::Word;

/// Whether an option takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    No,
    Required,
    /// Only attached (`-xVALUE`, `--x=VALUE`).
    Optional,
}

/// A program's options: `short` in getopt's optstring syntax (`"nf:o::"`), `long` as
/// (name, value, short equivalent).
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub short: &'static str,
    pub long: &'static [(&'static str, Arg, Option<char>)],
    /// Options end at the first operand (POSIX order, or a wrapper before its command).
    pub posix: bool,
}

/// One option as the program sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opt {
    /// `-x` for a short option or a long one with a short equivalent, else `--name`.
    pub name: String,
    pub value: Option<Word>,
}

/// The options and operands of one command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    pub opts: Vec<Opt>,
    pub operands: Vec<Word>,
    /// Index in `args` of the first operand when `posix` (the rest is the wrapped command).
    pub rest: usize,
    /// Why the options cannot be known (unknown, ambiguous, computed at run time).
    pub problem: Option<String>,
}

impl Parsed {
    pub fn has(&self, name: &str) -> bool {
        self.opts.iter().any(|o| o.name == name)
    }

    pub fn value(&self, name: &str) -> Option<&Word> {
        self.opts
            .iter()
            .find(|o| o.name == name)
            .and_then(|o| o.value.as_ref())
    }
}

fn short_arg(spec: &Spec, c: char) -> Option<Arg> {
    let s = spec.short;
    if c == ':' || c == '+' {
        return None;
    }
    let pos = s.char_indices().find(|&(_, x)| x == c)?.0;
    let rest = &s[pos + c.len_utf8()..];
    Some(if rest.starts_with("::") {
        Arg::Optional
    } else if rest.starts_with(':') {
        Arg::Required
    } else {
        Arg::No
    })
}

/// The long option `name` stands for: an exact name, or a unique abbreviation.
fn long_option(spec: &Spec, name: &str) -> Result<(String, Arg), String> {
    let canon = |(n, a, s): &(&str, Arg, Option<char>)| {
        (s.map_or_else(|| format!("--{n}"), |c| format!("-{c}")), *a)
    };
    if let Some(o) = spec.long.iter().find(|(n, _, _)| *n == name) {
        return Ok(canon(o));
    }
    let found: Vec<_> = spec
        .long
        .iter()
        .filter(|(n, _, _)| n.starts_with(name))
        .map(canon)
        .collect();
    match found.as_slice() {
        [] => Err(format!("unknown option `--{name}`")),
        [(c, a)] => Ok((c.clone(), *a)),
        [(c, a), rest @ ..] if rest.iter().all(|(d, b)| d == c && b == a) => Ok((c.clone(), *a)),
        _ => Err(format!("ambiguous option `--{name}`")),
    }
}

/// Reads `args` (the words after the program name) as getopt_long would.
pub fn parse(spec: &Spec, args: &[Word]) -> Parsed {
    let mut out = Parsed {
        rest: args.len(),
        ..Parsed::default()
    };
    let problem = |out: &mut Parsed, p: String| {
        if out.problem.is_none() {
            out.problem = Some(p);
        }
    };
    let mut i = 0;
    let mut ended = false;
    while i < args.len() {
        let w = &args[i];
        let t = w.text.as_str();
        if ended || !t.starts_with('-') || t == "-" {
            if w.dynamic && !ended {
                problem(
                    &mut out,
                    format!("argument `{t}` is computed at run time and may be an option"),
                );
            }
            if spec.posix && !ended {
                out.rest = i;
                return out;
            }
            out.operands.push(w.clone());
            i += 1;
            continue;
        }
        if w.dynamic {
            problem(&mut out, format!("option `{t}` is computed at run time"));
        }
        if t == "--" {
            ended = true;
            i += 1;
            if spec.posix {
                out.rest = i;
                return out;
            }
            continue;
        }
        if let Some(body) = t.strip_prefix("--") {
            let (name, attached) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            match long_option(spec, name) {
                Err(e) => problem(&mut out, e),
                Ok((canon, arg)) => {
                    let value = match (arg, attached) {
                        (Arg::No, Some(_)) => {
                            problem(&mut out, format!("option `--{name}` takes no value"));
                            None
                        }
                        (Arg::No, None) | (Arg::Optional, None) => None,
                        (_, Some(v)) => Some(Word {
                            text: v.to_string(),
                            dynamic: w.dynamic,
                        }),
                        (Arg::Required, None) => {
                            i += 1;
                            match args.get(i) {
                                Some(v) => Some(v.clone()),
                                None => {
                                    problem(&mut out, format!("option `--{name}` needs a value"));
                                    None
                                }
                            }
                        }
                    };
                    out.opts.push(Opt { name: canon, value });
                }
            }
            i += 1;
            continue;
        }
        // A cluster of short options: `-abc`, `-ovalue`, `-o value`.
        let body: Vec<char> = t.chars().skip(1).collect();
        let mut k = 0;
        while k < body.len() {
            let c = body[k];
            match short_arg(spec, c) {
                None => {
                    problem(&mut out, format!("unknown option `-{c}`"));
                    k += 1;
                }
                Some(Arg::No) => {
                    out.opts.push(Opt {
                        name: format!("-{c}"),
                        value: None,
                    });
                    k += 1;
                }
                Some(arg) => {
                    let attached: String = body[k + 1..].iter().collect();
                    let value = if !attached.is_empty() {
                        Some(Word {
                            text: attached,
                            dynamic: w.dynamic,
                        })
                    } else if arg == Arg::Required {
                        i += 1;
                        match args.get(i) {
                            Some(v) => Some(v.clone()),
                            None => {
                                problem(&mut out, format!("option `-{c}` needs a value"));
                                None
                            }
                        }
                    } else {
                        None
                    };
                    out.opts.push(Opt {
                        name: format!("-{c}"),
                        value,
                    });
                    break;
                }
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SORT: Spec = Spec {
        short: "bdfgiMhnRrVcCmo:S:t:T:uk:sz",
        long: &[
            ("output", Arg::Required, Some('o')),
            ("compress-program", Arg::Required, None),
            ("unique", Arg::No, Some('u')),
            ("unique-x", Arg::No, Some('u')),
            ("debug", Arg::No, None),
            ("dictionary-order", Arg::No, Some('d')),
        ],
        posix: false,
    };

    fn words(s: &str) -> Vec<Word> {
        crate::shlex::split(s)
            .unwrap()
            .into_iter()
            .map(Word::lit)
            .collect()
    }

    #[test]
    fn getopt_reads_clusters_values_abbreviations_and_double_dash() {
        type Case<'a> = (&'a str, &'a [(&'a str, Option<&'a str>)], &'a [&'a str]);
        let cases: &[Case] = &[
            ("-uo out x", &[("-u", None), ("-o", Some("out"))], &["x"]),
            ("-oout x", &[("-o", Some("out"))], &["x"]),
            ("--output=f x", &[("-o", Some("f"))], &["x"]),
            ("--out f", &[("-o", Some("f"))], &["f"][..0]),
            (
                "--compress=gzip x",
                &[("--compress-program", Some("gzip"))],
                &["x"],
            ),
            ("x -u", &[("-u", None)], &["x"]),
            ("-- -u", &[], &["-u"]),
            ("--uniq x", &[("-u", None)], &["x"]),
        ];
        for (line, opts, operands) in cases {
            let p = parse(&SORT, &words(line));
            let got: Vec<(String, Option<String>)> = p
                .opts
                .iter()
                .map(|o| (o.name.clone(), o.value.as_ref().map(|v| v.text.clone())))
                .collect();
            let want: Vec<(String, Option<String>)> = opts
                .iter()
                .map(|(n, v)| (n.to_string(), v.map(str::to_string)))
                .collect();
            assert_eq!(got, want, "{line}");
            let ops: Vec<&str> = p.operands.iter().map(|w| w.text.as_str()).collect();
            assert_eq!(&ops, operands, "{line}");
            assert_eq!(p.problem, None, "{line}");
        }
    }

    #[test]
    fn getopt_reports_unknown_ambiguous_and_dynamic_options() {
        for line in ["-Q", "--d", "--nosuch", "--debug=1", "-o"] {
            assert!(parse(&SORT, &words(line)).problem.is_some(), "{line}");
        }
        let mut w = words("x");
        w.insert(0, Word::dynamic("$FLAGS"));
        assert!(parse(&SORT, &w).problem.is_some());
    }
}
