//! The command-line corpus (`tests/corpus/lines.tsv`, described in its README): every line must
//! get exactly the verdict written beside it. Prints the routine prompt rate in the default mode
//! and a count per category, the numbers the issue note quotes.

use paddock_rules::context::Context;
use paddock_rules::judge::{Verdict, judge};
use paddock_rules::rules::engine::Engine;
use std::collections::BTreeMap;
use std::path::PathBuf;

struct Line {
    number: usize,
    category: String,
    context: String,
    verdict: Verdict,
    shell: String,
    text: String,
}

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn read_lines() -> Vec<Line> {
    let text = std::fs::read_to_string(corpus_dir().join("lines.tsv")).expect("corpus file");
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.starts_with('#') || raw.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = raw.splitn(5, '\t').collect();
        assert_eq!(cols.len(), 5, "line {}: five tab-separated columns", i + 1);
        let verdict = match cols[2] {
            "allow" => Verdict::Allow,
            "unknown" => Verdict::Unknown,
            "prompt" => Verdict::Prompt,
            "forbid" => Verdict::Forbid,
            other => panic!("line {}: unknown verdict `{other}`", i + 1),
        };
        out.push(Line {
            number: i + 1,
            category: cols[0].to_string(),
            context: cols[1].to_string(),
            verdict,
            shell: cols[3].to_string(),
            text: cols[4].replace('⏎', "\n"),
        });
    }
    out
}

fn argv(line: &Line) -> Vec<String> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mut a = match line.shell.as_str() {
        "bash" => s(&["bash", "-c"]),
        "cmd" => s(&["cmd", "/c"]),
        "pwsh" => s(&["pwsh", "-NoProfile", "-Command"]),
        "argv" => {
            return paddock_rules::shlex::split(&line.text)
                .unwrap_or_else(|e| panic!("line {}: {e}", line.number));
        }
        other => panic!("line {}: unknown shell `{other}`", line.number),
    };
    a.push(line.text.clone());
    a
}

fn context(line: &Line) -> Context {
    let windows = matches!(line.shell.as_str(), "cmd" | "pwsh");
    let ws = if windows { r"C:\ws" } else { "/work/ws" };
    let ctx = Context::new(ws, vec![PathBuf::from(ws)]);
    match line.context.as_str() {
        "default" => ctx.with_sandbox(true, false),
        "net" => ctx.with_sandbox(true, true),
        "full" => ctx.with_sandbox(false, true),
        other => panic!("line {}: unknown context `{other}`", line.number),
    }
}

fn show(text: &str) -> String {
    let one = text.replace('\n', "⏎");
    if one.len() > 100 {
        format!(
            "{}... ({} bytes)",
            &one[..one.floor_char_boundary(100)],
            one.len()
        )
    } else {
        one
    }
}

#[test]
fn every_corpus_line_gets_its_verdict() {
    let rules = std::fs::read_to_string(corpus_dir().join("rules.toml")).expect("corpus rules");
    let engine = Engine::from_texts(Some(&rules), None, false).expect("corpus rules load");
    let lines = read_lines();
    assert!(lines.len() >= 300, "the corpus holds {} lines", lines.len());
    let mut wrong = Vec::new();
    let mut per_category: BTreeMap<String, BTreeMap<&str, usize>> = BTreeMap::new();
    let (mut routine, mut routine_asked) = (0, 0);
    let mut false_safe = 0;
    for line in &lines {
        let j = judge(&engine, &argv(line), &context(line));
        *per_category
            .entry(format!("{} ({})", line.category, line.context))
            .or_default()
            .entry(j.verdict.as_str())
            .or_default() += 1;
        if line.category == "routine" && line.context == "default" {
            routine += 1;
            if j.verdict >= Verdict::Prompt {
                routine_asked += 1;
            }
        }
        if j.verdict == Verdict::Allow && line.verdict != Verdict::Allow {
            false_safe += 1;
        }
        if j.verdict != line.verdict {
            wrong.push(format!(
                "line {} [{} {} {}] `{}`: want {}, got {} ({})",
                line.number,
                line.category,
                line.context,
                line.shell,
                show(&line.text),
                line.verdict.as_str(),
                j.verdict.as_str(),
                show(&j.reason()),
            ));
        }
    }
    println!("corpus: {} lines", lines.len());
    println!(
        "routine prompt rate (default mode): {routine_asked}/{routine} = {:.1}%",
        100.0 * routine_asked as f64 / routine.max(1) as f64
    );
    println!("false known-safe: {false_safe}");
    for (cat, counts) in &per_category {
        let parts: Vec<String> = counts.iter().map(|(v, n)| format!("{v} {n}")).collect();
        println!("  {cat}: {}", parts.join(", "));
    }
    assert!(
        wrong.is_empty(),
        "{} of {} lines got another verdict:\n{}",
        wrong.len(),
        lines.len(),
        wrong.join("\n")
    );
    assert_eq!(routine_asked, 0);
    assert_eq!(false_safe, 0);
}
