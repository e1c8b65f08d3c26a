//! Correlation inputs held for the time-ordered correlation pass, in bounded memory.
//!
//! Every match of a rule that feeds a correlation must be replayed in event-time order after all
//! files are read, and a large trail has millions of them (every use of a long-term key feeds
//! the built-in "more than one source address" correlation). Each worker holds its inputs in
//! memory up to a budget; past it, it sorts them and writes them to an anonymous temporary file
//! as one sorted run. The correlation pass merges the runs and what is still in memory, in time
//! order. Memory is then the budget plus one read buffer per run, whatever the corpus size; the
//! order, and so every result, is that of sorting everything in memory.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use rsigma_eval::{Event, EventValue};

/// Memory held by all workers' correlation inputs before they go to disk.
pub const MEMORY_BUDGET: usize = 64 << 20;

/// A match held for the correlation pass: small on purpose, there may be millions. The record
/// is found again by (file, index) when it fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrInput {
    pub millis: i64,
    pub index: u64,
    /// The route's correlation fields, each as a presence byte (`1`/`0`) and the value, each
    /// followed by [`FIELD_SEP`].
    pub values: Box<str>,
    pub file: u32,
    /// Which of the route's correlation inputs matched.
    pub rule: u16,
    pub route: u8,
}

/// Where an input comes in the replay: see [`CorrInput::key`].
type ReplayKey = (i64, u32, u64, u8, u16);

/// Ends each field in [`CorrInput::values`].
pub const FIELD_SEP: char = '\u{1f}';

/// Packs a record's values of the correlation fields, the way [`CorrInput::values`] holds
/// them: a field's text (the first one, for a list), or absent.
pub fn pack(record: &impl Event, fields: &[String]) -> Box<str> {
    fn text(v: &EventValue<'_>) -> Option<String> {
        match v {
            EventValue::Array(items) => items.iter().find_map(text),
            other => other.as_str().map(|s| s.into_owned()),
        }
    }
    let mut packed = String::new();
    for field in fields {
        match record.get_field(field).and_then(|v| text(&v)) {
            Some(v) => {
                packed.push('1');
                packed.push_str(&v);
            }
            None => packed.push('0'),
        }
        packed.push(FIELD_SEP);
    }
    packed.into_boxed_str()
}

impl CorrInput {
    /// The replay order: event time, then where the record is, then which rule; unique, so the
    /// order does not depend on which worker saw what.
    fn key(&self) -> ReplayKey {
        (self.millis, self.file, self.index, self.route, self.rule)
    }

    /// What holding it costs.
    fn size(&self) -> usize {
        std::mem::size_of::<CorrInput>() + self.values.len()
    }

    /// The packed values, one per correlation field; `None` for a field the record lacks.
    pub fn fields(&self) -> impl Iterator<Item = Option<&str>> {
        let packed = self.values.strip_suffix(FIELD_SEP).unwrap_or(&self.values);
        packed
            .split(FIELD_SEP)
            .filter(move |_| !self.values.is_empty())
            .map(|f| f.strip_prefix('1'))
    }

    fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        out.write_all(&self.millis.to_le_bytes())?;
        out.write_all(&self.index.to_le_bytes())?;
        out.write_all(&self.file.to_le_bytes())?;
        out.write_all(&self.rule.to_le_bytes())?;
        out.write_all(&[self.route])?;
        out.write_all(&(self.values.len() as u32).to_le_bytes())?;
        out.write_all(self.values.as_bytes())
    }

    /// The next input of a run, or `None` at its end.
    fn read(input: &mut impl Read) -> std::io::Result<Option<CorrInput>> {
        let mut head = [0u8; 27];
        match input.read_exact(&mut head) {
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            other => other?,
        }
        let le8 = |at: usize| <[u8; 8]>::try_from(&head[at..at + 8]).expect("8 bytes");
        let le4 = |at: usize| <[u8; 4]>::try_from(&head[at..at + 4]).expect("4 bytes");
        let mut values = vec![0u8; u32::from_le_bytes(le4(23)) as usize];
        input.read_exact(&mut values)?;
        let values = String::from_utf8(values)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        Ok(Some(CorrInput {
            millis: i64::from_le_bytes(le8(0)),
            index: u64::from_le_bytes(le8(8)),
            file: u32::from_le_bytes(le4(16)),
            rule: u16::from_le_bytes([head[20], head[21]]),
            route: head[22],
            values: values.into_boxed_str(),
        }))
    }
}

/// One worker's held inputs: in memory up to its budget, the rest in sorted runs on disk.
pub struct Held {
    memory: Vec<CorrInput>,
    bytes: usize,
    budget: usize,
    runs: Vec<File>,
    /// Inputs written to disk, for the run summary.
    pub spilled: u64,
}

impl Held {
    /// Holds up to `budget` bytes in memory.
    pub fn new(budget: usize) -> Held {
        Held {
            memory: Vec::new(),
            bytes: 0,
            budget,
            runs: Vec::new(),
            spilled: 0,
        }
    }

    pub fn push(&mut self, input: CorrInput) {
        self.bytes += input.size();
        self.memory.push(input);
        if self.bytes > self.budget {
            self.spill();
        }
    }

    /// Writes what is in memory as one sorted run. If the temporary file cannot be written
    /// (no space), the inputs stay in memory: the hunt stays exact and only uses more memory.
    fn spill(&mut self) {
        self.memory.sort_unstable_by_key(CorrInput::key);
        let written = (|| -> std::io::Result<File> {
            let mut out = BufWriter::with_capacity(1 << 16, tempfile::tempfile()?);
            for input in &self.memory {
                input.write(&mut out)?;
            }
            let mut file = out.into_inner().map_err(|e| e.into_error())?;
            file.seek(SeekFrom::Start(0))?;
            Ok(file)
        })();
        match written {
            Ok(file) => {
                self.runs.push(file);
                self.spilled += self.memory.len() as u64;
                self.memory = Vec::new();
                self.bytes = 0;
            }
            // Try again only once as much is held again.
            Err(_) => self.budget = self.budget.saturating_mul(2),
        }
    }

    /// Inputs held in memory now.
    pub fn in_memory(&self) -> usize {
        self.memory.len()
    }
}

/// One sorted source for the merge.
enum Run {
    Memory(std::vec::IntoIter<CorrInput>),
    Disk(BufReader<File>),
}

impl Run {
    fn next(&mut self) -> Option<CorrInput> {
        match self {
            Run::Memory(it) => it.next(),
            Run::Disk(r) => CorrInput::read(r).unwrap_or_else(|e| {
                panic!("reading back held correlation inputs from a temporary file failed: {e}")
            }),
        }
    }
}

/// Every worker's held inputs, in replay order.
pub struct Merge {
    runs: Vec<Run>,
    heads: BinaryHeap<Reverse<(ReplayKey, usize)>>,
    next: Vec<Option<CorrInput>>,
}

impl Merge {
    pub fn new(held: Vec<Held>) -> Merge {
        let mut runs = Vec::new();
        for mut h in held {
            h.memory.sort_unstable_by_key(CorrInput::key);
            runs.push(Run::Memory(h.memory.into_iter()));
            runs.extend(
                h.runs
                    .into_iter()
                    .map(|f| Run::Disk(BufReader::with_capacity(1 << 16, f))),
            );
        }
        let mut merge = Merge {
            heads: BinaryHeap::with_capacity(runs.len()),
            next: Vec::with_capacity(runs.len()),
            runs,
        };
        for i in 0..merge.runs.len() {
            merge.next.push(None);
            merge.advance(i);
        }
        merge
    }

    fn advance(&mut self, run: usize) {
        if let Some(input) = self.runs[run].next() {
            self.heads.push(Reverse((input.key(), run)));
            self.next[run] = Some(input);
        }
    }
}

impl Iterator for Merge {
    type Item = CorrInput;
    fn next(&mut self) -> Option<CorrInput> {
        let Reverse((_, run)) = self.heads.pop()?;
        let input = self.next[run].take().expect("a head has its input");
        self.advance(run);
        Some(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(millis: i64, file: u32, index: u64, values: &str) -> CorrInput {
        CorrInput {
            millis,
            index,
            values: values.into(),
            file,
            rule: (index % 3) as u16,
            route: (index % 2) as u8,
        }
    }

    #[test]
    fn inputs_past_the_budget_go_to_disk_and_come_back_in_time_order() {
        // Three workers with a budget of a few inputs each: most inputs are spilled.
        let mut held: Vec<Held> = (0..3).map(|_| Held::new(300)).collect();
        let mut all = Vec::new();
        let mut seed = 7u64;
        for i in 0..2_000u64 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let millis = (seed >> 33) as i64 % 5_000 - 100; // ties and negative times too
            let values = format!("1198.51.100.{}{FIELD_SEP}0{FIELD_SEP}", seed % 7);
            let c = input(millis, (seed % 4) as u32, i, &values);
            all.push(c.clone());
            held[(seed % 3) as usize].push(c);
        }
        assert!(held.iter().all(|h| h.spilled > 0 && h.in_memory() < 10));
        all.sort_by_key(CorrInput::key);
        let merged: Vec<CorrInput> = Merge::new(held).collect();
        assert_eq!(merged, all);
    }

    #[test]
    fn packed_fields_read_back_with_presence() {
        let c = input(0, 0, 0, &format!("1a{FIELD_SEP}0{FIELD_SEP}1{FIELD_SEP}"));
        let fields: Vec<_> = c.fields().collect();
        assert_eq!(fields, vec![Some("a"), None, Some("")]);
        assert_eq!(input(0, 0, 0, "").fields().count(), 0);
    }
}
