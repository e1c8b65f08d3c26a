//! Rule files are input too: a `--rules` folder may come from anywhere (a shared repository, a
//! colleague's laptop, an attacker who can write to it). Whatever a file holds, loading it never
//! panics, and a file that yields no usable rule is reported by its path.
//!
//! The properties run 64 cases each by default, a few seconds in CI. For a longer pass:
//! `PROPTEST_CASES=20000 cargo test --release -p squall-detect --test fuzz_rules`.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use squall_detect::rules::{Origin, builtin_rules};
use squall_detect::{RuleSet, load};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

/// Loads one rule file from its own folder, as `--rules <folder>` would.
fn load_one(bytes: &[u8]) -> (RuleSet, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rule.yml");
    std::fs::write(&path, bytes).unwrap();
    let rules = load(&[dir.path().to_path_buf()], false, None);
    (rules, path, dir)
}

/// Every problem names the file it came from, and a file that gave no rule gave a problem.
fn check(rules: &RuleSet, path: &Path) -> Result<(), TestCaseError> {
    let used = rules.active_rules() + rules.other_logsources.values().sum::<usize>();
    // Nothing but comments and document markers is an empty file, not a broken one.
    let blank = std::fs::read(path).is_ok_and(|b| {
        String::from_utf8_lossy(&b).lines().all(|l| {
            let l = l.trim();
            l.is_empty() || l.starts_with('#') || l == "---" || l == "..."
        })
    });
    prop_assert!(
        used > 0 || blank || !rules.problems.is_empty(),
        "{} gave no rule and no problem",
        path.display()
    );
    for p in &rules.problems {
        prop_assert_eq!(&p.origin, &Origin::File(path.to_path_buf()), "{}", p);
        prop_assert!(p.to_string().contains(&path.display().to_string()));
    }
    Ok(())
}

/// Damage of the kinds YAML invites: anchors and aliases, tags, merge keys, flow brackets,
/// tabs, deep nesting, huge scalars, duplicate keys, invalid UTF-8, truncation.
#[derive(Debug, Clone)]
enum Damage {
    Truncate(usize),
    Insert(usize, &'static str),
    Byte(usize, u8),
    Nest(usize, usize),
    Huge(usize, usize),
    Repeat(usize),
}

const NASTY: &[&str] = &[
    "&a ",
    "*a",
    "*undefined",
    "!!binary ",
    "!<tag:yaml.org,2002:str> ",
    "<<: *a\n",
    "{",
    "}",
    "[",
    "]",
    "\t",
    ": ",
    "- ",
    "|\n",
    ">-\n",
    "'",
    "\"",
    "\\u0000",
    "\n---\n",
    "\n...\n",
    "%YAML 1.1\n",
    "title: again\n",
    "detection:\n  condition: 1 of them and not all of them\n",
    "condition: selection | count() by x > 5\n",
    "|re: '(((((((((('\n",
    "|cidr: 999.0.0.0/99\n",
    "timeframe: 99999999999999999999d\n",
    "\u{feff}",
    "\u{202e}",
];

fn damage() -> impl Strategy<Value = Damage> {
    let at = any::<usize>();
    prop_oneof![
        at.prop_map(Damage::Truncate),
        (at, prop::sample::select(NASTY)).prop_map(|(a, s)| Damage::Insert(a, s)),
        (at, any::<u8>()).prop_map(|(a, b)| Damage::Byte(a, b)),
        (at, prop_oneof![1usize..200, 200usize..20_000]).prop_map(|(a, n)| Damage::Nest(a, n)),
        (at, 1usize..100_000).prop_map(|(a, n)| Damage::Huge(a, n)),
        at.prop_map(Damage::Repeat),
    ]
}

fn apply(text: &mut Vec<u8>, d: &Damage) {
    let at = |a: usize, len: usize| a % (len + 1);
    match *d {
        Damage::Truncate(a) => text.truncate(at(a, text.len())),
        Damage::Insert(a, s) => {
            let i = at(a, text.len());
            text.splice(i..i, s.bytes());
        }
        Damage::Byte(a, b) if !text.is_empty() => {
            let i = a % text.len();
            text[i] = b;
        }
        Damage::Byte(..) => {}
        Damage::Nest(a, n) => {
            let i = at(a, text.len());
            let nest = format!("{}{}", "[".repeat(n), "]".repeat(n));
            text.splice(i..i, nest.into_bytes());
        }
        Damage::Huge(a, n) => {
            let i = at(a, text.len());
            text.splice(i..i, std::iter::repeat_n(b'x', n));
        }
        Damage::Repeat(a) => {
            let i = at(a, text.len());
            let head = text[..i].to_vec();
            text.extend_from_slice(&head);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_the_rule_loader(
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        let (rules, path, _dir) = load_one(&bytes);
        check(&rules, &path)?;
    }

    #[test]
    fn damaged_sigma_rules_never_panic_the_rule_loader(
        seed in 0..builtin_rules().count(),
        damages in prop::collection::vec(damage(), 1..5),
    ) {
        let (_, text) = builtin_rules().nth(seed).unwrap();
        let mut bytes = text.as_bytes().to_vec();
        for d in &damages {
            apply(&mut bytes, d);
        }
        let (rules, path, _dir) = load_one(&bytes);
        check(&rules, &path)?;
    }
}

/// A rule file that is not UTF-8, not YAML, or nested far beyond any rule is refused by name,
/// without a stack overflow.
#[test]
fn unusable_rule_files_are_named_in_an_error() {
    let deep = format!(
        "title: x\ndetection: {}{}\n",
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    for bytes in [
        b"\xff\xfe not utf-8".to_vec(),
        b"title: [unclosed\n".to_vec(),
        deep.into_bytes(),
    ] {
        let (rules, path, _dir) = load_one(&bytes);
        assert!(
            !rules.problems.is_empty(),
            "{:.40}",
            String::from_utf8_lossy(&bytes)
        );
        for p in &rules.problems {
            assert_eq!(p.origin, Origin::File(path.clone()), "{p}");
        }
        assert_eq!(rules.active_rules(), 0);
    }
}

/// Found by `damaged_sigma_rules_never_panic_the_rule_loader`: a correlation whose `rules:` key
/// is damaged (here `r[]ules:`) parses with no rules, is taken by every log route vacuously, and
/// is dropped with the route when no detection rule shares it: no rule, no problem, no word.
/// `rules::build` now names it.
#[test]
fn a_correlation_that_names_no_rule_is_reported() {
    let text = "title: Key used from two addresses\nid: 5e1f0000-0000-4000-8000-000000000001\n\
                correlation:\n  type: value_count\n  r[]ules:\n    - some_rule\n  \
                group-by:\n    - userIdentity.accessKeyId\n  timespan: 1h\n  condition:\n    \
                field: sourceIPAddress\n    gte: 2\nlevel: high\n";
    let (rules, path, _dir) = load_one(text.as_bytes());
    assert_eq!(rules.active_rules(), 0);
    assert!(
        rules
            .problems
            .iter()
            .any(|p| p.origin == Origin::File(path.clone())),
        "a correlation that names no rule must be reported"
    );
}
