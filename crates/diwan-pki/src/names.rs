//! Subject names, with the Arabic name kept apart from the Latin ones.
//!
//! A name attribute never mixes Arabic and Latin letters: verifiers and PDF readers
//! reorder mixed runs unpredictably. The Arabic common name therefore goes in its own
//! attribute, X.520 `name` (OID 2.5.4.41, UTF8String), placed after the `CN`.

use rcgen::{DistinguishedName, DnType, DnValue};
use x509_parser::x509::X509Name;

use crate::PkiError;

/// OID of the X.520 `name` attribute, which carries the Arabic common name.
pub const OID_NAME: &[u64] = &[2, 5, 4, 41];
const OID_NAME_STR: &str = "2.5.4.41";

/// The subject of a certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    /// `CN`, in Latin script (or Arabic only).
    pub common_name: String,
    /// `O`.
    pub organization: Option<String>,
    /// `OU`.
    pub organizational_unit: Option<String>,
    /// `C`, two upper-case letters (ISO 3166), e.g. `MA`.
    pub country: Option<String>,
    /// The Arabic common name, in the `name` attribute (2.5.4.41).
    pub common_name_ar: Option<String>,
}

impl Names {
    /// Just a common name.
    pub fn cn(common_name: impl Into<String>) -> Self {
        Self {
            common_name: common_name.into(),
            ..Self::default()
        }
    }

    pub(crate) fn to_distinguished_name(&self) -> Result<DistinguishedName, PkiError> {
        let mut dn = DistinguishedName::new();
        if let Some(c) = &self.country {
            if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(PkiError::BadName(format!(
                    "country must be two upper-case letters, got {c:?}"
                )));
            }
            let printable = rcgen::string::PrintableString::try_from(c.as_str())
                .map_err(|e| PkiError::BadName(e.to_string()))?;
            dn.push(DnType::CountryName, DnValue::PrintableString(printable));
        }
        let text_attrs = [
            (DnType::OrganizationName, self.organization.as_ref()),
            (
                DnType::OrganizationalUnitName,
                self.organizational_unit.as_ref(),
            ),
            (DnType::CommonName, Some(&self.common_name)),
            (
                DnType::CustomDnType(OID_NAME.to_vec()),
                self.common_name_ar.as_ref(),
            ),
        ];
        for (ty, value) in text_attrs {
            if let Some(value) = value {
                check_attribute(value)?;
                dn.push(ty, DnValue::Utf8String(value.clone()));
            }
        }
        Ok(dn)
    }

    pub(crate) fn from_x509(name: &X509Name<'_>) -> Self {
        let mut names = Self::default();
        for attr in name.iter_attributes() {
            let Ok(value) = attr.as_str() else { continue };
            let value = value.to_owned();
            match attr.attr_type().to_id_string().as_str() {
                "2.5.4.3" => names.common_name = value,
                "2.5.4.10" => names.organization = Some(value),
                "2.5.4.11" => names.organizational_unit = Some(value),
                "2.5.4.6" => names.country = Some(value),
                OID_NAME_STR => names.common_name_ar = Some(value),
                _ => {}
            }
        }
        names
    }
}

fn check_attribute(value: &str) -> Result<(), PkiError> {
    if value.trim().is_empty() || value.len() > 256 {
        return Err(PkiError::BadName(
            "name attributes must be 1 to 256 bytes, not blank".to_owned(),
        ));
    }
    if value.chars().any(is_arabic) && value.chars().any(is_latin) {
        return Err(PkiError::BadName(format!(
            "{value:?} mixes Arabic and Latin letters; put the Arabic name in common_name_ar"
        )));
    }
    Ok(())
}

fn is_arabic(c: char) -> bool {
    matches!(c,
        '\u{0600}'..='\u{06FF}'
        | '\u{0750}'..='\u{077F}'
        | '\u{08A0}'..='\u{08FF}'
        | '\u{FB50}'..='\u{FDFF}'
        | '\u{FE70}'..='\u{FEFF}')
}

fn is_latin(c: char) -> bool {
    c.is_ascii_alphabetic()
        || matches!(c, '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}') && c.is_alphabetic()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_scripts_in_one_attribute_are_refused() {
        let mut names = Names::cn("Bureau d'ordre مكتب");
        assert!(matches!(
            names.to_distinguished_name(),
            Err(PkiError::BadName(_))
        ));
        names.common_name = "Bureau d'ordre 12".to_owned();
        names.common_name_ar = Some("مكتب الضبط 12".to_owned());
        assert!(names.to_distinguished_name().is_ok());
    }

    #[test]
    fn country_must_be_two_capitals() {
        let names = Names {
            country: Some("ma".to_owned()),
            ..Names::cn("x")
        };
        assert!(names.to_distinguished_name().is_err());
    }
}
