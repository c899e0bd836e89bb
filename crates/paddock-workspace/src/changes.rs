//! Which paths a commit or a ref update changes, read from git's objects and index with gix.
//!
//! Both walks skip whole directories whose tree ids are equal, so their cost follows the size of
//! the change, not of the repository: the index walk trusts the index's cache-tree (git keeps it
//! valid for untouched directories) instead of rebuilding HEAD as an index or scanning the
//! worktree.

use std::cmp::Ordering;
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
    let old = sorted_tree_entries(repo, old)?;
    let new = sorted_tree_entries(repo, new)?;
    // Both sides in git's tree order: one pass pairs equal names (a file and a directory of the
    // same name are two entries, one deleted and one added).
    let one_side = |(name, entry): &(BString, Entry), out: &mut Vec<BString>| {
        let path = join(prefix, name.as_bstr());
        if entry.is_tree() {
            all_paths(repo, path.as_bstr(), entry.id, out)
        } else {
            out.push(path);
            Ok(())
        }
    };
    let (mut a, mut b) = (0, 0);
    loop {
        match (old.get(a), new.get(b)) {
            (None, None) => return Ok(()),
            (Some(gone), None) => {
                one_side(gone, out)?;
                a += 1;
            }
            (None, Some(added)) => {
                one_side(added, out)?;
                b += 1;
            }
            (Some(before), Some(after)) => {
                match tree_order(&before.0, before.1.is_tree(), &after.0, after.1.is_tree()) {
                    Ordering::Less => {
                        one_side(before, out)?;
                        a += 1;
                    }
                    Ordering::Greater => {
                        one_side(after, out)?;
                        b += 1;
                    }
                    Ordering::Equal => {
                        if before.1 != after.1 {
                            let path = join(prefix, before.0.as_bstr());
                            if after.1.is_tree() {
                                diff_trees(
                                    repo,
                                    path.as_bstr(),
                                    Some(before.1.id),
                                    Some(after.1.id),
                                    out,
                                )?;
                            } else {
                                out.push(path);
                            }
                        }
                        a += 1;
                        b += 1;
                    }
                }
            }
        }
    }
}

/// A tree's entries in git's tree order (`None`: the empty tree). git writes trees sorted; a
/// hand-made tree out of order is sorted here so that no entry is missed.
fn sorted_tree_entries(
    repo: &gix::Repository,
    id: Option<ObjectId>,
) -> Result<Vec<(BString, Entry)>, Error> {
    let mut entries = match id {
        Some(id) => tree_entries(repo, id)?,
        None => return Ok(Vec::new()),
    };
    let order = |a: &(BString, Entry), b: &(BString, Entry)| {
        tree_order(&a.0, a.1.is_tree(), &b.0, b.1.is_tree())
    };
    if !entries.is_sorted_by(|a, b| order(a, b).is_le()) {
        entries.sort_by(order);
    }
    Ok(entries)
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

/// One HEAD tree's entries, looked up by name as the index walk meets them.
struct HeadTree {
    /// In git's tree order (a tree's name compares as if it ended in `/`).
    entries: Vec<(BString, Entry)>,
    seen: Vec<bool>,
}

impl HeadTree {
    fn load(repo: &gix::Repository, id: Option<ObjectId>) -> Result<HeadTree, Error> {
        let entries = sorted_tree_entries(repo, id)?;
        let seen = vec![false; entries.len()];
        Ok(HeadTree { entries, seen })
    }

    /// The entry called `name` that is a tree (`tree`) or not, marked as seen.
    fn take(&mut self, name: &[u8], tree: bool) -> Option<Entry> {
        let at = self
            .entries
            .binary_search_by(|(n, e)| tree_order(n, e.is_tree(), name, tree))
            .ok()?;
        self.seen[at] = true;
        Some(self.entries[at].1)
    }

    /// The entries no index entry matched: deleted, or replaced by a file or a directory.
    fn unseen(&self) -> impl Iterator<Item = &(BString, Entry)> {
        self.entries
            .iter()
            .zip(&self.seen)
            .filter_map(|(entry, seen)| (!seen).then_some(entry))
    }
}

/// git's tree order (`base_name_compare`): bytewise, a tree's name as if it ended in `/`.
fn tree_order(a: &[u8], a_tree: bool, b: &[u8], b_tree: bool) -> Ordering {
    let common = a.len().min(b.len());
    a[..common].cmp(&b[..common]).then_with(|| {
        let next = |name: &[u8], tree: bool| name.get(common).copied().or(tree.then_some(b'/'));
        next(a, a_tree).cmp(&next(b, b_tree))
    })
}

/// Index walk over `range`, the entries below `prefix` (`prefix_len` bytes of each path,
/// slash included), against HEAD's tree `head` for that directory.
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
    let mut head_tree = HeadTree::load(repo, head)?;
    let mut child_caches: Vec<(&[u8], Dir<'_>)> = cache
        .map(|c| c.children().map(|d| (d.name(), d)).collect())
        .unwrap_or_default();
    child_caches.sort_unstable_by_key(|(name, _)| *name);
    let mut i = range.start;
    while i < range.end {
        let path = entries.path(i);
        let rel = &path[prefix_len..];
        match rel.find_byte(b'/') {
            Some(slash) => {
                let name = &rel[..slash];
                let dir_len = prefix_len + slash + 1;
                let child_cache = child_caches
                    .binary_search_by_key(&name, |(n, _)| n)
                    .ok()
                    .map(|at| child_caches[at].1);
                let j = dir_end(entries, i..range.end, &path[..dir_len], child_cache);
                let child_head = head_tree.take(name, true).map(|e| e.id);
                let unchanged = matches!(
                    (child_cache.and_then(|c| c.id()), child_head),
                    (Some(cached), Some(head)) if cached == head
                );
                if !unchanged {
                    diff_index(
                        repo,
                        entries,
                        i..j,
                        dir_len,
                        join(prefix, name.as_bstr()).as_bstr(),
                        child_head,
                        child_cache,
                        out,
                    )?;
                }
                i = j;
            }
            None => {
                let now = entries.blob(i);
                let before = head_tree.take(rel, false);
                if entries.stage(i) != 0 || now.is_none() || before != now {
                    out.push(BString::from(path));
                }
                i += 1;
            }
        }
    }
    // What HEAD has and the index does not: deleted, or a file that became a directory (or
    // the other way round), whose new side the loop above reported.
    for (name, entry) in head_tree.unseen() {
        let path = join(prefix, name.as_bstr());
        if entry.is_tree() {
            all_paths(repo, path.as_bstr(), entry.id, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}
