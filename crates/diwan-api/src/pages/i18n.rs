//! The pages' languages: Fluent message files compiled into the binary, and how a request's
//! language is chosen (`?lang=`, then the `diwan_lang` cookie, then `Accept-Language`, then
//! Arabic).

use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// A language of the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ar,
    Fr,
    En,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Ar, Lang::Fr, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Self::Ar => "ar",
            Self::Fr => "fr",
            Self::En => "en",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "ar" => Some(Self::Ar),
            "fr" => Some(Self::Fr),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    pub fn dir(self) -> &'static str {
        match self {
            Self::Ar => "rtl",
            Self::Fr | Self::En => "ltr",
        }
    }

    /// The language's own name, for the switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Self::Ar => "العربية",
            Self::Fr => "Français",
            Self::En => "English",
        }
    }

    pub fn portal(self) -> diwan_app::portal::Language {
        match self {
            Self::Ar => diwan_app::portal::Language::Ar,
            Self::Fr => diwan_app::portal::Language::Fr,
            Self::En => diwan_app::portal::Language::En,
        }
    }

    /// The best of our languages for an `Accept-Language` header, if any matches.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut best: Option<(Lang, f32)> = None;
        for item in header.split(',').take(32) {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or_default().trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let primary = tag.split(['-', '_']).next().unwrap_or_default();
            if let Some(lang) = Lang::parse(primary)
                && q > 0.0
                && best.is_none_or(|(_, bq)| q > bq)
            {
                best = Some((lang, q));
            }
        }
        best.map(|(l, _)| l)
    }
}

const SOURCES: [(Lang, &str); 3] = [
    (Lang::Ar, include_str!("../../locales/ar.ftl")),
    (Lang::Fr, include_str!("../../locales/fr.ftl")),
    (Lang::En, include_str!("../../locales/en.ftl")),
];

type Bundle = FluentBundle<FluentResource>;

fn bundles() -> &'static [Bundle; 3] {
    static BUNDLES: OnceLock<[Bundle; 3]> = OnceLock::new();
    BUNDLES.get_or_init(|| SOURCES.map(|(lang, source)| bundle(lang, source)))
}

fn bundle(lang: Lang, source: &str) -> Bundle {
    let id: unic_langid::LanguageIdentifier = lang
        .code()
        .parse()
        .unwrap_or_else(|_| unic_langid::LanguageIdentifier::default());
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // Isolation is done in HTML (`<bdi>`, `dir="auto"`), not with invisible characters.
    bundle.set_use_isolating(false);
    let resource = FluentResource::try_new(source.to_owned()).unwrap_or_else(|(res, errors)| {
        tracing::error!(lang = lang.code(), ?errors, "message file has errors");
        res
    });
    if let Err(errors) = bundle.add_resource(resource) {
        tracing::error!(lang = lang.code(), ?errors, "message file has duplicates");
    }
    bundle
}

fn index(lang: Lang) -> usize {
    match lang {
        Lang::Ar => 0,
        Lang::Fr => 1,
        Lang::En => 2,
    }
}

/// The message `id` in `lang`, with arguments; the id itself when it is missing (a test checks
/// that none is).
pub fn message(lang: Lang, id: &str, args: Option<&FluentArgs<'_>>) -> String {
    let bundle = &bundles()[index(lang)];
    let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
        return id.to_owned();
    };
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, args, &mut errors);
    if !errors.is_empty() {
        tracing::warn!(lang = lang.code(), id, ?errors, "message formatting failed");
    }
    text.into_owned()
}

/// Whether `id` exists in `lang`.
pub fn has(lang: Lang, id: &str) -> bool {
    bundles()[index(lang)].has_message(id)
}

/// Builds Fluent arguments from pairs.
pub fn args<'a>(pairs: &[(&'a str, FluentValue<'a>)]) -> FluentArgs<'a> {
    let mut a = FluentArgs::new();
    for (k, v) in pairs {
        a.set(*k, v.clone());
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_supported() {
        assert_eq!(
            Lang::from_accept_language("fr-FR,fr;q=0.9,en;q=0.8"),
            Some(Lang::Fr)
        );
        assert_eq!(
            Lang::from_accept_language("de-DE, en;q=0.5, ar;q=0.7"),
            Some(Lang::Ar)
        );
        assert_eq!(Lang::from_accept_language("de, es"), None);
        assert_eq!(
            Lang::from_accept_language("en;q=0, fr;q=0.1"),
            Some(Lang::Fr)
        );
    }

    /// Every message of one file exists in the others, so no page shows a raw id.
    #[test]
    fn every_language_has_every_message() {
        let ids = |source: &str| -> Vec<String> {
            source
                .lines()
                .filter_map(|l| {
                    let (id, _) = l.split_once('=')?;
                    let id = id.trim();
                    (!l.starts_with([' ', '#', '.', '\t'])
                        && !id.is_empty()
                        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
                    .then(|| id.to_owned())
                })
                .collect()
        };
        for (_, source) in SOURCES {
            for id in ids(source) {
                for lang in Lang::ALL {
                    assert!(has(lang, &id), "{id} is missing in {}", lang.code());
                }
            }
        }
        assert!(ids(SOURCES[0].1).len() > 50);
    }

    #[test]
    fn arguments_are_formatted() {
        let a = args(&[("count", FluentValue::from(3))]);
        let text = message(Lang::En, "code-attempts-left", Some(&a));
        assert!(text.contains('3'), "{text}");
    }
}
