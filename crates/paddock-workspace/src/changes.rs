//! Which paths a commit or a ref update changes, read from git's objects and index with gix.
//!
//! Both walks skip whole directories whose tree ids are equal, so their cost follows the size of
//! the change, not of the repository: the index walk trusts the index's cache-tree (git keeps it
//! valid for untouched directories) instead of rebuilding HEAD as an index or scanning the
//! worktree.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use gix::ObjectId;
use gix::bstr::{BStr, BString, ByteSlice};

mod cache_tree;
mod index;

use cache_tree::Dir;
use index::{Entries, Index};

/// Errors reading objects or the index.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The index could not be read.
    #[error("cannot read the index {path}: {message}")]
    Index {
        /// The index file.
        path: std::path::PathBuf,
        /// What gix said.
        message: String,
    },
    /// An object could not be read or decoded.
    #[error("cannot read git object {id}: {message}")]
    Object {
        /// The object id.
        id: ObjectId,
        /// What gix said.
        message: String,
    },
}

/// A tree entry: mode bits and object id.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Entry {
    mode: u16,
    id: ObjectId,
}

impl Entry {
    fn is_tree(self) -> bool {
        self.mode == 0o040000
    }
}

fn tree_entries(repo: &gix::Repository, id: ObjectId) -> Result<Vec<(BString, Entry)>, Error> {
    let err = |message: String| Error::Object { id, message };
    let tree = repo.find_tree(id).map_err(|e| err(e.to_string()))?;
    let decoded = tree.decode().map_err(|e| err(e.to_string()))?;
    Ok(decoded
        .entries
        .iter()
        .map(|e| {
            (
                e.filename.to_owned(),
                Entry {
                    mode: e.mode.value(),
                    id: e.oid.to_owned(),
                },
            )
        })
        .collect())
}

fn join(prefix: &BStr, name: &BStr) -> BString {
    let mut path = BString::from(prefix.to_vec());
    if !path.is_empty() {
        path.push(b'/');
    }
    path.extend_from_slice(name);
    path
}

/// Every blob path under a tree (for a directory that was added or deleted as a whole).
fn all_paths(
    repo: &gix::Repository,
    prefix: &BStr,
    id: ObjectId,
    out: &mut Vec<BString>,
) -> Result<(), Error> {
    for (name, entry) in tree_entries(repo, id)? {
        let path = join(prefix, name.as_bstr());
        if entry.is_tree() {
            all_paths(repo, path.as_bstr(), entry.id, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Paths that differ between two trees (added, deleted, modified, or changed mode). `None`
/// stands for the empty tree.
pub fn tree_changes(
    repo: &gix::Repository,
    old: Option<ObjectId>,
    new: Option<ObjectId>,
) -> Result<Vec<BString>, Error> {
    let mut out = Vec::new();
    diff_trees(repo, BStr::new(b""), old, new, &mut out)?;
    out.sort();
    out.dedup();
    Ok(out)
}

fn diff_trees(
    repo: &gix::Repository,
    prefix: &BStr,
    old: Option<ObjectId>,
    new: Option<ObjectId>,
    out: &mut Vec<BString>,
) -> Result<(), Error> {
    if old == new {
        return Ok(());
    }
    let old_entries: HashMap<BString, Entry> = match old {
        Some(id) => tree_entries(repo, id)?.into_iter().collect(),
        None => HashMap::new(),
    };
    let new_entries = match new {
        Some(id) => tree_entries(repo, id)?,
        None => Vec::new(),
    };
    let mut seen = std::collections::HashSet::new();
    for (name, entry) in &new_entries {
        seen.insert(name.clone());
        let path = join(prefix, name.as_bstr());
        let before = old_entries.get(name).copied();
        if before == Some(*entry) {
            continue;
        }
        match (before, entry.is_tree()) {
            (Some(b), true) if b.is_tree() => {
                diff_trees(repo, path.as_bstr(), Some(b.id), Some(entry.id), out)?
            }
            (Some(b), true) => {
                out.push(path.clone());
                let _ = b;
                all_paths(repo, path.as_bstr(), entry.id, out)?;
            }
            (Some(b), false) if b.is_tree() => {
                all_paths(repo, path.as_bstr(), b.id, out)?;
                out.push(path);
            }
            (_, true) => all_paths(repo, path.as_bstr(), entry.id, out)?,
            (_, false) => out.push(path),
        }
    }
    for (name, entry) in old_entries {
        if seen.contains(&name) {
            continue;
        }
        let path = join(prefix, name.as_bstr());
        if entry.is_tree() {
            all_paths(repo, path.as_bstr(), entry.id, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Paths staged in the index at `index_path` relative to the tree `head` (`None`: unborn HEAD):
/// what a commit made from this index would change.
pub fn staged_changes(
    repo: &gix::Repository,
    index_path: &Path,
    head: Option<ObjectId>,
) -> Result<Vec<BString>, Error> {
    let index = Index::open(index_path, repo.object_hash())?;
    let entries = index.entries();
    let mut out = Vec::new();
    diff_index(
        repo,
        entries,
        0..entries.len(),
        0,
        BStr::new(b""),
        head,
        index.cache_tree().map(|tree| tree.root()),
        &mut out,
    )?;
    out.sort();
    out.dedup();
    Ok(out)
}

/// The end of the run of entries in `range` whose paths start with `dir` (the first one does).
fn dir_end(
    entries: &dyn Entries,
    range: Range<usize>,
    dir: &[u8],
    cache: Option<Dir<'_>>,
) -> usize {
    // A valid cache-tree entry counts the entries below it; the count is only a hint (gix warns
    // it may be wrong), so it is used only when the paths on both sides of the boundary agree.
    if let Some(count) = cache.and_then(|c| c.entries()) {
        let end = range.start + count as usize;
        if count > 0
            && end <= range.end
            && entries.path(end - 1).starts_with(dir)
            && (end == range.end || !entries.path(end).starts_with(dir))
        {
            return end;
        }
    }
    // Entries are sorted by path, so a binary search finds the end.
    let (mut lo, mut hi) = (range.start + 1, range.end);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if entries.path(mid).starts_with(dir) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

#[allow(clippy::too_many_arguments)]
fn diff_index(
    repo: &gix::Repository,
    entries: &dyn Entries,
    range: Range<usize>,
    prefix_len: usize,
    prefix: &BStr,
    head: Option<ObjectId>,
    cache: Option<Dir<'_>>,
    out: &mut Vec<BString>,
) -> Result<(), Error> {
    // git keeps a directory's cache-tree entry valid only while the index under it is unchanged
    // since the tree was written; equal to HEAD's tree means nothing is staged below.
    if let (Some(cache), Some(head)) = (cache, head)
        && cache.id() == Some(head)
    {
        return Ok(());
    }
    let head_entries: HashMap<BString, Entry> = match head {
        Some(id) => tree_entries(repo, id)?.into_iter().collect(),
        None => HashMap::new(),
    };
    let child_caches: HashMap<&[u8], Dir<'_>> = cache
        .map(|c| c.children().map(|d| (d.name(), d)).collect())
        .unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    let mut i = range.start;
    while i < range.end {
        let path = entries.path(i);
        let rel = &path[prefix_len..];
        match rel.find_byte(b'/') {
            Some(slash) => {
                let name = BString::from(&rel[..slash]);
                let dir_len = prefix_len + slash + 1;
                let dir = &path[..dir_len];
                let child_cache = child_caches.get(name.as_slice()).copied();
                let j = dir_end(entries, i..range.end, dir, child_cache);
                let before = head_entries.get(&name).copied();
                let child_head = match before {
                    Some(e) if e.is_tree() => Some(e.id),
                    Some(_) => {
                        // A file became a directory.
                        out.push(join(prefix, name.as_bstr()));
                        None
                    }
                    None => None,
                };
                let child_prefix = join(prefix, name.as_bstr());
                diff_index(
                    repo,
                    entries,
                    i..j,
                    dir_len,
                    child_prefix.as_bstr(),
                    child_head,
                    child_cache,
                    out,
                )?;
                seen.insert(name);
                i = j;
            }
            None => {
                let name = BString::from(rel);
                let now = entries.blob(i);
                let before = head_entries.get(&name).copied();
                if entries.stage(i) != 0 || now.is_none() || before != now {
                    if let Some(b) = before
                        && b.is_tree()
                    {
                        all_paths(repo, join(prefix, name.as_bstr()).as_bstr(), b.id, out)?;
                    }
                    out.push(BString::from(path.to_vec()));
                }
                seen.insert(name);
                i += 1;
            }
        }
    }
    for (name, entry) in head_entries {
        if seen.contains(&name) {
            continue;
        }
        let path = join(prefix, name.as_bstr());
        if entry.is_tree() {
            all_paths(repo, path.as_bstr(), entry.id, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}
