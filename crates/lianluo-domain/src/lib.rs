//! Lianluo's domain: ids, entities, validated values and the rules that change them. Pure logic, no I/O.

/// Defines an enum whose values travel as fixed names (`"message.created"`, `"api_key"`) from one list of
/// variants and their names: serde uses the names, and the enum gets `ALL`, `as_str`, `Display` and a
/// `FromStr` that refuses any other name (with the field it came from).
macro_rules! wire_enum {
    (
        $(#[$meta:meta])* pub enum $name:ident ($field:literal) {
            $($(#[$doc:meta])* $variant:ident = $wire:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
        pub enum $name {
            $($(#[$doc])* #[serde(rename = $wire)] $variant,)*
        }

        impl $name {
            /// Every value, in the order defined.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The name it travels as.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)*
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::DomainError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| $crate::DomainError::new($field, format!("unknown value {s:?}")))
            }
        }
    };
}

pub mod ai;
pub mod canned;
pub mod contact;
pub mod conversation;
pub mod csat;
pub mod directory;
pub mod error;
pub mod event;
pub mod id;
pub mod job;
pub mod knowledge;
pub mod message;
pub mod page;
pub mod routing;
pub mod time;
pub mod value;

pub use error::DomainError;
pub use id::*;
pub use time::Timestamp;
