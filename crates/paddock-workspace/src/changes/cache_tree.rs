//! The index's cache-tree extension (`TREE`), read into one flat array.
//!
//! gix decodes it into a tree of nodes with a vector and a name buffer each; a 50,000-file
//! repository has some 10,000 directories, and that decoding alone cost more instructions than
//! the rest of pre-commit. The hook needs a node's children only where a directory changed, so
//! the nodes are kept in file order (pre-order) with the size of each subtree, and children are
//! found by stepping over their siblings' subtrees.
//!
//! The format (git's `cache-tree.c`): per node, its name and a NUL, the number of index entries
//! it covers in ASCII (`-1` when invalid), a space, the number of subtrees, a newline, then the
//! tree id if the node is valid; then its subtrees, each the same way.

use gix::ObjectId;

/// One directory of the cache-tree.
#[derive(Debug, Clone, Copy)]
struct Node {
    /// Where the name starts in the extension, and its length.
    name_at: u32,
    name_len: u32,
    /// Index entries below this directory, when git still knows its tree.
    entries: Option<u32>,
    /// Where the tree id starts, when valid.
    id_at: Option<u32>,
    /// Direct subtrees.
    children: u32,
    /// Nodes in this subtree, this one included.
    size: u32,
}

/// A parsed cache-tree extension; node 0 is the root.
#[derive(Debug, Clone)]
pub(super) struct CacheTree {
    body: Vec<u8>,
    hash_len: usize,
    nodes: Vec<Node>,
}

/// A directory of the cache-tree.
#[derive(Clone, Copy)]
pub(super) struct Dir<'a> {
    tree: &'a CacheTree,
    node: usize,
}

impl CacheTree {
    /// Parses an extension body; `None` if it is malformed (the caller then reads no cache-tree
    /// at all, which is slower but exact).
    pub(super) fn parse(body: &[u8], hash: gix::hash::Kind) -> Option<CacheTree> {
        let mut tree = CacheTree {
            body: body.to_vec(),
            hash_len: hash.len_in_bytes(),
            // Some 40 bytes per node in practice (name, counts, id).
            nodes: Vec::with_capacity(body.len() / 32),
        };
        let mut at = 0;
        tree.parse_node(&mut at)?;
        (at == tree.body.len()).then_some(tree)
    }

    /// Parses the node at `*at` and its subtrees, iteratively (a hostile index must not be able
    /// to overflow the stack with deep nesting).
    fn parse_node(&mut self, at: &mut usize) -> Option<()> {
        // Open nodes and how many children each still expects.
        let mut open: Vec<(usize, u32)> = Vec::new();
        loop {
            let index = self.nodes.len();
            let node = self.parse_header(at)?;
            let children = node.children;
            self.nodes.push(node);
            if u32::try_from(self.nodes.len()).is_err() {
                return None;
            }
            open.push((index, children));
            // Close every node whose children are all read.
            while let Some(&(index, 0)) = open.last() {
                open.pop();
                self.nodes[index].size = (self.nodes.len() - index) as u32;
                match open.last_mut() {
                    Some((_, remaining)) => *remaining -= 1,
                    None => return Some(()),
                }
            }
        }
    }

    fn parse_header(&self, at: &mut usize) -> Option<Node> {
        let body = &self.body;
        let start = *at;
        let nul = find(body, start, 0)?;
        let space = find(body, nul + 1, b' ')?;
        let newline = find(body, space + 1, b'\n')?;
        let entries = match &body[nul + 1..space] {
            b"-1" => None,
            digits => Some(parse_count(digits)?),
        };
        let children = parse_count(&body[space + 1..newline])?;
        *at = newline + 1;
        let id_at = match entries {
            None => None,
            Some(_) => {
                let id_at = *at;
                body.get(id_at..id_at + self.hash_len)?;
                *at += self.hash_len;
                Some(id_at as u32)
            }
        };
        Some(Node {
            name_at: start as u32,
            name_len: (nul - start) as u32,
            entries,
            id_at,
            children,
            size: 1,
        })
    }

    /// The root directory.
    pub(super) fn root(&self) -> Dir<'_> {
        Dir {
            tree: self,
            node: 0,
        }
    }
}

/// The first `byte` at or after `from`. Names and counts are a few bytes long: a plain loop
/// beats `memchr`'s setup on each of the ten thousand nodes.
fn find(body: &[u8], from: usize, byte: u8) -> Option<usize> {
    Some(from + body.get(from..)?.iter().position(|&b| b == byte)?)
}

/// A count in ASCII decimal, as git writes it (no sign, no padding).
fn parse_count(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 10 {
        return None;
    }
    let mut value: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u64::from(d - b'0');
    }
    u32::try_from(value).ok()
}

impl<'a> Dir<'a> {
    fn node(&self) -> &'a Node {
        &self.tree.nodes[self.node]
    }

    /// The directory's name (empty for the root).
    pub(super) fn name(&self) -> &'a [u8] {
        let node = self.node();
        let at = node.name_at as usize;
        &self.tree.body[at..at + node.name_len as usize]
    }

    /// How many index entries lie below, if git still knows this directory's tree.
    pub(super) fn entries(&self) -> Option<u32> {
        self.node().entries
    }

    /// The directory's tree id, if git still knows it.
    pub(super) fn id(&self) -> Option<ObjectId> {
        let at = self.node().id_at? as usize;
        ObjectId::try_from(&self.tree.body[at..at + self.tree.hash_len]).ok()
    }

    /// The direct subdirectories.
    pub(super) fn children(&self) -> impl Iterator<Item = Dir<'a>> + 'a {
        let tree = self.tree;
        let mut next = self.node + 1;
        (0..self.node().children).map_while(move |_| {
            let node = tree.nodes.get(next)?;
            let dir = Dir { tree, node: next };
            next += node.size as usize;
            Some(dir)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(id: &str) -> Vec<u8> {
        ObjectId::from_hex(id.as_bytes())
            .expect("hex")
            .as_bytes()
            .to_vec()
    }

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";

    #[test]
    fn nested_directories_and_invalid_nodes() {
        // root (invalid) -> a (valid, 3 entries, one subtree b) -> b (valid); then c (invalid).
        let mut body = b"\0-1 2\n".to_vec();
        body.extend(b"a\x003 1\n");
        body.extend(hex(A));
        body.extend(b"b\x001 0\n");
        body.extend(hex(B));
        body.extend(b"c\0-1 0\n");
        let tree = CacheTree::parse(&body, gix::hash::Kind::Sha1).expect("parses");
        let root = tree.root();
        assert_eq!(root.entries(), None);
        let children: Vec<_> = root.children().collect();
        assert_eq!(children.len(), 2);
        assert_eq!(children[0].name(), b"a");
        assert_eq!(children[0].entries(), Some(3));
        assert_eq!(
            children[0].id().map(|id| id.to_string()),
            Some(A.to_owned())
        );
        let b: Vec<_> = children[0].children().collect();
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].name(), b"b");
        assert_eq!(b[0].id().map(|id| id.to_string()), Some(B.to_owned()));
        assert_eq!(children[1].name(), b"c");
        assert_eq!(children[1].entries(), None);
        assert_eq!(children[1].children().count(), 0);
    }

    #[test]
    fn malformed_bodies_are_refused() {
        for body in [
            &b""[..],
            b"\0-1 1\n",
            b"\x003 0\n",
            b"\0x 0\n",
            b"\0-1 0\nextra",
            b"\0-2 0\n",
            b"\0+1 0\n",
            b"\x0099999999999 0\n",
        ] {
            assert!(
                CacheTree::parse(body, gix::hash::Kind::Sha1).is_none(),
                "{body:?}"
            );
        }
    }
}
