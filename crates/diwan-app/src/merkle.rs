//! SHA-256 for the register log's Merkle tree (RFC 9162): the hasher that
//! `diwan_domain::merkle` arranges.

use diwan_domain::merkle::{Hash, MerkleHasher};
use ring::digest::{Context, SHA256};

/// `H = SHA-256`, with RFC 9162's `0x00` leaf and `0x01` node prefixes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sha256Tree;

fn finish(ctx: Context) -> Hash {
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

impl MerkleHasher for Sha256Tree {
    fn empty(&self) -> Hash {
        finish(Context::new(&SHA256))
    }

    fn leaf(&self, data: &[u8]) -> Hash {
        let mut ctx = Context::new(&SHA256);
        ctx.update(&[0x00]);
        ctx.update(data);
        finish(ctx)
    }

    fn node(&self, left: &Hash, right: &Hash) -> Hash {
        let mut ctx = Context::new(&SHA256);
        ctx.update(&[0x01]);
        ctx.update(left);
        ctx.update(right);
        finish(ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diwan_domain::merkle::{consistency_proof, root, verify_consistency};

    fn hex(h: &Hash) -> String {
        h.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The reference vectors published with RFC 6962's first implementation: eight leaves and
    /// the tree head after each.
    #[test]
    fn matches_the_reference_tree_heads() {
        let data: [&[u8]; 8] = [
            b"",
            &[0x00],
            &[0x10],
            &[0x20, 0x21],
            &[0x30, 0x31],
            &[0x40, 0x41, 0x42, 0x43],
            &[0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
            &[
                0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d,
                0x6e, 0x6f,
            ],
        ];
        let expected = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let leaves: Vec<Hash> = data.iter().map(|d| Sha256Tree.leaf(d)).collect();
        for (n, want) in expected.iter().enumerate() {
            assert_eq!(
                hex(&root(&Sha256Tree, &leaves[..=n])),
                *want,
                "size {}",
                n + 1
            );
        }
        assert_eq!(
            hex(&Sha256Tree.empty()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let proof = consistency_proof(&Sha256Tree, 3, &leaves).unwrap();
        assert!(verify_consistency(
            &Sha256Tree,
            3,
            8,
            &root(&Sha256Tree, &leaves[..3]),
            &root(&Sha256Tree, &leaves),
            &proof
        ));
    }
}
