//! The installation's PKI: a root, an issuing CA, a log signer and one seal per registry,
//! created on first start and kept in the store with their keys sealed by the master key.
//!
//! Creation is race-safe between processes: each object is inserted into its slot only if the
//! slot is free, and whoever loses reads the winner's back.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use diwan_pki::{Certificate, MasterKey, Names, PkiError, Profile, SigningKey, jws};

use crate::error::AppError;
use crate::model::{PkiObject, Registry};
use crate::ports::Store;

/// What the PKI needs from the configuration.
#[derive(Debug, Clone)]
pub struct PkiSettings {
    /// The organisation named in the CA certificates.
    pub organization: String,
    /// ISO 3166 country code for the certificates.
    pub country: String,
    /// The public base URL (for the CRL distribution points).
    pub public_url: String,
    /// The policy (dotted OID) under which the time-stamping unit issues time-stamps.
    pub tsa_policy: String,
    /// Roots of external certification authorities whose signing certificates this
    /// installation trusts (signers may import keys certified by them).
    pub trusted_roots: Vec<Certificate>,
    /// Whether anyone may ask the time-stamping unit over HTTP (else only agents).
    pub tsa_public: bool,
}

/// A key with its certificate and the chain above it (issuing CA first, root excluded).
pub struct Credential {
    pub key: Arc<SigningKey>,
    pub certificate: Certificate,
    pub chain: Vec<Certificate>,
    /// Signs JWS with `x5c` = certificate + chain.
    pub signer: jws::Signer<Arc<SigningKey>>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("subject", &self.certificate.subject())
            .finish_non_exhaustive()
    }
}

impl Credential {
    fn new(
        key: SigningKey,
        certificate: Certificate,
        chain: Vec<Certificate>,
    ) -> Result<Self, PkiError> {
        let key = Arc::new(key);
        let mut x5c = vec![certificate.clone()];
        x5c.extend(chain.iter().cloned());
        let signer = jws::Signer::new(Arc::clone(&key), &x5c)?;
        Ok(Self {
            key,
            certificate,
            chain,
            signer,
        })
    }
}

/// CRLs (DER) and when they were made.
type CachedCrls = (DateTime<Utc>, Arc<Vec<Vec<u8>>>);

pub struct Pki {
    master: MasterKey,
    settings: PkiSettings,
    pub root: Certificate,
    pub issuing: Credential,
    pub log: Credential,
    /// The time-stamping unit (RFC 3161).
    pub tsa: Credential,
    seals: RwLock<HashMap<String, Arc<Credential>>>,
    /// Roots of imported seals' chains (self-signed certificates given with them): trusted
    /// beside the installation's root when this installation verifies receipts.
    imported_anchors: RwLock<Vec<Certificate>>,
    /// Revoked certificates (serial, time) per issuer subject, for the CRLs.
    revoked: RwLock<Vec<(String, String, DateTime<Utc>)>>,
    /// The CRLs last made, and when.
    crl_cache: std::sync::Mutex<Option<CachedCrls>>,
    /// Chains already validated, for verification.
    pub chain_cache: crate::receipts::verify::ChainCache,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki")
            .field("root", &self.root.subject())
            .finish_non_exhaustive()
    }
}

fn pki_error(e: PkiError) -> AppError {
    AppError::internal(format!("PKI: {e}"))
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn pem_chain(certs: &[Certificate]) -> String {
    certs.iter().map(Certificate::to_pem).collect()
}

impl Pki {
    /// Loads the PKI from the store, creating what is missing.
    pub fn open(
        store: &dyn Store,
        master: MasterKey,
        settings: PkiSettings,
        now: DateTime<Utc>,
    ) -> Result<Self, AppError> {
        let org = |cn: &str| Names {
            common_name: cn.to_owned(),
            organization: Some(settings.organization.clone()),
            country: Some(settings.country.clone()),
            ..Names::default()
        };
        let root_slot = ensure(store, &master, "root", "root", None, now, |_| {
            let key = SigningKey::generate_p256()?;
            let cert = diwan_pki::self_signed_root(&org("Diwan Root CA"), &key, now)?;
            Ok((key, cert, Vec::new()))
        })?;
        let root = root_slot.certificate.clone();
        let root_key = root_slot.key.clone();
        let issuing = ensure(store, &master, "issuing", "issuing", None, now, |_| {
            let key = SigningKey::generate_p256()?;
            let profile = Profile::IssuingCa {
                crl_url: Some(format!("{}/api/v1/pki/root.crl", settings.public_url)),
            };
            let cert = diwan_pki::issue(
                &profile,
                &org("Diwan Issuing CA"),
                &key.public_key_der(),
                &root,
                &root_key,
                now,
            )?;
            Ok((key, cert, Vec::new()))
        })?;
        // An end-entity credential of the issuing CA, made once in its slot.
        let issued = |slot: &str, profile: Profile, cn: &str| {
            ensure(store, &master, slot, slot, None, now, |_| {
                let key = SigningKey::generate_p256()?;
                let cert = diwan_pki::issue(
                    &profile,
                    &org(cn),
                    &key.public_key_der(),
                    &issuing.certificate,
                    &issuing.key,
                    now,
                )?;
                Ok((key, cert, vec![issuing.certificate.clone()]))
            })
        };
        let issuing_crl = Some(format!("{}/api/v1/pki/issuing.crl", settings.public_url));
        let log = issued(
            "log",
            Profile::LogSigner {
                crl_url: issuing_crl.clone(),
            },
            "Diwan Register Log",
        )?;
        let tsa = issued(
            "tsa",
            Profile::TimeStamping {
                crl_url: issuing_crl,
            },
            "Diwan Time-Stamping Unit",
        )?;
        let pki = Self {
            master,
            settings,
            root,
            issuing,
            log,
            tsa,
            seals: RwLock::default(),
            imported_anchors: RwLock::default(),
            revoked: RwLock::default(),
            crl_cache: std::sync::Mutex::default(),
            chain_cache: crate::receipts::verify::ChainCache::default(),
        };
        pki.reload(store)?;
        Ok(pki)
    }

    /// Reads the seals and revocations from the store again.
    pub fn reload(&self, store: &dyn Store) -> Result<(), AppError> {
        let mut seals = HashMap::new();
        let mut revoked = Vec::new();
        let mut anchors: Vec<Certificate> = Vec::new();
        for o in store.pki_objects()? {
            if let Some(at) = o.revoked_at {
                let cert = certificate(&o.certificate)?;
                revoked.push((cert.issuer(), o.serial.clone(), at));
            }
            if o.role == "seal" && !o.chain.trim().is_empty() {
                for c in Certificate::from_pem(&o.chain).map_err(pki_error)? {
                    if c.is_ca()
                        && c.subject() == c.issuer()
                        && c != self.root
                        && !anchors.contains(&c)
                    {
                        anchors.push(c);
                    }
                }
            }
            if let Some(registry_id) = o.slot.strip_prefix("seal:") {
                seals.insert(registry_id.to_owned(), Arc::new(self.credential(&o)?));
            }
        }
        *self
            .imported_anchors
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = anchors;
        *self
            .seals
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = seals;
        *self
            .revoked
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = revoked;
        Ok(())
    }

    fn credential(&self, o: &PkiObject) -> Result<Credential, AppError> {
        open_credential(&self.master, o)
    }

    /// Serials of every revoked certificate.
    pub fn revoked_serials(&self) -> Vec<String> {
        self.revoked
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(_, s, _)| s.clone())
            .collect()
    }

    /// The seal of a registry, if it has one.
    pub fn seal(&self, registry_id: &str) -> Option<Arc<Credential>> {
        self.seals
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(registry_id)
            .cloned()
    }

    /// Gives every registry without a seal a new one issued by the internal CA.
    pub fn ensure_seals(
        &self,
        store: &dyn Store,
        registries: &[Registry],
        administration_name: impl Fn(&Registry) -> String,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let mut created = false;
        for r in registries {
            if self.seal(&r.id).is_some() {
                continue;
            }
            let slot = format!("seal:{}", r.id);
            let result = ensure(store, &self.master, &slot, "seal", Some(&r.id), now, |_| {
                self.issue_seal(r, administration_name(r), now)
            });
            match result {
                Ok(_) => created = true,
                // A name the CA refuses (e.g. mixed scripts) must not stop the others.
                Err(e) => {
                    tracing::error!(registry = %r.code, error = %e, "cannot create the registry's seal")
                }
            }
        }
        if created {
            self.reload(store)?;
        }
        Ok(())
    }

    /// A new seal key and certificate for a registry from the internal issuing CA.
    fn issue_seal(
        &self,
        r: &Registry,
        administration_name: String,
        now: DateTime<Utc>,
    ) -> Result<Made, PkiError> {
        let names = Names {
            common_name: format!("{} ({})", r.name_fr, r.code),
            common_name_ar: Some(r.name_ar.clone()).filter(|n| !n.trim().is_empty()),
            organization: Some(administration_name),
            organizational_unit: Some(r.code.to_string()),
            country: Some(self.settings.country.clone()),
        };
        let key = SigningKey::generate_p256()?;
        let profile = Profile::Seal {
            crl_url: Some(format!(
                "{}/api/v1/pki/issuing.crl",
                self.settings.public_url
            )),
        };
        let cert = diwan_pki::issue(
            &profile,
            &names,
            &key.public_key_der(),
            &self.issuing.certificate,
            &self.issuing.key,
            now,
        )?;
        Ok((key, cert, vec![self.issuing.certificate.clone()]))
    }

    /// Gives a registry a new seal (a new key and certificate from the internal CA) in place
    /// of its current one, internal or imported; the old certificate is kept, retired, so
    /// what it sealed still verifies. Answers the new certificate.
    pub fn renew_seal(
        &self,
        store: &dyn Store,
        registry: &Registry,
        administration_name: String,
        now: DateTime<Utc>,
    ) -> Result<Certificate, AppError> {
        let (key, certificate, chain) = self
            .issue_seal(registry, administration_name, now)
            .map_err(pki_error)?;
        let object = sealed_object(
            &self.master,
            &format!("seal:{}", registry.id),
            "seal",
            Some(&registry.id),
            &key,
            &certificate,
            &chain,
            now,
        )
        .map_err(pki_error)?;
        store.replace_pki_object(&object.slot, &object)?;
        self.reload(store)?;
        Ok(certificate)
    }

    /// Replaces a registry's seal by an external certificate and key (its chain must be
    /// given; it need not lead to the internal root).
    pub fn import_seal(
        &self,
        store: &dyn Store,
        registry_id: &str,
        key: SigningKey,
        chain: Vec<Certificate>,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let Some((certificate, above)) = chain.split_first() else {
            return Err(AppError::unprocessable(
                "bad_certificate",
                "no certificate given",
            ));
        };
        if !certificate.public_key_matches(&key) {
            return Err(AppError::unprocessable(
                "bad_certificate",
                "the key does not belong to the certificate",
            ));
        }
        if certificate.not_after() < now {
            return Err(AppError::unprocessable(
                "bad_certificate",
                "the certificate has expired",
            ));
        }
        if !certificate
            .key_usage()
            .is_some_and(|k| k.digital_signature || k.non_repudiation)
        {
            return Err(AppError::unprocessable(
                "bad_certificate",
                "a seal certificate needs the digitalSignature or nonRepudiation key usage",
            ));
        }
        // The chain must lead to a root given with it, or to this installation's root.
        let mut anchors: Vec<Certificate> = above
            .iter()
            .filter(|c| c.is_ca() && c.subject() == c.issuer())
            .cloned()
            .collect();
        anchors.push(self.root.clone());
        diwan_pki::validate_chain(certificate, above, &anchors, now, &[]).map_err(|e| {
            AppError::unprocessable(
                "bad_certificate",
                format!("the chain does not lead to a root given with it: {e}"),
            )
        })?;
        let object = sealed_object(
            &self.master,
            &format!("seal:{registry_id}"),
            "seal",
            Some(registry_id),
            &key,
            certificate,
            above,
            now,
        )
        .map_err(pki_error)?;
        store.replace_pki_object(&object.slot, &object)?;
        self.reload(store)
    }

    /// The anchors this installation verifies against: its root, the external roots it was
    /// configured to trust, then the roots given with imported seals.
    pub fn anchors(&self) -> Vec<Certificate> {
        let mut out = vec![self.root.clone()];
        out.extend(self.settings.trusted_roots.iter().cloned());
        out.extend(
            self.imported_anchors
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
                .cloned(),
        );
        out
    }

    /// The trust anchor, PEM.
    pub fn root_pem(&self) -> String {
        self.root.to_pem()
    }

    /// The CRLs, made at most once a minute.
    pub fn cached_crls(
        &self,
        store: &dyn Store,
        now: DateTime<Utc>,
    ) -> Result<Arc<Vec<Vec<u8>>>, AppError> {
        let mut cache = self
            .crl_cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((at, crls)) = cache.as_ref()
            && now >= *at
            && now - *at < chrono::Duration::minutes(1)
        {
            return Ok(Arc::clone(crls));
        }
        let crls = Arc::new(self.crls(store, now)?);
        *cache = Some((now, Arc::clone(&crls)));
        Ok(crls)
    }

    /// Fresh CRLs (DER) of the root and of the issuing CA, in that order, from the
    /// revocations stored now.
    pub fn crls(&self, store: &dyn Store, now: DateTime<Utc>) -> Result<Vec<Vec<u8>>, AppError> {
        let objects = store.pki_objects()?;
        let mut revoked = Vec::new();
        for o in &objects {
            let Some(at) = o.revoked_at else { continue };
            revoked.push((certificate(&o.certificate)?.issuer(), o.serial.clone(), at));
        }
        let root = objects
            .iter()
            .find(|o| o.slot == "root")
            .ok_or_else(|| AppError::internal("the root is missing"))?;
        let root = self.credential(root)?;
        let crl = |issuer: &Certificate, key: &SigningKey| {
            let listed: Vec<(String, DateTime<Utc>)> = revoked
                .iter()
                .filter(|(i, _, _)| *i == issuer.subject())
                .map(|(_, s, at)| (s.clone(), *at))
                .collect();
            let number = u64::try_from(now.timestamp()).unwrap_or(0);
            diwan_pki::crl(
                issuer,
                key,
                number,
                &listed,
                now,
                now + chrono::Duration::days(1),
            )
            .map_err(pki_error)
        };
        let crls = vec![
            crl(&root.certificate, &root.key)?,
            crl(&self.issuing.certificate, &self.issuing.key)?,
        ];
        *self
            .revoked
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = revoked;
        Ok(crls)
    }
}

fn certificate(pem: &str) -> Result<Certificate, AppError> {
    Certificate::from_pem(pem)
        .map_err(pki_error)?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::internal("a stored certificate is empty"))
}

fn open_credential(master: &MasterKey, o: &PkiObject) -> Result<Credential, AppError> {
    let cert = certificate(&o.certificate)?;
    let chain = if o.chain.trim().is_empty() {
        Vec::new()
    } else {
        Certificate::from_pem(&o.chain).map_err(pki_error)?
    };
    let sealed = b64()
        .decode(&o.sealed_key)
        .map_err(|_| AppError::internal("a stored key is not base64"))?;
    let pkcs8 = master.open(&sealed, o.serial.as_bytes()).map_err(|_| {
        AppError::internal(
            "a stored key cannot be opened: the master secret is not the one it was sealed with",
        )
    })?;
    let key = SigningKey::from_pkcs8(&pkcs8).map_err(pki_error)?;
    Credential::new(key, cert, chain).map_err(pki_error)
}

#[expect(clippy::too_many_arguments, reason = "one object's fields")]
fn sealed_object(
    master: &MasterKey,
    slot: &str,
    role: &str,
    registry_id: Option<&str>,
    key: &SigningKey,
    certificate: &Certificate,
    chain: &[Certificate],
    now: DateTime<Utc>,
) -> Result<PkiObject, PkiError> {
    let serial = certificate.serial_hex();
    let sealed = master.seal(key.pkcs8_der(), serial.as_bytes())?;
    Ok(PkiObject {
        slot: slot.to_owned(),
        role: role.to_owned(),
        registry_id: registry_id.map(str::to_owned),
        serial,
        certificate: certificate.to_pem(),
        chain: pem_chain(chain),
        sealed_key: b64().encode(sealed),
        created_at: now,
        revoked_at: None,
    })
}

type Made = (SigningKey, Certificate, Vec<Certificate>);

/// The credential in `slot`, made by `make` and stored if the slot is empty.
fn ensure(
    store: &dyn Store,
    master: &MasterKey,
    slot: &str,
    role: &str,
    registry_id: Option<&str>,
    now: DateTime<Utc>,
    make: impl FnOnce(()) -> Result<Made, PkiError>,
) -> Result<Credential, AppError> {
    let find = || -> Result<Option<PkiObject>, AppError> {
        Ok(store.pki_objects()?.into_iter().find(|o| o.slot == slot))
    };
    if let Some(o) = find()? {
        return open_credential(master, &o);
    }
    let (key, cert, chain) = make(()).map_err(pki_error)?;
    let object = sealed_object(master, slot, role, registry_id, &key, &cert, &chain, now)
        .map_err(pki_error)?;
    if store.insert_pki_object(&object)? {
        tracing::info!(slot, subject = %cert.subject(), "certificate created");
        return Credential::new(key, cert, chain).map_err(pki_error);
    }
    // Another process was quicker: use its object.
    let o = find()?.ok_or_else(|| AppError::internal(format!("PKI slot {slot} vanished")))?;
    open_credential(master, &o)
}

impl Pki {
    /// The organisation named in the certificates.
    pub fn organization(&self) -> &str {
        &self.settings.organization
    }

    /// Whether the time-stamping unit answers anyone over HTTP.
    pub fn tsa_public(&self) -> bool {
        self.settings.tsa_public
    }

    /// The time-stamping unit's policy (dotted OID).
    pub fn tsa_policy(&self) -> &str {
        &self.settings.tsa_policy
    }

    /// The country code of the certificates.
    pub fn country(&self) -> &str {
        &self.settings.country
    }

    /// Where the issuing CA's CRL is published (the CRL distribution point of what it issues).
    pub fn issuing_crl_url(&self) -> String {
        format!("{}/api/v1/pki/issuing.crl", self.settings.public_url)
    }

    /// A stored object whose key material is `blob` (already in its own form, e.g. sealed
    /// under a PIN), sealed again with the master key.
    pub(crate) fn sealed_blob(
        &self,
        slot: &str,
        role: &str,
        blob: &[u8],
        certificate: &Certificate,
        chain: &[Certificate],
        now: DateTime<Utc>,
    ) -> Result<PkiObject, AppError> {
        let serial = certificate.serial_hex();
        let sealed = self
            .master
            .seal(blob, serial.as_bytes())
            .map_err(pki_error)?;
        Ok(PkiObject {
            slot: slot.to_owned(),
            role: role.to_owned(),
            registry_id: None,
            serial,
            certificate: certificate.to_pem(),
            chain: pem_chain(chain),
            sealed_key: b64().encode(sealed),
            created_at: now,
            revoked_at: None,
        })
    }

    /// Opens what [`Pki::sealed_blob`] sealed.
    pub(crate) fn open_blob(&self, sealed: &[u8], serial: &str) -> Result<Vec<u8>, AppError> {
        self.master.open(sealed, serial.as_bytes()).map_err(|_| {
            AppError::internal(
                "a stored key cannot be opened: the master secret is not the one it was sealed with",
            )
        })
    }

    /// Drops the cached CRLs (after a revocation), so the next ones list it.
    pub fn forget_crls(&self) {
        *self
            .crl_cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    /// A tag binding `data` to this installation's secret (web form tokens).
    pub fn tag(&self, data: &[u8]) -> Vec<u8> {
        self.master.tag(data)
    }

    /// Whether `tag` was made by [`Pki::tag`] for `data`.
    pub fn tag_is_valid(&self, data: &[u8], tag: &[u8]) -> bool {
        self.master.tag_is_valid(data, tag)
    }
}
