//! The content-addressed blob store under `$GIT_COMMON_DIR/paddock/blobs/`: what turns read
//! and wrote, kept so a replay can restore the inputs exactly and compare the outputs.
//!
//! A blob lives at `blobs/<hex[..2]>/<hex>`, named by the BLAKE3 hash of its bytes and made
//! read-only. It is written to `blobs/tmp/` first and renamed into place, so a reader sees a
//! whole blob or none. Every read checks the bytes against the name: a blob that was edited in
//! place is refused, never handed out. Storing content whose blob exists but no longer matches
//! replaces the damaged blob.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Blobs this small stay in memory until they are stored; bigger ones spill to a temp file.
const SPILL_AT: usize = 1 << 20;

/// Errors of the blob store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// On which path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A hash is not `b3:` and 64 lowercase hex digits.
    #[error("{hash:?} is not a blob hash (`b3:` and 64 hex digits)")]
    BadHash {
        /// The text.
        hash: String,
    },
    /// The blob is not in the store.
    #[error("blob {hash} is missing from the blob store ({path})")]
    Missing {
        /// The hash.
        hash: String,
        /// Where it should be.
        path: PathBuf,
    },
    /// The blob's bytes no longer hash to its name: it was changed after it was stored.
    #[error(
        "blob {hash} is damaged: its bytes now hash to {actual} ({path}); it was changed after \
         it was stored, so it cannot be trusted"
    )]
    Corrupt {
        /// The hash it is stored under.
        hash: String,
        /// What its bytes hash to now.
        actual: String,
        /// The file.
        path: PathBuf,
    },
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Error + 'a {
    move |source| Error::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// A stored blob: its hash and size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobRef {
    /// `b3:` and the hex BLAKE3 hash.
    pub blake3: String,
    /// Size in bytes.
    pub size: u64,
}

/// The blob store of one repository.
#[derive(Debug, Clone)]
pub struct Blobs {
    dir: PathBuf,
    durable: bool,
}

/// `b3:<hex>` for a BLAKE3 hash.
pub fn format_hash(hash: &blake3::Hash) -> String {
    format!("b3:{}", hash.to_hex())
}

fn parse_hash(text: &str) -> Result<&str, Error> {
    match text.strip_prefix("b3:") {
        Some(hex)
            if hex.len() == 64
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) =>
        {
            Ok(hex)
        }
        _ => Err(Error::BadHash {
            hash: text.to_owned(),
        }),
    }
}

impl Blobs {
    /// The store in `dir`. With `durable`, each new blob and its directory entry are synced
    /// before it counts as stored (the ledger record that names it comes after).
    pub fn new(dir: impl Into<PathBuf>, durable: bool) -> Blobs {
        Blobs {
            dir: dir.into(),
            durable,
        }
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the blob named `hash` lives (whether or not it exists).
    pub fn path(&self, hash: &str) -> Result<PathBuf, Error> {
        let hex = parse_hash(hash)?;
        Ok(self.dir.join(&hex[..2]).join(hex))
    }

    /// A writer that hashes what it is given and stores it on [`Writer::finish`].
    pub fn writer(&self) -> Writer {
        Writer {
            blobs: self.clone(),
            hasher: blake3::Hasher::new(),
            buf: Vec::new(),
            spill: None,
            size: 0,
        }
    }

    /// Stores bytes.
    pub fn store_bytes(&self, bytes: &[u8]) -> Result<BlobRef, Error> {
        let mut writer = self.writer();
        writer.push(bytes)?;
        writer.finish()
    }

    /// Stores a file's current content.
    pub fn store_file(&self, path: &Path) -> Result<BlobRef, Error> {
        let mut file = File::open(path).map_err(io_err("cannot open", path))?;
        let mut writer = self.writer();
        let mut chunk = vec![0u8; 64 << 10];
        loop {
            let n = file.read(&mut chunk).map_err(io_err("cannot read", path))?;
            if n == 0 {
                break;
            }
            writer.push(&chunk[..n])?;
        }
        writer.finish()
    }

    /// Checks that the blob exists and still matches its name; returns its size.
    pub fn verify(&self, hash: &str) -> Result<u64, Error> {
        let path = self.path(hash)?;
        let (actual, size) = hash_file(&path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => Error::Missing {
                hash: hash.to_owned(),
                path: path.clone(),
            },
            _ => Error::Io {
                action: "cannot read",
                path: path.clone(),
                source,
            },
        })?;
        if actual != hash {
            return Err(Error::Corrupt {
                hash: hash.to_owned(),
                actual,
                path,
            });
        }
        Ok(size)
    }

    /// The blob's bytes, checked against its name.
    pub fn read(&self, hash: &str) -> Result<Vec<u8>, Error> {
        let path = self.path(hash)?;
        let bytes = fs::read(&path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => Error::Missing {
                hash: hash.to_owned(),
                path: path.clone(),
            },
            _ => Error::Io {
                action: "cannot read",
                path: path.clone(),
                source,
            },
        })?;
        let actual = format_hash(&blake3::hash(&bytes));
        if actual != hash {
            return Err(Error::Corrupt {
                hash: hash.to_owned(),
                actual,
                path,
            });
        }
        Ok(bytes)
    }

    /// Writes the blob's checked bytes to `target`, atomically (temp file beside it + rename).
    pub fn restore(&self, hash: &str, target: &Path) -> Result<(), Error> {
        let bytes = self.read(hash)?;
        let parent = target.parent().unwrap_or(Path::new("/"));
        fs::create_dir_all(parent).map_err(io_err("cannot create", parent))?;
        let mut temp = tempfile::Builder::new()
            .prefix(".paddock-restore-")
            .tempfile_in(parent)
            .map_err(io_err("cannot create a temp file in", parent))?;
        temp.write_all(&bytes)
            .map_err(io_err("cannot write", target))?;
        temp.persist(target).map_err(|e| Error::Io {
            action: "cannot replace",
            path: target.to_owned(),
            source: e.error,
        })?;
        Ok(())
    }

    fn tmp_dir(&self) -> Result<PathBuf, Error> {
        let tmp = self.dir.join("tmp");
        fs::create_dir_all(&tmp).map_err(io_err("cannot create", &tmp))?;
        Ok(tmp)
    }
}

/// Hashes a file as a blob name.
fn hash_file(path: &Path) -> io::Result<(String, u64)> {
    let mut file = File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    let size = io::copy(&mut file, &mut hasher)?;
    Ok((format_hash(&hasher.finalize()), size))
}

/// Hashes and collects bytes; [`Writer::finish`] stores them under their hash.
#[derive(Debug)]
pub struct Writer {
    blobs: Blobs,
    hasher: blake3::Hasher,
    buf: Vec<u8>,
    spill: Option<tempfile::NamedTempFile>,
    size: u64,
}

impl Writer {
    /// Adds bytes.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
        if let Some(spill) = &mut self.spill {
            return spill.write_all(bytes).map_err(|source| Error::Io {
                action: "cannot write",
                path: spill.path().to_owned(),
                source,
            });
        }
        self.buf.extend_from_slice(bytes);
        if self.buf.len() > SPILL_AT {
            let tmp = self.blobs.tmp_dir()?;
            let mut spill = tempfile::NamedTempFile::new_in(&tmp)
                .map_err(io_err("cannot create a temp file in", &tmp))?;
            spill
                .write_all(&self.buf)
                .map_err(io_err("cannot write a temp file in", &tmp))?;
            self.buf = Vec::new();
            self.spill = Some(spill);
        }
        Ok(())
    }

    /// Stores what was written; a blob already there that still matches is kept.
    pub fn finish(self) -> Result<BlobRef, Error> {
        let hash = format_hash(&self.hasher.finalize());
        let blob = BlobRef {
            blake3: hash.clone(),
            size: self.size,
        };
        let target = self.blobs.path(&hash)?;
        match hash_file(&target) {
            Ok((actual, _)) if actual == hash => return Ok(blob),
            // Missing, or damaged: (re)write it.
            _ => {}
        }
        let temp = match self.spill {
            Some(spill) => spill,
            None => {
                let tmp = self.blobs.tmp_dir()?;
                let mut temp = tempfile::NamedTempFile::new_in(&tmp)
                    .map_err(io_err("cannot create a temp file in", &tmp))?;
                temp.write_all(&self.buf)
                    .map_err(io_err("cannot write a temp file in", &tmp))?;
                temp
            }
        };
        let temp_path = temp.path().to_owned();
        temp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o444))
            .map_err(io_err("cannot make read-only", &temp_path))?;
        if self.blobs.durable {
            temp.as_file()
                .sync_all()
                .map_err(io_err("cannot sync", &temp_path))?;
        }
        let parent = target.parent().unwrap_or(&self.blobs.dir).to_owned();
        fs::create_dir_all(&parent).map_err(io_err("cannot create", &parent))?;
        temp.persist(&target).map_err(|e| Error::Io {
            action: "cannot store the blob",
            path: target.clone(),
            source: e.error,
        })?;
        if self.blobs.durable {
            // The rename is durable only once the directory is synced.
            File::open(&parent)
                .and_then(|d| d.sync_all())
                .map_err(io_err("cannot sync", &parent))?;
        }
        Ok(blob)
    }
}

impl Write for Writer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.push(bytes).map_err(io::Error::other)?;
        Ok(bytes.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn stores_verifies_and_refuses_tampering() {
        let dir = tempfile::tempdir().expect("temp dir");
        let blobs = Blobs::new(dir.path().join("blobs"), true);
        let blob = blobs.store_bytes(b"hello\n").expect("stored");
        assert_eq!(blob.size, 6);
        assert_eq!(blob.blake3, format_hash(&blake3::hash(b"hello\n")));
        assert_eq!(blobs.read(&blob.blake3).expect("read"), b"hello\n");
        assert_eq!(blobs.verify(&blob.blake3).expect("verify"), 6);

        let path = blobs.path(&blob.blake3).expect("path");
        assert_eq!(
            path.metadata().expect("meta").permissions().mode() & 0o777,
            0o444
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        fs::write(&path, b"HELLO\n").expect("tamper");
        assert!(matches!(
            blobs.read(&blob.blake3),
            Err(Error::Corrupt { .. })
        ));
        assert!(matches!(
            blobs.verify(&blob.blake3),
            Err(Error::Corrupt { .. })
        ));
        // Storing the content again repairs it.
        blobs.store_bytes(b"hello\n").expect("stored again");
        assert_eq!(blobs.read(&blob.blake3).expect("read"), b"hello\n");
    }

    #[test]
    fn missing_and_bad_hashes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let blobs = Blobs::new(dir.path(), false);
        let absent = format_hash(&blake3::hash(b"absent"));
        assert!(matches!(blobs.read(&absent), Err(Error::Missing { .. })));
        for bad in [
            "",
            "b3:",
            "b3:xyz",
            "sha1:00",
            &format!("b3:{}", "A".repeat(64)),
            "b3:../../etc/passwd",
        ] {
            assert!(
                matches!(blobs.path(bad), Err(Error::BadHash { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn big_blobs_spill_to_disk() {
        let dir = tempfile::tempdir().expect("temp dir");
        let blobs = Blobs::new(dir.path(), false);
        let big = vec![7u8; SPILL_AT * 2 + 3];
        let mut writer = blobs.writer();
        for chunk in big.chunks(4096) {
            writer.write_all(chunk).expect("write");
        }
        let blob = writer.finish().expect("stored");
        assert_eq!(blob.size, big.len() as u64);
        assert_eq!(blobs.read(&blob.blake3).expect("read"), big);
        let restored = dir.path().join("out/big.bin");
        blobs.restore(&blob.blake3, &restored).expect("restore");
        assert_eq!(fs::read(&restored).expect("read"), big);
    }
}
