//! The demo brand's knowledge base: policies and product guides in English and Chinese, added to the demo
//! workspace as Markdown sources (and used by `lianluo eval kb` as the knowledge to search).

use lianluo_domain::knowledge::{NewKbSource, SourceKind};

/// (name, Markdown) of every document; the first line is its `# Title`.
pub const DOCS: &[(&str, &str)] = &[
    ("returns.en", include_str!("kb/returns.en.md")),
    ("returns.zh", include_str!("kb/returns.zh.md")),
    ("shipping.en", include_str!("kb/shipping.en.md")),
    ("shipping.zh", include_str!("kb/shipping.zh.md")),
    ("warranty.en", include_str!("kb/warranty.en.md")),
    ("warranty.zh", include_str!("kb/warranty.zh.md")),
    ("payment.en", include_str!("kb/payment.en.md")),
    ("payment.zh", include_str!("kb/payment.zh.md")),
    ("buds-pro-2.en", include_str!("kb/buds-pro-2.en.md")),
    ("buds-pro-2.zh", include_str!("kb/buds-pro-2.zh.md")),
    ("watch-s3.en", include_str!("kb/watch-s3.en.md")),
    ("watch-s3.zh", include_str!("kb/watch-s3.zh.md")),
    ("powercube.en", include_str!("kb/powercube.en.md")),
    ("powercube.zh", include_str!("kb/powercube.zh.md")),
    ("echo-mini.en", include_str!("kb/echo-mini.en.md")),
    ("echo-mini.zh", include_str!("kb/echo-mini.zh.md")),
    ("pad-11.en", include_str!("kb/pad-11.en.md")),
    ("pad-11.zh", include_str!("kb/pad-11.zh.md")),
    ("charger-65w.en", include_str!("kb/charger-65w.en.md")),
    ("charger-65w.zh", include_str!("kb/charger-65w.zh.md")),
    ("account.en", include_str!("kb/account.en.md")),
    ("account.zh", include_str!("kb/account.zh.md")),
];

/// The documents as sources: the title from the first heading, a public help-centre address.
pub fn sources() -> Vec<NewKbSource> {
    DOCS.iter()
        .map(|(name, md)| {
            let title = md.lines().next().unwrap_or(name).trim_start_matches('#').trim().to_string();
            NewKbSource {
                kind: SourceKind::Markdown,
                title,
                content: md.to_string(),
                url: Some(format!("https://lumio.example/help/{name}")),
                page_limit: None,
            }
        })
        .collect()
}
