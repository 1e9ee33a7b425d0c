//! The file: an append-only log of JSON lines, each line one committed mutation.
//!
//! ```text
//! {"format":"portcullis-custom-backend","version":1}
//! [{"op":"put_user","user":{...}},{"op":"put_account","account":{...}}]
//! [{"op":"put_session","session":{"id":"...","token_hash":"9f86d0...",...}}]
//! [{"op":"delete_sessions","ids":["..."]}]
//! ```
//!
//! A mutation is acknowledged only after its line is written and `fsync`ed, so a crash
//! loses nothing acknowledged; a crash in the middle of a write leaves a last line without
//! its newline, which replay drops (it was never acknowledged). Opening replays the log into
//! memory and rewrites it compacted (a temporary file renamed over the old one), and so does
//! [`Log::compact`] when the log has grown well past the live data.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use portcullis_core::{StoreError, StoreResult};
use serde::{Deserialize, Serialize};

use crate::record::Entry;
use crate::state::State;

/// The first line of every file: what it is, and which version of the format.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
}

const FORMAT: &str = "portcullis-custom-backend";
const VERSION: u32 = 1;

/// The open log file, locked against other processes (and other backends in this one).
#[derive(Debug)]
pub(crate) struct Log {
    path: PathBuf,
    file: File,
    /// Bytes known to be complete lines: where a failed write is cut back to.
    len: u64,
    /// Lines appended since the last compaction.
    appended: usize,
    /// Set when a failed write could not be undone: the file's tail is unknown, so every
    /// further write is refused until the backend is reopened (which replays and repairs).
    broken: bool,
}

impl Log {
    /// Opens (or creates) the log at `path`, replays it, and rewrites it compacted.
    pub(crate) fn open(path: &Path) -> io::Result<(Self, State)> {
        let mut file = options().create(true).open(path)?;
        lock(&file, path)?;
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        let state = replay(&text, path)?;
        let mut log = Self {
            path: path.to_owned(),
            file,
            len: 0,
            appended: 0,
            broken: false,
        };
        log.compact(&state)?;
        Ok((log, state))
    }

    /// Writes one line holding `entries` and waits for it to reach the disk. On failure the
    /// line is cut off again, so the file ends with complete lines only.
    ///
    /// # Errors
    /// `Unavailable` when the write or the `fsync` fails (disk full, I/O error): the
    /// mutation did not happen and the caller answers 503.
    pub(crate) fn append(&mut self, entries: &[Entry]) -> StoreResult<()> {
        if self.broken {
            return Err(StoreError::unavailable(
                "an earlier write to the log failed and could not be undone; reopen the backend",
            ));
        }
        let mut line = serde_json::to_vec(entries).map_err(StoreError::backend)?;
        line.push(b'\n');
        let written = self.file.write_all(&line);
        let synced = written.and_then(|()| self.file.sync_data());
        match synced {
            Ok(()) => {
                self.len += line.len() as u64;
                self.appended += 1;
                Ok(())
            }
            Err(error) => {
                // After a failed fsync the kernel may have dropped the dirty pages, so what
                // reached the disk is unknown: cut back, and stop writing if even that fails.
                let undone = self
                    .file
                    .set_len(self.len)
                    .and_then(|()| self.file.sync_data());
                self.broken = undone.is_err();
                Err(StoreError::unavailable(error))
            }
        }
    }

    /// Whether the log holds so many superseded lines that rewriting it is worth a pause.
    pub(crate) fn wants_compaction(&self, live_records: usize) -> bool {
        self.appended > 1_000 && self.appended > 2 * live_records
    }

    /// Rewrites the log as the entries that rebuild `state`: written to a temporary file,
    /// `fsync`ed, then renamed over the log, so a crash leaves the old or the new file.
    pub(crate) fn compact(&mut self, state: &State) -> io::Result<()> {
        let tmp = tmp_path(&self.path);
        match std::fs::remove_file(&tmp) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
            _ => {}
        }
        let file = options().create_new(true).open(&tmp)?;
        let mut out = BufWriter::new(&file);
        let header = Header {
            format: FORMAT.to_owned(),
            version: VERSION,
        };
        serde_json::to_writer(&mut out, &header)?;
        out.write_all(b"\n")?;
        for entry in state.snapshot() {
            serde_json::to_writer(&mut out, &[entry])?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        drop(out);
        file.sync_all()?;
        lock(&file, &tmp)?;
        std::fs::rename(&tmp, &self.path)?;
        sync_parent_dir(&self.path)?;
        self.len = file.metadata()?.len();
        self.file = file; // the old file's lock is released as it closes
        self.appended = 0;
        self.broken = false;
        Ok(())
    }
}

/// Read and append, created readable and writable by its owner only: the log holds password
/// hashes and OAuth tokens.
fn options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.read(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

fn lock(file: &File, path: &Path) -> io::Result<()> {
    file.try_lock().map_err(|error| match error {
        TryLockError::WouldBlock => io::Error::new(
            io::ErrorKind::WouldBlock,
            format!("{} is already open in another FileBackend", path.display()),
        ),
        TryLockError::Error(error) => error,
    })
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// Makes a rename durable: the new directory entry is on disk, not only the file's data.
fn sync_parent_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn replay(text: &str, path: &Path) -> io::Result<State> {
    let mut state = State::default();
    let mut lines = text.split_inclusive('\n');
    let corrupt = |line: usize, what: String| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} line {line}: {what}", path.display()),
        )
    };
    match lines.next() {
        None => return Ok(state), // a new file
        Some(first) => {
            let header: Header = serde_json::from_str(first)
                .map_err(|error| corrupt(1, format!("not a {FORMAT} file ({error})")))?;
            if header.format != FORMAT || header.version != VERSION {
                return Err(corrupt(
                    1,
                    format!("unsupported format {} v{}", header.format, header.version),
                ));
            }
        }
    }
    for (index, line) in lines.enumerate() {
        if !line.ends_with('\n') {
            break; // torn by a crash mid-write; never acknowledged, so dropped
        }
        let entries: Vec<Entry> =
            serde_json::from_str(line).map_err(|error| corrupt(index + 2, error.to_string()))?;
        for entry in entries {
            state.apply(entry);
        }
    }
    Ok(state)
}
