//! PowerShell scripts (`-Command`) split into simple commands by a hand-written tokenizer that
//! knows its quoting: backtick escapes, single quotes (`''`), double quotes with `$var` and
//! `$(...)`, here-strings, and the Unicode quotes and dashes PowerShell accepts.
//!
//! Statements end at `;`, newlines, `|`, `&&`, `||`; script blocks `{}`, `(...)`, `$(...)` and
//! `@(...)` are parsed recursively so the commands inside are judged too. .NET method calls,
//! dot-sourcing, `&` on a computed command and unbalanced text are uncertain.

use super::{Collector, Shell, SimpleCommand, Word};

const SINGLE_QUOTES: &[char] = &['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];
const DOUBLE_QUOTES: &[char] = &['"', '\u{201C}', '\u{201D}', '\u{201E}'];
const DASHES: &[char] = &['\u{2013}', '\u{2014}', '\u{2015}'];

/// Cmdlets and their built-in aliases, so a rule on one name also catches the others.
const ALIASES: &[(&str, &[&str])] = &[
    ("get-childitem", &["ls", "dir", "gci"]),
    ("get-content", &["cat", "type", "gc"]),
    ("select-string", &["sls"]),
    ("write-output", &["echo", "write"]),
    ("remove-item", &["rm", "del", "ri", "erase", "rd", "rmdir"]),
    ("copy-item", &["cp", "copy", "cpi"]),
    ("move-item", &["mv", "move", "mi"]),
    ("invoke-expression", &["iex"]),
    ("invoke-command", &["icm"]),
    ("start-process", &["saps", "start"]),
    ("set-content", &["sc"]),
    ("new-item", &["ni"]),
    ("invoke-webrequest", &["iwr", "curl", "wget"]),
    ("invoke-restmethod", &["irm"]),
    ("foreach-object", &["%", "foreach"]),
    ("where-object", &["?", "where"]),
    ("get-location", &["pwd", "gl"]),
    ("set-location", &["cd", "sl", "chdir"]),
    ("get-process", &["ps", "gps"]),
    ("stop-process", &["kill", "spps"]),
];

/// Every name a PowerShell command name is known by (itself, its cmdlet, the cmdlet's aliases).
pub fn names_of(key: &str) -> Vec<String> {
    let mut out = vec![key.to_string()];
    for (cmdlet, aliases) in ALIASES {
        if *cmdlet == key || aliases.contains(&key) {
            for n in std::iter::once(cmdlet).chain(aliases.iter()) {
                if !out.iter().any(|o| o == n) {
                    out.push(n.to_string());
                }
            }
        }
    }
    out
}

/// Words that start statements which are not commands.
const KEYWORDS: &[&str] = &[
    "if",
    "elseif",
    "else",
    "foreach",
    "for",
    "while",
    "do",
    "until",
    "switch",
    "try",
    "catch",
    "finally",
    "trap",
    "function",
    "filter",
    "workflow",
    "param",
    "begin",
    "process",
    "end",
    "break",
    "continue",
    "data",
    "dynamicparam",
    "class",
    "enum",
    "using",
    "in",
];
const VALUE_KEYWORDS: &[&str] = &["return", "throw", "exit"];
const ASSIGN_OPS: &[&str] = &["=", "+=", "-=", "*=", "/=", "%=", "??="];

#[derive(Debug, Clone)]
enum Tok {
    Word {
        word: Word,
        /// A variable, `(...)`, or a string with expansions: an expression value.
        expr: bool,
        /// A script block `{...}`.
        block: bool,
    },
    Call,
    Dot,
    Redirect,
}

/// Parses one PowerShell script and adds what it runs to `col`.
pub fn parse(col: &mut Collector<'_>, text: &str, depth: usize) {
    let chars: Vec<char> = text.chars().collect();
    let mut lx = Lexer {
        chars: &chars,
        i: 0,
        col,
        depth,
        stmt: Vec::new(),
        snippet_start: 0,
        pending_redirect: false,
    };
    lx.run();
}

struct Lexer<'c, 'x, 'a> {
    chars: &'c [char],
    i: usize,
    col: &'x mut Collector<'a>,
    depth: usize,
    stmt: Vec<Tok>,
    snippet_start: usize,
    pending_redirect: bool,
}

impl Lexer<'_, '_, '_> {
    fn peek(&self, k: usize) -> Option<char> {
        self.chars.get(self.i + k).copied()
    }

    fn snippet(&self) -> String {
        let end = self.i.min(self.chars.len());
        self.chars[self.snippet_start.min(end)..end]
            .iter()
            .collect::<String>()
            .trim()
            .to_string()
    }

    fn unbalanced(&mut self) {
        let whole: String = self.chars.iter().collect();
        self.col.uncertain(
            "PowerShell script with unbalanced quotes or brackets",
            whole,
        );
        self.i = self.chars.len();
    }

    fn run(&mut self) {
        while let Some(c) = self.peek(0) {
            match c {
                ' ' | '\t' | '\r' => self.i += 1,
                '\n' | ';' => {
                    self.end_statement();
                    self.i += 1;
                }
                '`' if self.peek(1) == Some('\n') => self.i += 2,
                '#' => {
                    while self.peek(0).is_some_and(|c| c != '\n') {
                        self.i += 1;
                    }
                }
                '<' if self.peek(1) == Some('#') => match self.find_seq(self.i + 2, &['#', '>']) {
                    Some(end) => self.i = end + 2,
                    None => self.unbalanced(),
                },
                '|' => {
                    self.i += if self.peek(1) == Some('|') { 2 } else { 1 };
                    self.end_statement();
                }
                '&' => {
                    if self.peek(1) == Some('&') {
                        self.i += 2;
                        self.end_statement();
                    } else if self.stmt.is_empty() {
                        self.i += 1;
                        self.stmt.push(Tok::Call);
                    } else {
                        self.i += 1;
                        self.end_statement();
                    }
                }
                '.' if self.stmt.is_empty()
                    && self.peek(1).is_some_and(|n| n == ' ' || n == '\t') =>
                {
                    self.i += 1;
                    self.stmt.push(Tok::Dot);
                }
                _ if self.redirect_len() > 0 => self.redirect(),
                _ => {
                    let before = self.i;
                    let tok = self.token();
                    if self.i == before {
                        // A closing bracket without its opener (`Get-Date )`): nothing reads
                        // it, so the script is unbalanced; stop rather than loop on it.
                        self.unbalanced();
                        break;
                    }
                    self.push(tok);
                }
            }
        }
        self.end_statement();
    }

    /// Length of a redirection operator at the cursor (`>`, `>>`, `2>`, `*>>`, `2>&1`).
    fn redirect_len(&self) -> usize {
        let mut k = 0;
        if self.peek(0).is_some_and(|c| c.is_ascii_digit() || c == '*') {
            k = 1;
        }
        if self.peek(k) != Some('>') {
            return if k == 0 && self.peek(0) == Some('<') {
                1
            } else {
                0
            };
        }
        k += 1;
        if self.peek(k) == Some('>') {
            k += 1;
        }
        k
    }

    fn redirect(&mut self) {
        let len = self.redirect_len();
        let writes = self.chars[self.i..self.i + len].contains(&'>');
        self.i += len;
        if self.peek(0) == Some('&') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            self.i += 2;
            return;
        }
        self.stmt.push(Tok::Redirect);
        self.pending_redirect = writes;
    }

    fn push(&mut self, tok: Tok) {
        if matches!(self.stmt.last(), Some(Tok::Redirect)) {
            self.stmt.pop();
            if self.pending_redirect
                && let Tok::Word { word, .. } = &tok
            {
                let snippet = self.snippet();
                self.col.write_redirect(word, &snippet);
            }
            self.pending_redirect = false;
            return;
        }
        self.stmt.push(tok);
    }

    /// Index of the first occurrence of `seq` at or after `from`.
    fn find_seq(&self, from: usize, seq: &[char]) -> Option<usize> {
        (from..self.chars.len()).find(|&k| self.chars[k..].starts_with(seq))
    }

    /// Index of the bracket closing the one at `open`, skipping quoted text.
    fn find_close(&self, open: usize) -> Option<usize> {
        let mut depth = 0usize;
        let mut k = open;
        while k < self.chars.len() {
            let c = self.chars[k];
            match c {
                '(' | '{' | '[' => depth += 1,
                ')' | '}' | ']' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(k);
                    }
                }
                '`' => k += 1,
                c if SINGLE_QUOTES.contains(&c) => {
                    k += 1;
                    while k < self.chars.len() && !SINGLE_QUOTES.contains(&self.chars[k]) {
                        k += 1;
                    }
                }
                c if DOUBLE_QUOTES.contains(&c) => {
                    k += 1;
                    while k < self.chars.len() && !DOUBLE_QUOTES.contains(&self.chars[k]) {
                        if self.chars[k] == '`' {
                            k += 1;
                        }
                        k += 1;
                    }
                }
                _ => {}
            }
            k += 1;
        }
        None
    }

    /// Parses the inside of the bracket at the cursor as a script; returns its source text.
    fn nested(&mut self) -> Option<String> {
        let open = self.i;
        let close = self.find_close(open)?;
        let inner: String = self.chars[open + 1..close].iter().collect();
        parse(self.col, &inner, self.depth + 1);
        self.i = close + 1;
        Some(self.chars[open..=close].iter().collect())
    }

    /// Reads one token: a group, a variable, a string or a bare word, then any member access.
    fn token(&mut self) -> Tok {
        let start = self.i;
        let c = self.peek(0).unwrap_or(' ');
        let mut tok = match c {
            '(' | '{' => {
                let block = c == '{';
                match self.nested() {
                    Some(src) => Tok::Word {
                        word: Word::dynamic(src),
                        expr: !block,
                        block,
                    },
                    None => {
                        self.unbalanced();
                        return Tok::Word {
                            word: Word::dynamic(""),
                            expr: true,
                            block: false,
                        };
                    }
                }
            }
            '$' | '@' if matches!(self.peek(1), Some('(') | Some('{')) => {
                self.i += 1;
                match self.nested() {
                    Some(src) => Tok::Word {
                        word: Word::dynamic(format!("{c}{src}")),
                        expr: true,
                        block: false,
                    },
                    None => {
                        self.unbalanced();
                        return Tok::Word {
                            word: Word::dynamic(""),
                            expr: true,
                            block: false,
                        };
                    }
                }
            }
            '[' => match self.find_close(self.i) {
                Some(close) => {
                    self.i = close + 1;
                    let src: String = self.chars[start..self.i].iter().collect();
                    let casts = self.peek(0).is_some_and(|n| {
                        !n.is_whitespace() && !matches!(n, ':' | '.' | ')' | '}' | ';' | '|' | ',')
                    });
                    if casts && !safe_cast(&src) {
                        // `[IO.StreamWriter]'path'` converts by calling a constructor.
                        self.col.uncertain(
                            "PowerShell cast to a .NET type may call its constructor (e.g. open a file)",
                            src.clone(),
                        );
                    }
                    Tok::Word {
                        word: Word::dynamic(src),
                        expr: true,
                        block: false,
                    }
                }
                None => {
                    self.unbalanced();
                    return Tok::Call;
                }
            },
            _ => self.bare_word(),
        };
        self.member_access(start, &mut tok);
        tok
    }

    /// `.Name`, `::Name` and `(...)` calls after an expression value.
    fn member_access(&mut self, start: usize, tok: &mut Tok) {
        let Tok::Word { expr, .. } = tok else { return };
        if !*expr {
            return;
        }
        loop {
            let sep = match (self.peek(0), self.peek(1)) {
                (Some(':'), Some(':')) => 2,
                (Some('.'), Some(n)) if n.is_alphabetic() || n == '_' => 1,
                _ => break,
            };
            self.i += sep;
            while self
                .peek(0)
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
            {
                self.i += 1;
            }
            let src: String = self.chars[start..self.i].iter().collect();
            if self.peek(0) == Some('(') {
                if self.nested().is_none() {
                    self.unbalanced();
                    return;
                }
                let call: String = self.chars[start..self.i].iter().collect();
                self.col.uncertain(
                    "PowerShell .NET method call: runs code the rules cannot see",
                    call,
                );
            } else if sep == 2 {
                self.col.uncertain(
                    "PowerShell static .NET member access: may run code the rules cannot see",
                    src.clone(),
                );
            }
            if let Tok::Word { word, .. } = tok {
                word.text = self.chars[start..self.i].iter().collect();
            }
        }
    }

    /// A bare word, possibly glued to quoted parts and variables (`a"b"$c`).
    fn bare_word(&mut self) -> Tok {
        let statement_start = self.stmt.is_empty();
        let mut text = String::new();
        let mut dynamic = false;
        let mut expr = false;
        let mut first = true;
        while let Some(c) = self.peek(0) {
            if c.is_whitespace() || matches!(c, ';' | '|' | '(' | ')' | '{' | '}') {
                break;
            }
            if c == '&' && !first {
                break;
            }
            if !first && c == '>' {
                break;
            }
            if c == '`' {
                if let Some(n) = self.peek(1) {
                    text.push(match n {
                        'n' => '\n',
                        't' => '\t',
                        '0' => '\0',
                        other => other,
                    });
                }
                self.i += 2;
            } else if c == '@' && first && self.here_string_start() {
                let q = self.peek(1).unwrap_or('"');
                let Some(end) = self.find_seq(self.i + 2, &['\n', q, '@']) else {
                    self.unbalanced();
                    break;
                };
                let body: String = self.chars[self.i + 3..end].iter().collect();
                self.i = end + 3;
                if DOUBLE_QUOTES.contains(&q) && body.contains('$') {
                    self.expand_in_string(&body);
                    dynamic = true;
                }
                text.push_str(&body);
            } else if SINGLE_QUOTES.contains(&c) {
                self.i += 1;
                loop {
                    match self.peek(0) {
                        None => {
                            self.unbalanced();
                            break;
                        }
                        Some(q) if SINGLE_QUOTES.contains(&q) => {
                            if self.peek(1).is_some_and(|n| SINGLE_QUOTES.contains(&n)) {
                                text.push('\'');
                                self.i += 2;
                            } else {
                                self.i += 1;
                                break;
                            }
                        }
                        Some(ch) => {
                            text.push(ch);
                            self.i += 1;
                        }
                    }
                }
            } else if DOUBLE_QUOTES.contains(&c) {
                self.i += 1;
                loop {
                    match self.peek(0) {
                        None => {
                            self.unbalanced();
                            break;
                        }
                        Some('`') => {
                            if let Some(n) = self.peek(1) {
                                text.push(n);
                            }
                            self.i += 2;
                        }
                        Some(q) if DOUBLE_QUOTES.contains(&q) => {
                            if self.peek(1).is_some_and(|n| DOUBLE_QUOTES.contains(&n)) {
                                text.push('"');
                                self.i += 2;
                            } else {
                                self.i += 1;
                                break;
                            }
                        }
                        Some('$') if self.peek(1) == Some('(') => {
                            let Some(close) = self.find_close(self.i + 1) else {
                                self.unbalanced();
                                break;
                            };
                            let inner: String = self.chars[self.i + 2..close].iter().collect();
                            parse(self.col, &inner, self.depth + 1);
                            text.extend(&self.chars[self.i..=close]);
                            self.i = close + 1;
                            dynamic = true;
                        }
                        Some('$')
                            if self
                                .peek(1)
                                .is_some_and(|n| n.is_alphanumeric() || "_{:?^".contains(n)) =>
                        {
                            dynamic = true;
                            text.push('$');
                            self.i += 1;
                        }
                        Some(ch) => {
                            text.push(ch);
                            self.i += 1;
                        }
                    }
                }
            } else if c == '$' {
                let var_start = self.i;
                self.i += 1;
                while self.peek(0).is_some_and(|c| {
                    c.is_alphanumeric() || c == '_' || c == ':' || c == '?' || c == '^'
                }) {
                    self.i += 1;
                }
                let name: String = self.chars[var_start..self.i].iter().collect();
                text.push_str(&name);
                if !matches!(
                    name.to_ascii_lowercase().as_str(),
                    "$null" | "$true" | "$false"
                ) {
                    dynamic = true;
                }
                if first {
                    // A leading variable is an expression: stop where an operator or a member
                    // access may follow (`$x = ...`, `$x.Delete()`), so they are seen.
                    let member = matches!((self.peek(0), self.peek(1)), (Some('.'), Some(n)) if n.is_alphabetic())
                        || (self.peek(0) == Some(':') && self.peek(1) == Some(':'));
                    if member || statement_start {
                        expr = true;
                        break;
                    }
                }
            } else {
                text.push(c);
                self.i += 1;
            }
            first = false;
        }
        if let Some(rest) = text.strip_prefix(DASHES) {
            text = format!("-{rest}");
        }
        Tok::Word {
            word: Word { text, dynamic },
            expr,
            block: false,
        }
    }

    /// True at `@'` or `@"` followed by a line break: a here-string.
    fn here_string_start(&self) -> bool {
        let quote = self
            .peek(1)
            .is_some_and(|q| SINGLE_QUOTES.contains(&q) || DOUBLE_QUOTES.contains(&q));
        quote && matches!(self.peek(2), Some('\n') | Some('\r'))
    }

    /// Commands inside `$(...)` of an expandable here-string.
    fn expand_in_string(&mut self, body: &str) {
        let chars: Vec<char> = body.chars().collect();
        let mut k = 0;
        while k + 1 < chars.len() {
            if chars[k] == '$' && chars[k + 1] == '(' {
                let mut depth = 0usize;
                let mut end = None;
                for (j, &c) in chars.iter().enumerate().skip(k + 1) {
                    match c {
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                end = Some(j);
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                let Some(end) = end else {
                    self.unbalanced();
                    return;
                };
                let inner: String = chars[k + 2..end].iter().collect();
                parse(self.col, &inner, self.depth + 1);
                k = end;
            }
            k += 1;
        }
    }

    fn end_statement(&mut self) {
        let toks = std::mem::take(&mut self.stmt);
        let snippet = self.snippet();
        self.snippet_start = self.i;
        self.pending_redirect = false;
        self.statement(toks, &snippet);
    }

    /// Judges one statement; `return x`, `$a = $b = x` are followed by a loop over the tokens,
    /// not by recursion, so a long chain cannot exhaust the stack.
    fn statement(&mut self, mut all: Vec<Tok>, snippet: &str) {
        all.retain(|t| !matches!(t, Tok::Redirect));
        let mut start = 0;
        loop {
            let toks = &all[start..];
            let Some(first) = toks.first().cloned() else {
                return;
            };
            match first {
                Tok::Dot => {
                    self.col.uncertain(
                        "PowerShell dot-sourcing runs a script in the caller's scope",
                        snippet,
                    );
                }
                Tok::Call => match toks.get(1) {
                    Some(Tok::Word { block: true, .. }) => {}
                    Some(Tok::Word { word, expr, .. }) if !word.dynamic && !*expr => {
                        let words = self.words(&toks[1..]);
                        self.col
                            .command(SimpleCommand::new(words, Shell::PowerShell), self.depth);
                    }
                    _ => self.col.uncertain(
                        "PowerShell `&` calls a command computed at run time",
                        snippet,
                    ),
                },
                Tok::Redirect => {}
                Tok::Word { word, expr, .. } => {
                    if let Some(Tok::Word { word: op, .. }) = toks.get(1)
                        && let Some(assign) = ASSIGN_OPS
                            .iter()
                            .filter(|a| op.text.starts_with(**a))
                            .max_by_key(|a| a.len())
                    {
                        if expr && (word.text.contains('.') || word.text.contains("::")) {
                            self.col.uncertain(
                            "PowerShell property assignment runs a .NET setter the rules cannot see",
                            snippet,
                        );
                        }
                        if let Some(var) = word.text.to_ascii_lowercase().strip_prefix("$env:")
                            && super::sensitive_variable(var)
                        {
                            self.col.contained(
                                format!(
                                    "assigning `{}` changes which programs run or what they load",
                                    word.text
                                ),
                                snippet,
                            );
                        }
                        // `$x = <pipeline>`: judge the right-hand side.
                        let rest_text = op.text[assign.len()..].to_string();
                        if rest_text.is_empty() {
                            start += 2;
                        } else {
                            all[start + 1] = Tok::Word {
                                word: Word {
                                    text: rest_text,
                                    dynamic: op.dynamic,
                                },
                                expr: false,
                                block: false,
                            };
                            start += 1;
                        }
                        continue;
                    }
                    if expr {
                        return;
                    }
                    let lower = word.text.to_ascii_lowercase();
                    if !word.dynamic && KEYWORDS.contains(&lower.as_str()) {
                        return;
                    }
                    if !word.dynamic && VALUE_KEYWORDS.contains(&lower.as_str()) {
                        start += 1;
                        continue;
                    }
                    if is_literal(&word.text) {
                        return;
                    }
                    let words = self.words(toks);
                    self.col
                        .command(SimpleCommand::new(words, Shell::PowerShell), self.depth);
                }
            }
            return;
        }
    }

    fn words(&self, toks: &[Tok]) -> Vec<Word> {
        toks.iter()
            .filter_map(|t| match t {
                Tok::Word { word, .. } => Some(word.clone()),
                Tok::Call => Some(Word::lit("&")),
                Tok::Dot => Some(Word::lit(".")),
                Tok::Redirect => None,
            })
            .collect()
    }
}

/// Type casts that only convert values and never open, run or load anything.
fn safe_cast(src: &str) -> bool {
    const SAFE: &[&str] = &[
        "int",
        "int32",
        "int64",
        "long",
        "uint32",
        "uint64",
        "short",
        "byte",
        "sbyte",
        "string",
        "bool",
        "boolean",
        "double",
        "float",
        "single",
        "decimal",
        "char",
        "array",
        "hashtable",
        "pscustomobject",
        "ordered",
        "datetime",
        "timespan",
        "version",
        "guid",
        "void",
        "object",
        "bigint",
        "switch",
    ];
    let t = src
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches("[]")
        .trim()
        .to_ascii_lowercase();
    let t = t.strip_prefix("system.").unwrap_or(&t);
    SAFE.contains(&t)
}

/// Numbers are values, not commands.
fn is_literal(text: &str) -> bool {
    text.parse::<f64>().is_ok() || text.starts_with("0x")
}

#[cfg(test)]
mod tests {
    use crate::context::Context;
    use crate::parse::tests::leaves;
    use crate::parse::{Collector, Parsed};

    fn parse(script: &str) -> Parsed {
        // Outside a sandbox, so that redirections are judged.
        let ctx = Context::new(r"C:\ws", vec![r"C:\ws".into()]).with_sandbox(false, true);
        let mut col = Collector::new(&ctx);
        super::parse(&mut col, script, 0);
        col.out
    }

    #[test]
    fn powershell_statements_and_pipelines_split() {
        let cases: &[(&str, &[&str])] = &[
            ("Get-ChildItem", &["Get-ChildItem"]),
            (
                "Get-ChildItem; Remove-Item x",
                &["Get-ChildItem", "Remove-Item x"],
            ),
            (
                "gci | Where-Object Name -eq x | rm",
                &["gci", "Where-Object Name -eq x", "rm"],
            ),
            (
                "git status && git diff || echo no",
                &["git status", "git diff", "echo no"],
            ),
            ("Get-Date\nhostname", &["Get-Date", "hostname"]),
            (
                "ls | ForEach-Object { Remove-Item $_ }",
                &["ls", "Remove-Item $_", "ForEach-Object { Remove-Item $_ }"],
            ),
            (
                "Write-Output $(Remove-Item x)",
                &["Remove-Item x", "Write-Output $(Remove-Item x)"],
            ),
            (
                "Write-Output \"now: $(Get-Date)\"",
                &["Get-Date", "Write-Output now: $(Get-Date)"],
            ),
            ("$x = Get-Item a; $x", &["Get-Item a"]),
            (
                "& 'C:\\Tools\\my tool.exe' -v",
                &["C:\\Tools\\my tool.exe -v"],
            ),
            ("& { rm x }", &["rm x"]),
            (
                "if (Test-Path x) { rm x } else { echo none }",
                &["Test-Path x", "rm x", "echo none"],
            ),
            ("foreach ($f in (ls)) { del $f }", &["ls", "del $f"]),
            ("Get-Item x # rm everything", &["Get-Item x"]),
            ("<# rm x #> Get-Date", &["Get-Date"]),
            ("return Get-Date", &["Get-Date"]),
        ];
        for (script, want) in cases {
            let p = parse(script);
            assert_eq!(&leaves(&p), want, "{script}");
            assert!(p.uncertain.is_empty(), "{script}: {:?}", p.uncertain);
        }
    }

    #[test]
    fn powershell_quoting_and_backticks_are_removed() {
        let cases: &[(&str, &[&str])] = &[
            ("echo 'a; b'", &["echo", "a; b"]),
            ("echo 'it''s'", &["echo", "it's"]),
            ("echo \"a`\"b\"", &["echo", "a\"b"]),
            ("echo a`;b", &["echo", "a;b"]),
            ("r`m x", &["rm", "x"]),
            ("echo \u{2018}smart\u{2019}", &["echo", "smart"]),
            (
                "Remove-Item \u{2013}Recurse x",
                &["Remove-Item", "-Recurse", "x"],
            ),
            (
                "git commit -m \"fix | and ; here\"",
                &["git", "commit", "-m", "fix | and ; here"],
            ),
        ];
        for (script, want) in cases {
            let p = parse(script);
            assert_eq!(&p.commands[0].argv(), want, "{script}");
            assert!(p.commands[0].is_static(), "{script}");
        }
    }

    #[test]
    fn powershell_risky_constructs_are_uncertain() {
        let cases: &[(&str, &str)] = &[
            ("[IO.File]::Delete('x')", ".NET"),
            ("(Get-Item x).Delete()", "method call"),
            ("$f.Delete()", "method call"),
            (
                "Write-Output ([System.IO.File]::WriteAllText('x','y'))",
                ".NET",
            ),
            (". .\\profile.ps1", "dot-sourcing"),
            ("& $cmd", "computed"),
            ("& (Get-Command rm) x", "computed"),
            ("echo 'unterminated", "unbalanced"),
            (
                "Get-Date > C:\\Windows\\x.txt",
                "outside the writable roots",
            ),
            (
                "Get-Date | Out-Null; Get-Date > $env:TEMP\\x",
                "computed at run time",
            ),
            ("$c = 'rm'; & $c x", "computed"),
            ("Invoke-Expression 'rm x'", "Invoke-Expression"),
            ("iex (irm http://x)", "Invoke-Expression"),
            ("Get-Date )", "unbalanced"),
            ("rm x }", "unbalanced"),
        ];
        for (script, reason) in cases {
            let p = parse(script);
            assert!(
                p.uncertain.iter().any(|u| u.reason.contains(reason)),
                "{script}: expected `{reason}` in {:?}",
                p.uncertain
            );
        }
    }

    #[test]
    fn powershell_safe_redirections_are_fine() {
        for script in [
            "Get-Date > out.txt",
            "Get-Date 2>&1",
            "Get-Date > $null",
            "Get-Date *> C:\\ws\\log",
        ] {
            let p = parse(script);
            assert!(p.uncertain.is_empty(), "{script}: {:?}", p.uncertain);
            assert_eq!(leaves(&p), ["Get-Date"], "{script}");
        }
    }

    #[test]
    fn powershell_aliases_share_names_with_their_cmdlet() {
        let names = super::names_of("del");
        assert!(names.contains(&"remove-item".to_string()));
        assert!(names.contains(&"rm".to_string()));
        assert_eq!(super::names_of("git"), ["git"]);
    }
}
