//! Parsed values: an `EmailAddress` is known to be well formed, a `Tag` to be normalised.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use crate::DomainError;

/// Longest display name, subject or team name accepted.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest tag.
pub const MAX_TAG_CHARS: usize = 64;
/// Most tags on one contact or conversation.
pub const MAX_TAGS: usize = 50;

macro_rules! string_value {
    ($(#[$doc:meta])* $name:ident, $parse:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
        #[serde(transparent)]
        #[schemars(transparent)]
        pub struct $name(String);

        impl $name {
            /// Parses and normalises the raw text, or says why it is not acceptable.
            pub fn parse(raw: &str) -> Result<Self, String> {
                let f: fn(&str) -> Result<String, String> = $parse;
                f(raw).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_value!(
    /// An email address, trimmed and lower-cased.
    EmailAddress,
    |raw| {
        let s = raw.trim().to_lowercase();
        let valid = s.len() <= 254
            && s.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && local.len() <= 64
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
                    && !domain.contains('@')
            })
            && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        if valid { Ok(s) } else { Err(format!("not a valid email address: {raw:?}")) }
    }
);

string_value!(
    /// A phone number in E.164 form (`+8613812345678`); spaces, dashes and brackets are dropped.
    PhoneNumber,
    |raw| {
        let s: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
            .collect();
        let digits = s.strip_prefix('+').unwrap_or("");
        if (6..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(s)
        } else {
            Err(format!("phone numbers must be in international form such as +8613812345678, got {raw:?}"))
        }
    }
);

string_value!(
    /// A label on a contact or conversation: trimmed, lower-cased, 1 to 64 characters, no commas.
    Tag,
    |raw| {
        let s = raw.trim().to_lowercase();
        let n = s.chars().count();
        if n == 0 || n > MAX_TAG_CHARS {
            return Err(format!("tags must be 1 to {MAX_TAG_CHARS} characters"));
        }
        if s.chars().any(|c| c == ',' || c.is_control()) {
            return Err("tags may not contain commas or control characters".into());
        }
        Ok(s)
    }
);

string_value!(
    /// A display name: trimmed, 1 to 200 characters, no control characters.
    Name,
    |raw| {
        let s = raw.trim().to_string();
        let n = s.chars().count();
        if n == 0 || n > MAX_NAME_CHARS {
            return Err(format!("must be 1 to {MAX_NAME_CHARS} characters"));
        }
        if s.chars().any(char::is_control) {
            return Err("may not contain control characters".into());
        }
        Ok(s)
    }
);

/// Deduplicates tags, keeping first-seen order, and enforces the count limit.
pub fn normalise_tags(field: &str, tags: Vec<Tag>) -> Result<Vec<Tag>, DomainError> {
    let mut out: Vec<Tag> = Vec::with_capacity(tags.len());
    for t in tags {
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > MAX_TAGS {
        return Err(DomainError::new(field, format!("at most {MAX_TAGS} tags")));
    }
    Ok(out)
}

/// Checks a free-form JSON attribute map: string keys up to 64 characters, at most 100 keys, 16 KiB in all.
pub fn check_attributes(
    field: &str,
    attrs: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), DomainError> {
    if attrs.len() > 100 {
        return Err(DomainError::new(field, "at most 100 attributes"));
    }
    if let Some(k) = attrs.keys().find(|k| k.is_empty() || k.chars().count() > 64) {
        return Err(DomainError::new(field, format!("attribute names must be 1 to 64 characters: {k:?}")));
    }
    let size = serde_json::to_vec(attrs).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > 16 * 1024 {
        return Err(DomainError::new(field, "attributes may take at most 16 KiB"));
    }
    Ok(())
}

/// Deserialises a field that may be absent (`None`), null (`Some(None)`) or a value (`Some(Some(v))`),
/// so that a PATCH can tell "leave alone" from "clear".
pub fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_values() {
        assert_eq!(EmailAddress::parse(" Li.Wei@Example.COM ").unwrap().as_str(), "li.wei@example.com");
        assert!(EmailAddress::parse("no-at-sign").is_err());
        assert!(EmailAddress::parse("a@b").is_err());
        assert_eq!(PhoneNumber::parse("+86 138-1234-5678").unwrap().as_str(), "+8613812345678");
        assert!(PhoneNumber::parse("13812345678").is_err());
        assert_eq!(Tag::parse(" VIP ").unwrap().as_str(), "vip");
        assert!(Tag::parse("a,b").is_err());
        assert!(Name::parse("   ").is_err());
    }
}
