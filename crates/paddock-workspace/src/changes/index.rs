//! The index file a hook is handed, read for what a commit would change and nothing more.
//!
//! pre-commit runs on every commit, and decoding a 50,000-entry index into gix's structures
//! (every stat field, every path copied) costs more than the whole hook may. The check needs
//! only the cache-tree, which tells which directories are unchanged since their tree was
//! written, and the few entries below the directories that changed. So the file is mapped and
//! walked once to learn where each entry starts; an entry's path, mode and id are read in place
//! when the diff asks for them. Index layouts this walk does not cover (version 4's
//! prefix-compressed paths, a split index, a sparse index) are decoded in full by gix instead:
//! slower, never less exact.

use std::path::Path;

use gix::ObjectId;

use super::cache_tree::CacheTree;
use super::{Entry, Error};

/// Index entries in path order, read-only: what the staged-change diff needs of each.
pub(super) trait Entries {
    /// How many entries there are.
    fn len(&self) -> usize;
    /// The repo-relative path of entry `i`.
    fn path(&self, i: usize) -> &[u8];
    /// The merge stage of entry `i` (0 unless the index holds a conflict).
    fn stage(&self, i: usize) -> u32;
    /// Mode and object id of entry `i`, as a tree would hold them; `None` for a mode no tree
    /// entry has.
    fn blob(&self, i: usize) -> Option<Entry>;
}

/// An index, opened the cheapest way its layout allows.
pub(super) enum Index {
    /// Mapped and walked in place (versions 2 and 3, the common case).
    Mapped(Mapped),
    /// Decoded in full by gix (version 4, split or sparse indexes).
    Decoded(Box<gix::index::File>, Option<CacheTree>),
}

impl Index {
    /// Opens the index at `path`; an unreadable or malformed file is an error, never an empty
    /// index (that would let every staged path through).
    pub(super) fn open(path: &Path, hash: gix::hash::Kind) -> Result<Index, Error> {
        let err = |message: String| Error::Index {
            path: path.to_owned(),
            message,
        };
        let file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
        // SAFETY: git never writes into an index file in place: it writes `index.lock` and
        // renames it over, so the mapped inode does not change under us (gix maps the index
        // on the same grounds). The map is private and read-only.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| err(e.to_string()))?;
        match Mapped::walk(map, hash).map_err(err)? {
            Some(mapped) => Ok(Index::Mapped(mapped)),
            None => {
                let file = gix::index::File::at(path, hash, true, Default::default())
                    .map_err(|e| err(e.to_string()))?;
                // One cache-tree reader for both kinds: give it gix's tree in git's format.
                let mut body = Vec::new();
                let tree = match file.tree() {
                    Some(tree) => tree
                        .write_to(&mut body)
                        .ok()
                        .and_then(|()| CacheTree::parse(&body, hash)),
                    None => None,
                };
                Ok(Index::Decoded(Box::new(file), tree))
            }
        }
    }

    pub(super) fn entries(&self) -> &dyn Entries {
        match self {
            Index::Mapped(mapped) => mapped,
            Index::Decoded(file, _) => {
                let state: &gix::index::State = file;
                state
            }
        }
    }

    /// The cache-tree, if git wrote one (and it parses: without it the diff is slower, not
    /// less exact).
    pub(super) fn cache_tree(&self) -> Option<&CacheTree> {
        match self {
            Index::Mapped(mapped) => mapped.tree.as_ref(),
            Index::Decoded(_, tree) => tree.as_ref(),
        }
    }
}

/// A version 2 or 3 index file, mapped, with the offset of each entry.
pub(super) struct Mapped {
    data: memmap2::Mmap,
    hash_len: usize,
    version: u32,
    /// Where each entry starts in `data`.
    starts: Vec<u32>,
    tree: Option<CacheTree>,
}

/// Fixed fields before an entry's object id: ctime, mtime, dev, ino, mode, uid, gid, size.
const STAT_LEN: usize = 40;
/// Offset of the mode within an entry.
const MODE_AT: usize = 24;
/// Flag bits: name length, the extended-flags marker, the merge stage.
const NAME_MASK: u16 = 0x0fff;
const EXTENDED: u16 = 0x4000;
const STAGE_SHIFT: u32 = 12;

fn be_u32(data: &[u8], at: usize) -> Option<u32> {
    let bytes = data.get(at..at + 4)?;
    Some(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

fn be_u16(data: &[u8], at: usize) -> Option<u16> {
    let bytes = data.get(at..at + 2)?;
    Some(u16::from_be_bytes([bytes[0], bytes[1]]))
}

impl Mapped {
    /// Walks the entries and reads the extensions. `Ok(None)`: a layout to leave to gix.
    fn walk(data: memmap2::Mmap, hash: gix::hash::Kind) -> Result<Option<Mapped>, String> {
        let hash_len = hash.len_in_bytes();
        if data.get(..4) != Some(b"DIRC".as_slice()) {
            return Err("not an index file (no DIRC signature)".into());
        }
        let truncated = || "the file is truncated".to_owned();
        let version = be_u32(&data, 4).ok_or_else(truncated)?;
        match version {
            2 | 3 => {}
            4 => return Ok(None),
            other => return Err(format!("index version {other} is not one git writes")),
        }
        let count = be_u32(&data, 8).ok_or_else(truncated)? as usize;
        let end = data.len().checked_sub(hash_len).ok_or_else(truncated)?;
        if end > u32::MAX as usize {
            return Ok(None);
        }
        // Every entry takes at least 62 bytes, so a count the file cannot hold is corruption,
        // caught before it sizes an allocation.
        if count > end / (STAT_LEN + hash_len + 2) {
            return Err(format!("it claims {count} entries, more than it can hold"));
        }
        let mut starts = Vec::with_capacity(count);
        let mut at = 12;
        for _ in 0..count {
            starts.push(at as u32);
            let (path_at, len) =
                path_bounds(&data[..end], at, hash_len, version).ok_or_else(truncated)?;
            // Entries are padded with 1 to 8 NULs to a multiple of 8 bytes.
            at += (path_at - at + len + 8) & !7;
            if at > end {
                return Err(truncated());
            }
        }
        let mut tree = None;
        let extensions = gix::index::extension::Iter::new(&data[at..end]);
        for (signature, body) in extensions {
            match &signature {
                b"TREE" => tree = CacheTree::parse(body, hash),
                // A split index holds only changes to a shared one; a sparse index has
                // directory entries: gix knows how to read both.
                b"link" | b"sdir" => return Ok(None),
                _ => {}
            }
        }
        Ok(Some(Mapped {
            data,
            hash_len,
            version,
            starts,
            tree,
        }))
    }

    fn start(&self, i: usize) -> usize {
        self.starts[i] as usize
    }

    fn flags(&self, i: usize) -> u16 {
        // Bounds were checked by the walk.
        be_u16(&self.data, self.start(i) + STAT_LEN + self.hash_len).unwrap_or(0)
    }
}

/// Where entry `at`'s path starts and how long it is.
fn path_bounds(data: &[u8], at: usize, hash_len: usize, version: u32) -> Option<(usize, usize)> {
    let flags_at = at + STAT_LEN + hash_len;
    let flags = be_u16(data, flags_at)?;
    let extended = version >= 3 && flags & EXTENDED != 0;
    let path_at = flags_at + 2 + if extended { 2 } else { 0 };
    let len = match flags & NAME_MASK {
        // Names of 0xfff bytes or more store the maximum and end at a NUL.
        NAME_MASK => data.get(path_at..)?.iter().position(|&b| b == 0)?,
        len => {
            data.get(path_at..path_at + len as usize)?;
            len as usize
        }
    };
    Some((path_at, len))
}

impl Entries for Mapped {
    fn len(&self) -> usize {
        self.starts.len()
    }

    fn path(&self, i: usize) -> &[u8] {
        let (at, len) =
            path_bounds(&self.data, self.start(i), self.hash_len, self.version).unwrap_or((0, 0));
        &self.data[at..at + len]
    }

    fn stage(&self, i: usize) -> u32 {
        u32::from(self.flags(i) >> STAGE_SHIFT) & 0b11
    }

    fn blob(&self, i: usize) -> Option<Entry> {
        let at = self.start(i);
        let mode = match be_u32(&self.data, at + MODE_AT)? {
            0o100644 => 0o100644,
            0o100755 => 0o100755,
            0o120000 => 0o120000,
            0o160000 => 0o160000,
            _ => return None,
        };
        let id = ObjectId::try_from(
            self.data
                .get(at + STAT_LEN..at + STAT_LEN + self.hash_len)?,
        )
        .ok()?;
        Some(Entry { mode, id })
    }
}

impl Entries for gix::index::State {
    fn len(&self) -> usize {
        self.entries().len()
    }

    fn path(&self, i: usize) -> &[u8] {
        self.entries()[i].path(self)
    }

    fn stage(&self, i: usize) -> u32 {
        self.entries()[i].stage_raw()
    }

    fn blob(&self, i: usize) -> Option<Entry> {
        let entry = &self.entries()[i];
        let mode = entry.mode.to_tree_entry_mode()?.value();
        Some(Entry { mode, id: entry.id })
    }
}
