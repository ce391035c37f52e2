//! Translations (Fluent catalogs, Vietnamese first, English second) and the language of a
//! request: `?lang=` wins and is remembered in a cookie, then the cookie, then Vietnamese.

use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "vi" | "vi-vn" => Some(Lang::Vi),
            "en" | "en-us" | "en-gb" => Some(Lang::En),
            _ => None,
        }
    }
    pub fn other(self) -> Lang {
        match self {
            Lang::Vi => Lang::En,
            Lang::En => Lang::Vi,
        }
    }
}

struct Catalogs {
    vi: FluentBundle<FluentResource>,
    en: FluentBundle<FluentResource>,
}

fn bundle(lang: &str, src: &str) -> FluentBundle<FluentResource> {
    let res = FluentResource::try_new(src.to_string())
        .unwrap_or_else(|(_, errs)| panic!("{lang}.ftl does not parse: {errs:?}"));
    let mut b = FluentBundle::new_concurrent(vec![lang.parse().expect("language id")]);
    // Isolation marks would end up inside HTML attributes and test assertions.
    b.set_use_isolating(false);
    b.add_resource(res).expect("no duplicate keys");
    b
}

fn catalogs() -> &'static Catalogs {
    static C: OnceLock<Catalogs> = OnceLock::new();
    C.get_or_init(|| Catalogs {
        vi: bundle("vi", include_str!("../i18n/vi.ftl")),
        en: bundle("en", include_str!("../i18n/en.ftl")),
    })
}

/// The translator for one language.
#[derive(Clone, Copy, Debug)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Tr {
        Tr { lang }
    }

    fn bundle(&self) -> &'static FluentBundle<FluentResource> {
        match self.lang {
            Lang::Vi => &catalogs().vi,
            Lang::En => &catalogs().en,
        }
    }

    /// The message for `key`; the key itself if missing (a test checks none are).
    pub fn t(&self, key: &str) -> String {
        self.format(key, None)
    }

    /// The message for `key` with named arguments.
    pub fn t_with(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut fa = FluentArgs::new();
        for (k, v) in args {
            fa.set(*k, FluentValue::from(v.to_string()));
        }
        self.format(key, Some(&fa))
    }

    fn format(&self, key: &str, args: Option<&FluentArgs>) -> String {
        let b = self.bundle();
        match b.get_message(key).and_then(|m| m.value()) {
            Some(p) => {
                let mut errs = vec![];
                b.format_pattern(p, args, &mut errs).into_owned()
            }
            None => key.to_string(),
        }
    }

    pub fn has(&self, key: &str) -> bool {
        self.bundle().has_message(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_exists_in_both_languages() {
        let keys = |src: &str| -> Vec<String> {
            src.lines()
                .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim().to_string()))
                .filter(|k| !k.starts_with('#') && !k.is_empty())
                .collect()
        };
        let vi = keys(include_str!("../i18n/vi.ftl"));
        let en = keys(include_str!("../i18n/en.ftl"));
        assert_eq!(vi, en);
        for k in &vi {
            assert!(Tr::new(Lang::Vi).has(k) && Tr::new(Lang::En).has(k), "{k}");
        }
    }

    #[test]
    fn arguments_are_filled_in() {
        let t = Tr::new(Lang::Vi).t_with("staff-verified", &[("username", "an")]);
        assert_eq!(t, "Đã xác thực danh tính cho tài khoản an.");
    }
}
