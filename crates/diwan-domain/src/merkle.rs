//! The Merkle tree of the tamper-evident register log, as RFC 9162 §2.1 defines it: tree
//! heads, inclusion proofs and consistency proofs, and their verification.
//!
//! The hash function is supplied by the caller ([`MerkleHasher`]); this module only arranges
//! hashes, so it stays free of any crypto library. Trees are given by their leaf hashes.

/// A 32-byte hash.
pub type Hash = [u8; 32];

/// The two hashes of RFC 9162: `leaf = H(0x00 || data)` and `node = H(0x01 || left || right)`,
/// plus the hash of the empty string for the empty tree.
pub trait MerkleHasher {
    fn empty(&self) -> Hash;
    fn leaf(&self, data: &[u8]) -> Hash;
    fn node(&self, left: &Hash, right: &Hash) -> Hash;
}

/// The largest power of two strictly smaller than `n` (n ≥ 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// The tree head (root hash) over these leaf hashes.
pub fn root(h: &impl MerkleHasher, leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => h.empty(),
        1 => leaves[0],
        n => {
            let k = split(n);
            h.node(&root(h, &leaves[..k]), &root(h, &leaves[k..]))
        }
    }
}

/// The audit path of leaf `index` in the tree of these leaves; `None` if out of range.
pub fn inclusion_proof(h: &impl MerkleHasher, index: usize, leaves: &[Hash]) -> Option<Vec<Hash>> {
    if index >= leaves.len() {
        return None;
    }
    let mut path = Vec::new();
    inclusion(h, index, leaves, &mut path);
    Some(path)
}

fn inclusion(h: &impl MerkleHasher, m: usize, leaves: &[Hash], path: &mut Vec<Hash>) {
    let n = leaves.len();
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        inclusion(h, m, &leaves[..k], path);
        path.push(root(h, &leaves[k..]));
    } else {
        inclusion(h, m - k, &leaves[k..], path);
        path.push(root(h, &leaves[..k]));
    }
}

/// The proof that the tree of the first `old_size` leaves is a prefix of the tree of `leaves`;
/// `None` unless `0 < old_size <= leaves.len()`.
pub fn consistency_proof(
    h: &impl MerkleHasher,
    old_size: usize,
    leaves: &[Hash],
) -> Option<Vec<Hash>> {
    if old_size == 0 || old_size > leaves.len() {
        return None;
    }
    let mut proof = Vec::new();
    subproof(h, old_size, leaves, true, &mut proof);
    Some(proof)
}

fn subproof(h: &impl MerkleHasher, m: usize, leaves: &[Hash], whole: bool, proof: &mut Vec<Hash>) {
    let n = leaves.len();
    if m == n {
        if !whole {
            proof.push(root(h, leaves));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(h, m, &leaves[..k], whole, proof);
        proof.push(root(h, &leaves[k..]));
    } else {
        subproof(h, m - k, &leaves[k..], false, proof);
        proof.push(root(h, &leaves[..k]));
    }
}

/// Checks an audit path (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    h: &impl MerkleHasher,
    index: u64,
    size: u64,
    leaf: &Hash,
    path: &[Hash],
    root: &Hash,
) -> bool {
    if index >= size {
        return false;
    }
    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if s_n == 0 {
            return false;
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = h.node(p, &r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = h.node(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    s_n == 0 && r == *root
}

/// Checks a consistency proof between two tree heads (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    h: &impl MerkleHasher,
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size == 0 || old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    let mut path: Vec<Hash> = proof.to_vec();
    if old_size.is_power_of_two() {
        path.insert(0, *old_root);
    }
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let (mut f_n, mut s_n) = (old_size - 1, new_size - 1);
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if s_n == 0 {
            return false;
        }
        if f_n & 1 == 1 || f_n == s_n {
            fr = h.node(c, &fr);
            sr = h.node(c, &sr);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            sr = h.node(&sr, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    s_n == 0 && fr == *old_root && sr == *new_root
}

/// The right edge of a log: the roots of the perfect subtrees that make up a tree of `size`
/// leaves (one per bit set in `size`, largest first). It is all a log needs to append leaves,
/// compute the new tree head and prove the inclusion of the new leaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    pub size: u64,
    pub nodes: Vec<Hash>,
}

/// The result of appending a batch of leaves to a [`Frontier`].
#[derive(Debug, Clone)]
pub struct Appended {
    /// The frontier of the grown tree.
    pub frontier: Frontier,
    /// The tree head of the grown tree.
    pub root: Hash,
    /// For each appended leaf, its index and its audit path in the grown tree.
    pub proofs: Vec<(u64, Vec<Hash>)>,
}

impl Frontier {
    /// Whether `nodes` has one hash per bit set in `size`.
    pub fn is_well_formed(&self) -> bool {
        usize::try_from(self.size.count_ones()).is_ok_and(|n| n == self.nodes.len())
    }

    /// The tree head of the tree this frontier ends.
    pub fn root(&self, h: &impl MerkleHasher) -> Hash {
        let mut it = self.nodes.iter().rev();
        let Some(last) = it.next() else {
            return h.empty();
        };
        it.fold(*last, |acc, n| h.node(n, &acc))
    }

    /// The perfect subtrees of a tree of `size` leaves, as (first leaf, leaf count), largest
    /// first.
    fn blocks(size: u64) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut start = 0;
        for bit in (0..64).rev() {
            let len = 1u64 << bit;
            if size & len != 0 {
                out.push((start, len));
                start += len;
            }
        }
        out
    }

    /// Appends `leaves` (leaf hashes); `None` if the frontier is malformed.
    pub fn append(&self, h: &impl MerkleHasher, leaves: &[Hash]) -> Option<Appended> {
        if !self.is_well_formed() {
            return None;
        }
        let added = u64::try_from(leaves.len()).ok()?;
        let size = self.size.checked_add(added)?;
        let mut grown = Grower {
            h,
            old_size: self.size,
            old: Self::blocks(self.size)
                .into_iter()
                .zip(self.nodes.iter().copied())
                .map(|((start, len), hash)| ((start, start + len), hash))
                .collect(),
            leaves,
            memo: std::collections::HashMap::new(),
        };
        let nodes = Self::blocks(size)
            .into_iter()
            .map(|(start, len)| grown.hash(start, start + len))
            .collect::<Option<Vec<_>>>()?;
        let root = if size == 0 {
            h.empty()
        } else {
            grown.hash(0, size)?
        };
        let proofs = (self.size..size)
            .map(|m| {
                let mut path = Vec::new();
                grown.path(m, 0, size, &mut path)?;
                Some((m, path))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Appended {
            frontier: Frontier { size, nodes },
            root,
            proofs,
        })
    }
}

/// Hashes ranges of a tree whose old part is known only by its frontier.
struct Grower<'a, H> {
    h: &'a H,
    old_size: u64,
    old: std::collections::HashMap<(u64, u64), Hash>,
    leaves: &'a [Hash],
    memo: std::collections::HashMap<(u64, u64), Hash>,
}

impl<H: MerkleHasher> Grower<'_, H> {
    fn hash(&mut self, lo: u64, hi: u64) -> Option<Hash> {
        if hi <= self.old_size {
            // A range entirely in the old tree, reached from a range that is not: always one of
            // the old frontier's perfect subtrees.
            return self.old.get(&(lo, hi)).copied();
        }
        if hi - lo == 1 {
            let i = usize::try_from(lo - self.old_size).ok()?;
            return self.leaves.get(i).copied();
        }
        if let Some(h) = self.memo.get(&(lo, hi)) {
            return Some(*h);
        }
        let k = u64::try_from(split(usize::try_from(hi - lo).ok()?)).ok()?;
        let left = self.hash(lo, lo + k)?;
        let right = self.hash(lo + k, hi)?;
        let node = self.h.node(&left, &right);
        self.memo.insert((lo, hi), node);
        Some(node)
    }

    fn path(&mut self, m: u64, lo: u64, hi: u64, out: &mut Vec<Hash>) -> Option<()> {
        if hi - lo <= 1 {
            return Some(());
        }
        let k = u64::try_from(split(usize::try_from(hi - lo).ok()?)).ok()?;
        if m < lo + k {
            self.path(m, lo, lo + k, out)?;
            out.push(self.hash(lo + k, hi)?);
        } else {
            self.path(m, lo + k, hi, out)?;
            out.push(self.hash(lo, lo + k)?);
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy hasher for the shape of the algorithms: not cryptographic, but every input bit
    /// matters and leaf, node and empty cannot collide by construction.
    struct Toy;

    fn mix(tag: u8, parts: &[&[u8]]) -> Hash {
        let mut state: [u64; 4] = [
            0x9e37_79b9_7f4a_7c15,
            0xbf58_476d_1ce4_e5b9,
            0x94d0_49bb_1331_11eb,
            u64::from(tag),
        ];
        for part in parts {
            for (i, b) in part.iter().enumerate() {
                let lane = i % 4;
                state[lane] = (state[lane] ^ u64::from(*b))
                    .wrapping_mul(0x0100_0000_01b3)
                    .rotate_left(17);
                state[(lane + 1) % 4] ^= state[lane];
            }
            state[0] = state[0]
                .wrapping_add(part.len() as u64)
                .wrapping_mul(0x2545_f491_4f6c_dd1d);
        }
        let mut out = [0u8; 32];
        for (i, s) in state.iter().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&s.to_le_bytes());
        }
        out
    }

    impl MerkleHasher for Toy {
        fn empty(&self) -> Hash {
            mix(2, &[])
        }
        fn leaf(&self, data: &[u8]) -> Hash {
            mix(0, &[data])
        }
        fn node(&self, l: &Hash, r: &Hash) -> Hash {
            mix(1, &[l, r])
        }
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| Toy.leaf(format!("entry {i}").as_bytes()))
            .collect()
    }

    #[test]
    fn roots_follow_the_definition() {
        assert_eq!(root(&Toy, &[]), Toy.empty());
        let l = leaves(3);
        assert_eq!(root(&Toy, &l[..1]), l[0]);
        assert_eq!(root(&Toy, &l), Toy.node(&Toy.node(&l[0], &l[1]), &l[2]));
    }

    #[test]
    fn every_inclusion_proof_verifies_and_no_other() {
        for n in 1..=33 {
            let l = leaves(n);
            let r = root(&Toy, &l);
            for m in 0..n {
                let path = inclusion_proof(&Toy, m, &l).unwrap();
                assert!(
                    verify_inclusion(&Toy, m as u64, n as u64, &l[m], &path, &r),
                    "n={n} m={m}"
                );
                let other = Toy.leaf(b"forged");
                assert!(!verify_inclusion(
                    &Toy, m as u64, n as u64, &other, &path, &r
                ));
                if n > 1 {
                    assert!(!verify_inclusion(
                        &Toy,
                        ((m + 1) % n) as u64,
                        n as u64,
                        &l[m],
                        &path,
                        &r
                    ));
                }
            }
            assert!(inclusion_proof(&Toy, n, &l).is_none());
        }
    }

    #[test]
    fn every_consistency_proof_verifies_and_a_rewritten_history_does_not() {
        for n in 1..=33 {
            let l = leaves(n);
            let new_root = root(&Toy, &l);
            for m in 1..=n {
                let old_root = root(&Toy, &l[..m]);
                let proof = consistency_proof(&Toy, m, &l).unwrap();
                assert!(
                    verify_consistency(&Toy, m as u64, n as u64, &old_root, &new_root, &proof),
                    "n={n} m={m}"
                );
                let mut rewritten = l.clone();
                rewritten[m - 1] = Toy.leaf(b"rewritten");
                let forged_root = root(&Toy, &rewritten);
                assert!(
                    !verify_consistency(&Toy, m as u64, n as u64, &old_root, &forged_root, &proof),
                    "n={n} m={m}"
                );
            }
            assert!(consistency_proof(&Toy, 0, &l).is_none());
        }
    }

    /// Growing a log batch by batch from its frontier gives the same heads and audit paths as
    /// computing them from all the leaves.
    #[test]
    fn a_frontier_grows_like_the_whole_tree() {
        let all = leaves(70);
        for batch in [1usize, 2, 3, 5, 8, 13, 64] {
            let mut f = Frontier::default();
            assert_eq!(f.root(&Toy), Toy.empty());
            let mut start = 0;
            while start < all.len() {
                let end = (start + batch).min(all.len());
                let grown = f.append(&Toy, &all[start..end]).unwrap();
                assert_eq!(grown.frontier.size, end as u64);
                assert!(grown.frontier.is_well_formed());
                assert_eq!(
                    grown.root,
                    root(&Toy, &all[..end]),
                    "batch={batch} end={end}"
                );
                assert_eq!(grown.frontier.root(&Toy), grown.root);
                assert_eq!(grown.proofs.len(), end - start);
                for (m, path) in &grown.proofs {
                    let m = *m as usize;
                    assert_eq!(Some(path.clone()), inclusion_proof(&Toy, m, &all[..end]));
                }
                f = grown.frontier;
                start = end;
            }
        }
        let broken = Frontier {
            size: 3,
            nodes: vec![Toy.empty()],
        };
        assert!(broken.append(&Toy, &all[..1]).is_none());
    }
}
