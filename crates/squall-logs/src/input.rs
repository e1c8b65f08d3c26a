//! Finding log files, opening them whatever their compression, and cutting them into batches of
//! raw records for the workers.

use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::batch::{Batch, RawRef};
use crate::record::unwrap_lookup_event;
use crate::split::{Piece, ProblemKind, Splitter, Wrapper};
use crate::warning::{SkipReason, Warning};

/// File endings read when walking a directory; files named on the command line are always read.
const LOG_EXTENSIONS: &[&str] = &["json", "jsonl", "ndjson", "log", "gz", "zst", "txt"];

/// A batch holds about this many bytes of records.
const BATCH_BYTES: usize = 1 << 20;
/// ...or this many records, whichever comes first.
const BATCH_RECORDS: usize = 4096;

/// One thing to read: a file, or standard input (`-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// `None` for standard input.
    pub path: Option<PathBuf>,
    /// How the input is named in messages and evidence.
    pub name: String,
    /// Bytes on disk, when known.
    pub size: Option<u64>,
}

/// The result of walking the paths given on the command line.
#[derive(Debug, Default)]
pub struct Discovery {
    pub inputs: Vec<Input>,
    /// CloudTrail digest files: integrity data, not events; passed over without a warning.
    pub digests: Vec<PathBuf>,
    pub warnings: Vec<Warning>,
}

/// Expands directories (recursively) into their log files, in a stable order.
pub fn discover(paths: &[PathBuf]) -> Discovery {
    let mut found = Discovery::default();
    for path in paths {
        if path.as_os_str() == "-" {
            found.inputs.push(Input {
                path: None,
                name: "-".into(),
                size: None,
            });
            continue;
        }
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                let mut files: Vec<(PathBuf, u64)> = Vec::new();
                for entry in walkdir::WalkDir::new(path).follow_links(true) {
                    match entry {
                        Ok(e) if is_special(e.file_type()) => {
                            found.warnings.push(special_file(e.path().display()));
                        }
                        Ok(e) if e.file_type().is_file() => {
                            let has_log_ext = e
                                .path()
                                .extension()
                                .and_then(|x| x.to_str())
                                .is_some_and(|x| {
                                    LOG_EXTENSIONS.contains(&x.to_ascii_lowercase().as_str())
                                });
                            if has_log_ext {
                                let size = e.metadata().map(|m| m.len()).unwrap_or(0);
                                files.push((e.into_path(), size));
                            }
                        }
                        Ok(_) => {}
                        Err(err) => found.warnings.push(Warning::file(
                            err.path().unwrap_or(path).display().to_string(),
                            SkipReason::Unreadable,
                            err.to_string(),
                        )),
                    }
                }
                files.sort();
                for (file, size) in files {
                    found.push_file(file, Some(size));
                }
            }
            Ok(meta) if is_special(meta.file_type()) => {
                found.warnings.push(special_file(path.display()))
            }
            Ok(meta) => found.push_file(path.clone(), Some(meta.len())),
            Err(err) => found.warnings.push(Warning::file(
                path.display().to_string(),
                SkipReason::Unreadable,
                format!("{err} (help: check the path)"),
            )),
        }
    }
    found
}

impl Discovery {
    fn push_file(&mut self, path: PathBuf, size: Option<u64>) {
        if is_digest_path(&path) {
            self.digests.push(path);
            return;
        }
        self.inputs.push(Input {
            name: path.display().to_string(),
            path: Some(path),
            size,
        });
    }
}

/// A FIFO, socket or device: opening a FIFO blocks until a writer comes, and `/dev/zero` or
/// `/dev/urandom` never end, so these are refused by type before anything opens them. Standard
/// input (`-`) is the one stream Squall reads, and only when asked for by that name.
fn is_special(kind: std::fs::FileType) -> bool {
    !kind.is_file() && !kind.is_dir() && !kind.is_symlink()
}

fn special_file(name: impl ToString) -> Warning {
    Warning::file(
        name.to_string(),
        SkipReason::SpecialFile,
        "not a regular file (a FIFO, socket or device); not opened \
         (help: copy the log to a file, or pipe it to standard input as `-`)",
    )
}

/// Opens a regular file, refusing anything else by type: the check runs before `open`, which
/// would block on a FIFO, and again on the opened handle, in case the path changed in between.
fn open_regular(path: &Path) -> io::Result<File> {
    let refuse = || {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file (a FIFO, socket or device); not opened",
        )
    };
    if !std::fs::metadata(path)?.file_type().is_file() {
        return Err(refuse());
    }
    let file = File::open(path)?;
    if !file.metadata()?.file_type().is_file() {
        return Err(refuse());
    }
    Ok(file)
}

/// CloudTrail writes digests under `CloudTrail-Digest/` and names them `*_CloudTrail-Digest_*`.
fn is_digest_path(path: &Path) -> bool {
    path.to_string_lossy().contains("CloudTrail-Digest")
}

/// Counts bytes as they come off the disk, for progress reporting.
struct Counting<R> {
    inner: R,
    counter: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Opens an input and undoes its compression, recognised by content rather than by name
/// (S3 objects are sometimes gzip without `.gz`, or the reverse).
pub fn open(input: &Input, disk_bytes: Arc<AtomicU64>) -> io::Result<Box<dyn Read + Send>> {
    let raw: Box<dyn Read + Send> = match &input.path {
        Some(p) => Box::new(open_regular(p)?),
        None => Box::new(io::stdin()),
    };
    decompress(raw, disk_bytes)
}

/// The SHA-256 and size of a file's bytes as stored, taken from the very bytes a read parsed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileDigest {
    pub sha256: String,
    pub size: u64,
}

/// Feeds every byte read from the file into a shared hash, below any decompression buffer.
struct Hashing<R> {
    inner: R,
    state: Arc<std::sync::Mutex<(sha2::Sha256, u64)>>,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.read(buf)?;
        let mut state = self.state.lock().expect("hash state");
        state.0.update(&buf[..n]);
        state.1 += n as u64;
        Ok(n)
    }
}

/// [`read_input`] for a file whose digest must be known: the digest is of the bytes this read
/// parsed (not of a second read that could see another file), completed with whatever the
/// parse left unread. A file swapped or rewritten between two reads cannot pass for the
/// original: what was parsed is what was hashed.
pub fn read_input_hashed(
    input: &Input,
    file: usize,
    options: ReadOptions,
    disk_bytes: Arc<AtomicU64>,
    on_batch: &mut dyn FnMut(Batch),
    on_warning: &mut dyn FnMut(Warning),
) -> io::Result<(FileTotals, FileDigest)> {
    let path = input.path.as_deref().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "standard input has no digest")
    })?;
    let opened = open_regular(path)?;
    // A second handle on the same open file (same offset), to hash what the parse left.
    let mut rest = opened.try_clone()?;
    let state = Arc::new(std::sync::Mutex::new((sha2::Sha256::default(), 0u64)));
    let hashing = Hashing {
        inner: opened,
        state: state.clone(),
    };
    let reader = decompress(Box::new(hashing), disk_bytes)?;
    let totals = read_from(input, reader, file, options, on_batch, on_warning);
    let mut tail = Hashing {
        inner: &mut rest,
        state: state.clone(),
    };
    io::copy(&mut tail, &mut io::sink())?;
    let (hasher, size) = std::mem::take(&mut *state.lock().expect("hash state"));
    use sha2::Digest;
    let sha256 = format!("{:x}", hasher.finalize());
    Ok((totals, FileDigest { sha256, size }))
}

fn decompress(
    raw: Box<dyn Read + Send>,
    disk_bytes: Arc<AtomicU64>,
) -> io::Result<Box<dyn Read + Send>> {
    let mut raw = Counting {
        inner: raw,
        counter: disk_bytes,
    };
    let mut head = [0u8; 4];
    let mut n = 0;
    while n < head.len() {
        match raw.read(&mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    let stream = Cursor::new(head[..n].to_vec()).chain(raw);
    Ok(match &head[..n] {
        [0x1f, 0x8b, ..] => Box::new(flate2::read::MultiGzDecoder::new(
            io::BufReader::with_capacity(256 << 10, stream),
        )),
        [0x28, 0xb5, 0x2f, 0xfd] => Box::new(zstd::Decoder::new(stream)?),
        _ => Box::new(stream),
    })
}

/// What reading one file produced besides its batches.
#[derive(Debug, Default, Clone, Copy)]
pub struct FileTotals {
    pub records: u64,
    /// Decompressed bytes.
    pub bytes: u64,
}

/// Options for reading.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// The largest single record accepted; bounds memory.
    pub max_record: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            max_record: 256 << 20,
        }
    }
}

/// Reads one input to the end, handing over full batches and reporting every problem with its
/// position. Records before a problem are never lost: they are already in a batch.
pub fn read_input(
    input: &Input,
    file: usize,
    options: ReadOptions,
    disk_bytes: Arc<AtomicU64>,
    on_batch: &mut dyn FnMut(Batch),
    on_warning: &mut dyn FnMut(Warning),
) -> FileTotals {
    let reader = match open(input, disk_bytes) {
        Ok(r) => r,
        Err(e) => {
            let special = input
                .path
                .as_deref()
                .and_then(|p| std::fs::metadata(p).ok())
                .is_some_and(|m| is_special(m.file_type()));
            on_warning(if special {
                special_file(&input.name)
            } else {
                Warning::file(&input.name, SkipReason::Unreadable, e.to_string())
            });
            return FileTotals::default();
        }
    };
    read_from(input, reader, file, options, on_batch, on_warning)
}

/// Splits an opened (decompressed) input into batches; see [`read_input`].
fn read_from(
    input: &Input,
    reader: Box<dyn Read + Send>,
    file: usize,
    options: ReadOptions,
    on_batch: &mut dyn FnMut(Batch),
    on_warning: &mut dyn FnMut(Warning),
) -> FileTotals {
    let mut splitter = Splitter::new(reader, options.max_record);
    let mut batch = Batch {
        file,
        ..Batch::default()
    };
    let mut index = 0u64;
    while let Some(piece) = splitter.next_piece() {
        match piece {
            Piece::Record {
                bytes,
                offset,
                line,
                wrapper,
            } => {
                let start = batch.buf.len();
                match wrapper {
                    Wrapper::Records => batch.buf.extend_from_slice(bytes),
                    Wrapper::LookupEvents => match unwrap_lookup_event(bytes) {
                        Ok(inner) => batch.buf.extend_from_slice(inner.as_bytes()),
                        Err(e) => {
                            on_warning(Warning {
                                file: input.name.clone(),
                                record: Some(index),
                                line,
                                offset: Some(offset),
                                reason: SkipReason::Malformed,
                                message: e.to_string(),
                            });
                            index += 1;
                            continue;
                        }
                    },
                }
                batch.records.push(RawRef {
                    start,
                    end: batch.buf.len(),
                    index,
                    offset,
                    line,
                });
                index += 1;
                if batch.buf.len() >= BATCH_BYTES || batch.records.len() >= BATCH_RECORDS {
                    let full = std::mem::replace(
                        &mut batch,
                        Batch {
                            file,
                            buf: Vec::with_capacity(BATCH_BYTES + (64 << 10)),
                            records: Vec::with_capacity(BATCH_RECORDS),
                        },
                    );
                    on_batch(full);
                }
            }
            Piece::Problem(p) => {
                let reason = match p.kind {
                    ProblemKind::NotJson => SkipReason::NotJson,
                    ProblemKind::Malformed(_) => SkipReason::Malformed,
                    ProblemKind::Truncated => SkipReason::Truncated,
                    ProblemKind::Read(_) => SkipReason::Unreadable,
                    ProblemKind::TooLarge(_) => SkipReason::TooLarge,
                };
                let counts_as_record = p.record;
                on_warning(Warning {
                    file: input.name.clone(),
                    record: counts_as_record.then_some(index),
                    line: p.line,
                    offset: Some(p.offset),
                    reason,
                    message: p.kind.to_string(),
                });
                if counts_as_record {
                    index += 1;
                }
            }
        }
    }
    if !batch.records.is_empty() {
        on_batch(batch);
    }
    FileTotals {
        records: index,
        bytes: splitter.bytes_read(),
    }
}
