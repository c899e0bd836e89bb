//! Where a path really points, and what the session may do there.
//!
//! Paths are resolved the way the kernel will: component by component, following symlinks
//! (`rm -rf link/` deletes the link's target) and taking `..` physically from the resolved
//! directory. The part of a path that does not exist yet is appended lexically.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

use std::iter::once;

use paddock_policy::glob::PatternSet;

use crate::context::Context;

/// Symlink hops before a path counts as a loop (the kernel's `MAXSYMLINKS`).
const MAX_HOPS: u32 = 40;

/// Resolves `text` against the directory `base` (which must be absolute and resolved).
///
/// `follow_last`: whether a symlink in the last component is followed (`rm link` removes the
/// link itself; `echo > link` writes its target; a trailing `/` always follows).
pub(crate) fn resolve(base: &Path, text: &str, follow_last: bool) -> PathBuf {
    let (start, rest) = if text.starts_with('/') {
        (PathBuf::from("/"), text)
    } else {
        (base.to_path_buf(), text)
    };
    let mut queue: Vec<OsString> = Vec::new();
    push_components(&mut queue, Path::new(rest), text.ends_with('/'));
    walk(start, queue, follow_last)
}

/// Resolves an absolute path (symlinks in its existing prefix).
pub(crate) fn resolve_abs(path: &Path) -> PathBuf {
    let mut queue = Vec::new();
    push_components(&mut queue, path, false);
    walk(PathBuf::from("/"), queue, true)
}

/// Pushes the components of `path` onto `queue` in reverse order (the queue pops from the back).
/// A trailing slash becomes an empty component, so the last real name is followed.
fn push_components(queue: &mut Vec<OsString>, path: &Path, trailing_slash: bool) {
    if trailing_slash {
        queue.push(OsString::new());
    }
    let comps: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => None,
        })
        .collect();
    queue.extend(comps.into_iter().rev());
}

fn walk(mut cur: PathBuf, mut queue: Vec<OsString>, follow_last: bool) -> PathBuf {
    let mut exists = true;
    let mut hops = 0;
    while let Some(comp) = queue.pop() {
        if comp.is_empty() {
            continue;
        }
        if comp == ".." {
            cur.pop();
            continue;
        }
        let next = cur.join(&comp);
        if !exists {
            cur = next;
            continue;
        }
        let is_last = queue.is_empty();
        match std::fs::symlink_metadata(&next) {
            Ok(meta) if meta.file_type().is_symlink() && (!is_last || follow_last) => {
                hops += 1;
                match std::fs::read_link(&next) {
                    Ok(target) if hops <= MAX_HOPS => {
                        if target.is_absolute() {
                            cur = PathBuf::from("/");
                        }
                        push_components(&mut queue, &target, false);
                    }
                    // A loop or an unreadable link: the kernel fails; keep the link's own path.
                    _ => {
                        exists = false;
                        cur = next;
                    }
                }
            }
            Ok(_) => cur = next,
            Err(_) => {
                exists = false;
                cur = next;
            }
        }
    }
    cur
}

/// `path` relative to `root` with `/` separators (`""` for the root itself), if inside.
pub(crate) fn relative(path: &Path, root: &Path) -> Option<String> {
    let rest = path.strip_prefix(root).ok()?;
    Some(rest.to_string_lossy().replace('\\', "/"))
}

/// `a` is `b` or inside it.
pub(crate) fn within(a: &Path, b: &Path) -> bool {
    a.starts_with(b)
}

/// What an access does to a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
    Delete,
}

/// A judged problem with a path.
#[derive(Debug, Clone)]
pub(crate) struct PathHit {
    pub(crate) rule: &'static str,
    pub(crate) reason: String,
}

/// The outcome for one place.
pub(crate) struct Judged {
    pub(crate) hits: Vec<PathHit>,
}

impl Context {
    /// Judges an access to `abs` (`tree`: also everything below it).
    pub(crate) fn judge(&self, abs: &Path, tree: bool, access: Access, verb: &str) -> Judged {
        let mut hits = Vec::new();
        let mut shown = abs.to_string_lossy().into_owned();
        let writes = access != Access::Read;
        let reaches = |place: &Path| within(abs, place) || (tree && within(place, abs));

        for other in &self.other_sessions {
            if reaches(&other.worktree) && (writes || self.session.is_some()) {
                let what = if within(abs, &other.worktree) {
                    format!("is inside session {}'s worktree", other.id)
                } else {
                    format!(
                        "contains session {}'s worktree {}",
                        other.id,
                        other.worktree.display()
                    )
                };
                hits.push(PathHit {
                    rule: "session.cross-access",
                    reason: format!(
                        "{verb} `{shown}`, which {what}; sessions may not read or write each \
                         other's files (INV-WS-003). Stay in your own worktree, or ask an \
                         operator for a cross-access approval."
                    ),
                });
            }
        }
        if writes {
            for hooks in &self.hooks_dirs {
                if reaches(hooks) {
                    hits.push(PathHit {
                        rule: "git.hooks.repoint",
                        reason: format!(
                            "{verb} `{shown}` in the git hooks directory {}; hooks must stay as \
                             paddock installed them.",
                            hooks.display()
                        ),
                    });
                }
            }
            for dir in &self.protected_dirs {
                if reaches(dir) {
                    hits.push(PathHit {
                        rule: "fs.write.protected",
                        reason: format!(
                            "{verb} `{shown}`, which is protected ({}): git's shared config and \
                             paddock's state change only through paddock. Ask an operator if this \
                             is really needed.",
                            dir.display()
                        ),
                    });
                }
            }
        }

        let own_root = self.own_root();
        if let Some(rel) = relative(abs, own_root) {
            shown = display_rel(&rel);
            if writes {
                self.judge_in_worktree(
                    &rel,
                    tree,
                    Kind::of(abs),
                    access,
                    verb,
                    &shown,
                    true,
                    &mut hits,
                );
            }
            return Judged { hits };
        }
        if self.session.is_some()
            && own_root != self.main_worktree.as_path()
            && let Some(rel) = relative(abs, &self.main_worktree)
        {
            shown = format!("{} (main worktree)", display_rel(&rel));
            if writes {
                self.judge_in_worktree(
                    &rel,
                    tree,
                    Kind::of(abs),
                    access,
                    verb,
                    &shown,
                    false,
                    &mut hits,
                );
            }
            return Judged { hits };
        }
        if !writes {
            return Judged { hits };
        }
        let roots = [
            Some(own_root),
            self.session.as_ref().map(|_| self.main_worktree.as_path()),
        ];
        if tree && roots.iter().flatten().any(|root| within(root, abs)) {
            hits.push(PathHit {
                rule: delete_or_write(access),
                reason: format!(
                    "{verb} `{shown}`, which contains the whole worktree; change only paths \
                     inside the session's scope{}.",
                    self.scope_hint()
                ),
            });
            return Judged { hits };
        }
        if !hits.is_empty() {
            return Judged { hits };
        }
        let in_scratch = self
            .scratch_dirs
            .iter()
            .any(|dir| within(abs, dir) && (abs != dir.as_path() || !tree));
        if in_scratch {
            return Judged { hits };
        }
        if !tree && access == Access::Write && is_sink(abs) {
            return Judged { hits };
        }
        if self.session.is_some() || access == Access::Delete {
            hits.push(PathHit {
                rule: delete_or_write(access),
                reason: format!(
                    "{verb} `{shown}`, outside the repository and outside the scratch \
                     directories ({}); write only inside the session's scope{} or the scratch \
                     directories.",
                    self.scratch_hint(),
                    self.scope_hint()
                ),
            });
        }
        Judged { hits }
    }

    #[allow(clippy::too_many_arguments)]
    fn judge_in_worktree(
        &self,
        rel: &str,
        tree: bool,
        kind: Kind,
        access: Access,
        verb: &str,
        shown: &str,
        own: bool,
        hits: &mut Vec<PathHit>,
    ) {
        if let Some(pattern) = self.protected_hit(rel, tree) {
            hits.push(PathHit {
                rule: "fs.write.protected",
                reason: format!(
                    "{verb} `{shown}`, which is protected by the policy (`{pattern}`); no session \
                     may change it. Ask an operator if this change is really needed."
                ),
            });
        }
        let Some(session) = &self.session else { return };
        // A directory is not content: deleting or filling `dir` is covered when every path
        // under it is. Nothing lies under a file (or under a link, which `rm` removes itself).
        let covered = own && {
            let probe = |which: u8, set: &PatternSet| match (tree, kind) {
                (true, Kind::File) | (false, _) => set.is_match(rel),
                (true, Kind::Dir | Kind::Missing) => self.all_under(which, set, rel),
            };
            probe(0, &session.scope) || probe(1, &self.scratch)
        };
        if !covered {
            let whose = if own {
                ""
            } else {
                " (in the main worktree, not this session's)"
            };
            hits.push(PathHit {
                rule: delete_or_write(access),
                reason: format!(
                    "{verb} `{shown}`{whose}, outside session {}'s scope{}; change only paths \
                     inside the scope (or scratch paths such as {}), or ask an operator for an \
                     approval.",
                    session.id,
                    self.scope_hint(),
                    self.scratch_globs_hint()
                ),
            });
        }
    }

    /// Every path strictly below `dir` matches `set` (the directory entry itself is not
    /// content). Cached per context: the exact check builds automata.
    fn all_under(&self, which: u8, set: &PatternSet, dir: &str) -> bool {
        let key = (which, dir.to_owned());
        if let Ok(cache) = self.under_cache.lock()
            && let Some(&known) = cache.get(&key)
        {
            return known;
        }
        let answer = all_under(set, dir);
        if let Ok(mut cache) = self.under_cache.lock() {
            if cache.len() >= 4096 {
                cache.clear();
            }
            cache.insert(key, answer);
        }
        answer
    }

    /// The protected glob a path (or, for `tree`, anything under it) falls under.
    fn protected_hit(&self, rel: &str, tree: bool) -> Option<String> {
        if let Some(pattern) = self.protected.first_match(rel) {
            return Some(pattern.original().to_owned());
        }
        if tree {
            for (base, original) in &self.protected_bases {
                if base.is_empty() {
                    continue;
                }
                let under = rel.is_empty()
                    || base == rel
                    || (base.starts_with(rel) && base.as_bytes().get(rel.len()) == Some(&b'/'));
                if under {
                    return Some(original.clone());
                }
            }
        }
        None
    }

    fn scope_hint(&self) -> String {
        match &self.session {
            Some(session) => {
                let globs: Vec<&str> = session
                    .scope
                    .patterns()
                    .iter()
                    .map(|p| p.original())
                    .collect();
                format!(" ({})", globs.join(", "))
            }
            None => String::new(),
        }
    }

    fn scratch_hint(&self) -> String {
        let dirs: Vec<String> = self
            .scratch_dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        if dirs.is_empty() {
            "none".to_owned()
        } else {
            dirs.join(", ")
        }
    }

    fn scratch_globs_hint(&self) -> String {
        let mut all: Vec<String> = self
            .scratch
            .patterns()
            .iter()
            .map(|p| format!("`{}`", p.original()))
            .collect();
        all.extend(
            self.scratch_dirs
                .iter()
                .map(|d| format!("`{}`", d.display())),
        );
        if all.is_empty() {
            "none".to_owned()
        } else {
            all.join(", ")
        }
    }
}

/// Every path strictly below `dir` matches `set`.
fn all_under(set: &PatternSet, dir: &str) -> bool {
    if dir.is_empty() {
        return set.matches_everything_under("");
    }
    if set.matches_everything_under(dir) {
        return true;
    }
    // `matches_everything_under` also wants `dir` itself matched. Add a glob matching exactly
    // `dir`: a bracketed last character makes it a wildcard, which git's pathspec rules do not
    // extend to the paths below (a literal `dir` would match them all).
    let Some(last) = dir.chars().last() else {
        return false;
    };
    if dir.contains(['*', '?', '[', ']', '\\']) || last == '/' {
        return false;
    }
    let exact = format!("{}[{last}]", &dir[..dir.len() - last.len_utf8()]);
    let globs = set
        .patterns()
        .iter()
        .map(|p| p.original())
        .chain(once(exact.as_str()));
    PatternSet::new(globs).is_ok_and(|with_dir| with_dir.matches_everything_under(dir))
}

/// What is at a path now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir,
    /// A file, a symlink or anything else that has nothing under it.
    File,
    Missing,
}

impl Kind {
    fn of(path: &Path) -> Kind {
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => Kind::Dir,
            Ok(_) => Kind::File,
            Err(_) => Kind::Missing,
        }
    }
}

fn display_rel(rel: &str) -> String {
    if rel.is_empty() {
        ".".to_owned()
    } else {
        rel.to_owned()
    }
}

fn delete_or_write(access: Access) -> &'static str {
    match access {
        Access::Delete => "fs.delete.outside-scope",
        _ => "fs.write.outside-scope",
    }
}

/// Special files that discard or pass on output.
fn is_sink(abs: &Path) -> bool {
    matches!(
        abs.to_str(),
        Some("/dev/null" | "/dev/stdout" | "/dev/stderr" | "/dev/tty" | "/dev/zero")
    ) || abs.starts_with("/dev/fd")
        || abs.starts_with("/proc/self/fd")
        || abs.starts_with("/dev/pts")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_dots_and_symlinks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = resolve_abs(dir.path());
        std::fs::create_dir_all(root.join("a/b")).expect("mkdir");
        std::fs::create_dir_all(root.join("docs")).expect("mkdir");
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.join("docs"), root.join("a/link")).expect("symlink");
        assert_eq!(resolve(&root, "a/b/../../x", true), root.join("x"));
        assert_eq!(
            resolve(&root, "a/../../", true),
            root.parent().expect("parent")
        );
        assert_eq!(resolve(&root, "/a/../etc", true), PathBuf::from("/etc"));
        assert_eq!(resolve(&root, "a/link/", true), root.join("docs"));
        assert_eq!(resolve(&root, "a/link", false), root.join("a/link"));
        assert_eq!(resolve(&root, "a/link/x", false), root.join("docs/x"));
        // `..` after a symlink is taken physically, from the link's target.
        assert_eq!(resolve(&root, "a/link/..", true), root.clone());
        assert_eq!(resolve(&root, "new/dir/../f", true), root.join("new/f"));
    }
}
