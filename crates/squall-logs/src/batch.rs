//! Records as the reader hands them to the workers: a buffer of one file's raw bytes and where
//! each record sits in it. Its own module because the reader, the parsed record and the
//! warnings all place a record by it, and none of them should depend on another for that.

/// Where one raw record sits in a batch and in its file.
#[derive(Debug, Clone, Copy)]
pub struct RawRef {
    pub start: usize,
    pub end: usize,
    /// 0-based position of the record in its file.
    pub index: u64,
    /// Byte offset of the record in the decompressed file.
    pub offset: u64,
    /// 1-based line, for JSON Lines input.
    pub line: Option<u64>,
}

/// Records copied out of one file, ready for a worker.
#[derive(Debug, Default)]
pub struct Batch {
    /// Which input (index into the discovered inputs).
    pub file: usize,
    pub buf: Vec<u8>,
    pub records: Vec<RawRef>,
}

impl Batch {
    pub fn record(&self, r: &RawRef) -> &[u8] {
        &self.buf[r.start..r.end]
    }
}
