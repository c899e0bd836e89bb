//! The staged-paths and tree-diff walks against git itself: random edits on a real repository,
//! each round compared with `git diff --cached` and `git diff-tree`, in every index format git
//! writes (v2, v3 with a cache-tree, v4, split index).

use std::path::{Path, PathBuf};
use std::process::Command;

use paddock_workspace::changes::{staged_changes, tree_changes};

fn git(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// NUL-separated paths, sorted.
fn paths(raw: &[u8]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = raw
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    v.sort();
    v.dedup();
    v
}

/// A small deterministic generator (xorshift), so a failure replays from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

// Names chosen around git's ordering traps: `foo` the directory sorts as `foo/`, after `foo.c`
// and `foo-bar`, and a file and a directory may trade places.
const NAMES: [&str; 7] = ["foo", "foo.c", "foo-bar", "a", "b b", "z", "é"];

fn random_path(rng: &mut Rng) -> PathBuf {
    let depth = 1 + rng.below(3);
    (0..depth).map(|_| NAMES[rng.below(NAMES.len())]).collect()
}

/// One random edit of the worktree and the index.
fn edit(root: &Path, rng: &mut Rng) {
    let path = random_path(rng);
    let full = root.join(&path);
    match rng.below(6) {
        // Write a file, replacing a directory in its way (file <-> directory changes).
        0..=2 => {
            if full.is_dir() && !full.is_symlink() {
                std::fs::remove_dir_all(&full).expect("rm dir");
            } else if full.is_symlink() {
                std::fs::remove_file(&full).expect("rm symlink");
            }
            for parent in path.ancestors().skip(1) {
                let p = root.join(parent);
                if std::fs::symlink_metadata(&p).is_ok_and(|m| !m.is_dir()) {
                    std::fs::remove_file(&p).expect("rm file in the way");
                }
            }
            std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
            std::fs::write(&full, format!("{}\n", rng.below(1000))).expect("write");
        }
        // Delete a file or a whole directory.
        3 => {
            if full.is_dir() && !full.is_symlink() {
                std::fs::remove_dir_all(&full).expect("rm dir");
            } else if std::fs::symlink_metadata(&full).is_ok() {
                std::fs::remove_file(&full).expect("rm");
            }
        }
        // Flip the executable bit.
        4 => {
            if full.is_file() && !full.is_symlink() {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&full).expect("stat").permissions().mode();
                std::fs::set_permissions(&full, std::fs::Permissions::from_mode(mode ^ 0o111))
                    .expect("chmod");
            }
        }
        // A symlink.
        _ => {
            if std::fs::symlink_metadata(&full).is_err()
                && full.parent().is_some_and(|p| p.is_dir() && !p.is_symlink())
            {
                std::os::unix::fs::symlink("target", &full).expect("symlink");
            }
        }
    }
}

fn check_round(root: &Path, index: &Path) {
    let repo = gix::open(root).expect("gix opens");
    let head = repo
        .head_commit()
        .ok()
        .map(|c| c.tree_id().expect("tree").detach());
    let ours: Vec<Vec<u8>> = staged_changes(&repo, index, head)
        .expect("staged changes")
        .into_iter()
        .map(|p| p.to_vec())
        .collect();
    let theirs = paths(&git(
        root,
        &["diff", "--cached", "--name-only", "--no-renames", "-z"],
    ));
    assert_eq!(ours, theirs, "staged paths differ from git diff --cached");
}

fn run(seed: u64, setup: &[&[&str]]) {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    git(root, &["init", "-q", "-b", "main"]);
    for args in setup {
        git(root, args);
    }
    let mut rng = Rng(seed);
    for _ in 0..20 {
        edit(root, &mut rng);
    }
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "--allow-empty", "-m", "base"]);
    let index = root.join(".git/index");
    for round in 0..25 {
        for _ in 0..1 + rng.below(4) {
            edit(root, &mut rng);
        }
        git(root, &["add", "-A"]);
        // Half the rounds with git's cache-tree rebuilt, as `git commit` leaves it.
        if round % 2 == 0 {
            git(root, &["write-tree"]);
        }
        check_round(root, &index);
        if rng.below(3) == 0 {
            let before = String::from_utf8(git(root, &["rev-parse", "HEAD^{tree}"])).expect("id");
            git(root, &["commit", "-q", "--allow-empty", "-m", "next"]);
            let repo = gix::open(root).expect("gix opens");
            let id = |s: &str| gix::ObjectId::from_hex(s.trim().as_bytes()).expect("id");
            let after = String::from_utf8(git(root, &["rev-parse", "HEAD^{tree}"])).expect("id");
            let ours: Vec<Vec<u8>> = tree_changes(&repo, Some(id(&before)), Some(id(&after)))
                .expect("tree changes")
                .into_iter()
                .map(|p| p.to_vec())
                .collect();
            let theirs = paths(&git(
                root,
                &[
                    "diff-tree",
                    "-r",
                    "--name-only",
                    "--no-renames",
                    "-z",
                    "HEAD^",
                    "HEAD",
                ],
            ));
            assert_eq!(
                ours, theirs,
                "seed {seed}: tree changes differ from git diff-tree"
            );
        }
    }
}

#[test]
fn staged_paths_match_git_with_a_v2_index() {
    for seed in 1..=4 {
        run(seed * 7919, &[&["config", "index.version", "2"]]);
    }
}

#[test]
fn staged_paths_match_git_with_a_v4_index() {
    for seed in 1..=3 {
        run(seed * 104_729, &[&["config", "index.version", "4"]]);
    }
}

#[test]
fn staged_paths_match_git_with_a_split_index() {
    for seed in 1..=3 {
        run(seed * 1_299_709, &[&["config", "core.splitIndex", "true"]]);
    }
}

#[test]
fn an_unborn_head_stages_everything() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    git(root, &["init", "-q", "-b", "main"]);
    let mut rng = Rng(42);
    for _ in 0..10 {
        edit(root, &mut rng);
    }
    git(root, &["add", "-A"]);
    check_round(root, &root.join(".git/index"));
}
