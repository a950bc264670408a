//! Importing an externally issued key and chain: PEM files or a PKCS#12 file.

use pki_types::PrivateKeyDer;
use pki_types::pem::PemObject as _;
use zeroize::Zeroizing;

use crate::{Certificate, PkiError, SigningKey};

/// DER of `AlgorithmIdentifier { id-ecPublicKey, prime256v1 }`.
const EC_P256_ALG_ID: &[u8] = &[
    0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
    0xce, 0x3d, 0x03, 0x01, 0x07,
];
/// DER of `AlgorithmIdentifier { rsaEncryption, NULL }`.
const RSA_ALG_ID: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];

/// Reads a key (`PRIVATE KEY` PKCS#8, `EC PRIVATE KEY` SEC1 on P-256, or `RSA PRIVATE KEY`)
/// and a certificate chain. Returns the chain with the key's certificate first, then the
/// other certificates in file order. Encrypted PEM keys are not supported.
pub fn import_pem(
    cert_chain_pem: &str,
    key_pem: &str,
) -> Result<(SigningKey, Vec<Certificate>), PkiError> {
    let key_der = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| PkiError::Import(format!("no usable private key in the PEM: {e}")))?;
    let pkcs8 = match &key_der {
        PrivateKeyDer::Pkcs8(k) => Zeroizing::new(k.secret_pkcs8_der().to_vec()),
        PrivateKeyDer::Sec1(k) => wrap_pkcs8(EC_P256_ALG_ID, k.secret_sec1_der()),
        PrivateKeyDer::Pkcs1(k) => wrap_pkcs8(RSA_ALG_ID, k.secret_pkcs1_der()),
        _ => {
            return Err(PkiError::Import(
                "unsupported private key format".to_owned(),
            ));
        }
    };
    let key = SigningKey::from_pkcs8(&pkcs8)?;
    let certs = Certificate::from_pem(cert_chain_pem)?;
    let chain = leaf_first(&key, certs)?;
    Ok((key, chain))
}

/// Reads a PKCS#12 file holding one private key and its chain. Supports the PBES2 /
/// AES-CBC / PBKDF2 files of OpenSSL 3 and the legacy PBE-SHA1-3DES (and RC2) ones.
pub fn import_pkcs12(
    der: &[u8],
    password: &str,
) -> Result<(SigningKey, Vec<Certificate>), PkiError> {
    let store = p12_keystore::KeyStore::from_pkcs12(der, password)
        .map_err(|e| PkiError::Import(format!("PKCS#12: {e}")))?;
    let (_, entry) = store.private_key_chain().ok_or_else(|| {
        PkiError::Import("PKCS#12 holds no private key with a certificate".into())
    })?;
    let key = SigningKey::from_pkcs8(entry.key())?;
    let certs = entry
        .chain()
        .iter()
        .map(|c| Certificate::from_der(c.as_der().to_vec()))
        .collect::<Result<Vec<_>, _>>()?;
    let chain = leaf_first(&key, certs)?;
    Ok((key, chain))
}

fn leaf_first(key: &SigningKey, mut certs: Vec<Certificate>) -> Result<Vec<Certificate>, PkiError> {
    let index = certs
        .iter()
        .position(|c| c.public_key_matches(key))
        .ok_or_else(|| PkiError::Import("no certificate matches the private key".to_owned()))?;
    let leaf = certs.remove(index);
    certs.insert(0, leaf);
    Ok(certs)
}

/// `PrivateKeyInfo { version 0, algorithm, privateKey OCTET STRING }`.
fn wrap_pkcs8(alg_id: &[u8], private_key: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut body = Zeroizing::new(vec![0x02, 0x01, 0x00]);
    body.extend_from_slice(alg_id);
    body.push(0x04);
    push_len(&mut body, private_key.len());
    body.extend_from_slice(private_key);
    let mut out = Zeroizing::new(vec![0x30]);
    push_len(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    out.push(0x80 | (bytes.len() - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}
