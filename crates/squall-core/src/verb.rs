//! A Squall command that acts on resources, as `squall scope` prints it beside what a case
//! touched and `squall respond` shows it beside a step: shared so every provider's verbs are
//! printed, grouped and quoted the same way.

/// A Squall command that acts on resources: `contain aws instance ... --isolate`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Verb {
    /// The words before the resources (`contain aws instance`).
    pub words: &'static [&'static str],
    /// The flag each resource follows (`--group`), or none when resources are positional.
    pub each: Option<&'static str>,
    /// Flags that come with the verb (`--isolate`).
    pub flags: &'static [&'static str],
}

impl Verb {
    /// The command's words for these resources, without `squall`: the verb, its flags, the
    /// case, then the ids (after `--` when positional).
    pub fn argv<'a>(&self, case: &str, ids: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let mut argv: Vec<String> = self.words.iter().map(|w| w.to_string()).collect();
        argv.extend(self.flags.iter().map(|f| f.to_string()));
        argv.extend(["--case".to_string(), case.to_string()]);
        if self.each.is_none() {
            argv.push("--".to_string());
        }
        for id in ids {
            argv.extend(self.each.map(String::from));
            argv.push(id.to_string());
        }
        argv
    }
}

/// A verb whose resources are positional (after `--`), with its own flags.
pub const fn positional(words: &'static [&'static str], flags: &'static [&'static str]) -> Verb {
    Verb {
        words,
        each: None,
        flags,
    }
}
