//! Compares the hand PowerShell tokenizer of paddock-rules with tree-sitter-powershell on the
//! corpus's PowerShell lines and on the random inputs of `parser_bounds`: which program names
//! each finds, time per line, and whether it stays bounded. Prints the figures docs/rules.md
//! quotes; a measurement, not a test.

use paddock_rules::context::Context;
use paddock_rules::parse::parse_argv;
use std::time::{Duration, Instant};

/// Program names (lower case, extension and path stripped) the hand parser finds in `line`,
/// without the `pwsh` wrapper itself.
fn hand(line: &str) -> Vec<String> {
    let ctx = Context::new(r"C:\ws", vec![r"C:\ws".into()]);
    let argv = ["pwsh", "-NoProfile", "-Command", line].map(String::from);
    parse_argv(&argv, &ctx)
        .commands
        .iter()
        .filter_map(|c| c.argv().first().map(|p| norm(p)))
        .filter(|p| p != "pwsh")
        .collect()
}

/// The same from the grammar: the `command_name` of every `command` node. A tree with an
/// ERROR or MISSING node is reported as such (the hand parser asks on what it cannot read).
fn grammar(parser: &mut tree_sitter::Parser, line: &str) -> (Vec<String>, bool) {
    let Some(tree) = parser.parse(line, None) else {
        return (Vec::new(), true);
    };
    let mut names = Vec::new();
    let mut cursor = tree.walk();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.kind() == "command"
            && let Some(name) = node.child_by_field_name("command_name")
        {
            names.push(norm(&line[name.byte_range()]));
        }
        let children: Vec<_> = node.children(&mut cursor).collect();
        stack.extend(children.into_iter().rev());
    }
    (names, tree.root_node().has_error())
}

fn norm(p: &str) -> String {
    let p = p.trim_matches(|c| c == '\'' || c == '"');
    let base = p
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(p)
        .to_ascii_lowercase();
    base.strip_suffix(".exe").unwrap_or(&base).to_string()
}

/// xorshift64*, the generator and alphabet of tests/parser_bounds.rs.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }
}

fn main() {
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_powershell::LANGUAGE.into())
        .expect("grammar loads");
    let corpus = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../crates/paddock-rules/tests/corpus/lines.tsv"
    ))
    .expect("corpus");
    let lines: Vec<String> = corpus
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let cols: Vec<&str> = l.splitn(5, '\t').collect();
            (cols.len() == 5 && cols[3] == "pwsh").then(|| cols[4].replace('⏎', "\n"))
        })
        .collect();
    let (mut same, mut errors) = (0, 0);
    let (mut t_hand, mut t_grammar) = (Vec::new(), Vec::new());
    for line in &lines {
        let start = Instant::now();
        let h = hand(line);
        t_hand.push(start.elapsed());
        let start = Instant::now();
        let (g, err) = grammar(&mut parser, line);
        t_grammar.push(start.elapsed());
        errors += usize::from(err);
        if err {
            println!(
                "grammar tree with errors: {}",
                line.chars().take(60).collect::<String>()
            );
        }
        if h == g {
            same += 1;
        } else {
            println!(
                "differs: {}\n  hand:    {h:?}\n  grammar: {g:?}{}",
                line.chars().take(80).collect::<String>(),
                if err { " (tree has errors)" } else { "" }
            );
        }
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    println!(
        "corpus: {} PowerShell lines, same program names on {same}, grammar tree with errors on {errors}",
        lines.len()
    );
    println!(
        "corpus per line, median (first call included in the max): hand {:?} (max {:?}), grammar {:?} (max {:?})",
        median(&mut t_hand),
        t_hand.last().copied().unwrap_or_default(),
        median(&mut t_grammar),
        t_grammar.last().copied().unwrap_or_default()
    );
    let alphabet = [
        "a", " ", ";", "|", "(", ")", "{", "}", "$(", "@(", "'", "\"", "`", "&", "-c", "iex", "\n",
        "$x", "=", ",", "[", "]", ".", "--%", "#", "<#", "#>",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut worst_hand, mut worst_grammar) = (Duration::ZERO, Duration::ZERO);
    let (mut t_hand, mut t_grammar, mut errors) = (Duration::ZERO, Duration::ZERO, 0);
    let count = 2000;
    for _ in 0..count {
        let script: String = (0..rng.below(400))
            .map(|_| alphabet[rng.below(alphabet.len())])
            .collect();
        let start = Instant::now();
        let _ = hand(&script);
        let e = start.elapsed();
        t_hand += e;
        worst_hand = worst_hand.max(e);
        let start = Instant::now();
        let (_, err) = grammar(&mut parser, &script);
        let e = start.elapsed();
        t_grammar += e;
        worst_grammar = worst_grammar.max(e);
        errors += usize::from(err);
    }
    println!(
        "random ({count} scripts, up to 400 tokens): hand mean {:?} worst {:?}; grammar mean {:?} worst {:?}, {errors} trees with errors",
        t_hand / count,
        worst_hand,
        t_grammar / count,
        worst_grammar
    );
    for depth in [64, 1_000, 10_000] {
        let deep = format!("{}x{}", "$(".repeat(depth), ")".repeat(depth));
        let start = Instant::now();
        let (_, err) = grammar(&mut parser, &deep);
        println!(
            "nesting {depth}: grammar {:?} (errors: {err}); hand {:?}",
            start.elapsed(),
            {
                let s = Instant::now();
                let _ = hand(&deep);
                s.elapsed()
            }
        );
    }
}
