//! Customers and the identities that tie one customer together across channels.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{
    ChannelId, ContactId, DomainError, Timestamp, WorkspaceId,
    value::{EmailAddress, Name, PhoneNumber, Tag, check_attributes, normalise_tags},
};

/// How a contact is recognised on a channel.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Identity {
    Email {
        value: EmailAddress,
    },
    Phone {
        value: PhoneNumber,
    },
    /// The id a channel knows the customer by (a WeChat OpenID, a shop's user id, …).
    External {
        channel_id: ChannelId,
        value: String,
    },
}

/// Longest external id accepted.
pub const MAX_EXTERNAL_ID_CHARS: usize = 256;
/// Most identities on one contact.
pub const MAX_IDENTITIES: usize = 20;

impl Identity {
    /// The identity's kind, as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            Identity::Email { .. } => "email",
            Identity::Phone { .. } => "phone",
            Identity::External { .. } => "external",
        }
    }

    pub fn channel_id(&self) -> Option<ChannelId> {
        match self {
            Identity::External { channel_id, .. } => Some(*channel_id),
            _ => None,
        }
    }

    pub fn value(&self) -> &str {
        match self {
            Identity::Email { value } => value.as_str(),
            Identity::Phone { value } => value.as_str(),
            Identity::External { value, .. } => value,
        }
    }

    /// Rebuilds an identity from its stored columns.
    pub fn from_parts(kind: &str, channel_id: Option<ChannelId>, value: &str) -> Option<Self> {
        match (kind, channel_id) {
            ("email", None) => EmailAddress::parse(value).ok().map(|value| Identity::Email { value }),
            ("phone", None) => PhoneNumber::parse(value).ok().map(|value| Identity::Phone { value }),
            ("external", Some(channel_id)) => {
                Some(Identity::External { channel_id, value: value.to_string() })
            }
            _ => None,
        }
    }
}

fn check_identities(ids: &mut Vec<Identity>) -> Result<(), DomainError> {
    let mut seen: Vec<Identity> = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        if let Identity::External { value, .. } = id {
            let n = value.chars().count();
            if n == 0 || n > MAX_EXTERNAL_ID_CHARS || value.chars().any(char::is_control) {
                return Err(DomainError::new(
                    format!("identities[{i}].value"),
                    format!("external ids must be 1 to {MAX_EXTERNAL_ID_CHARS} characters"),
                ));
            }
        }
        if !seen.contains(id) {
            seen.push(id.clone());
        }
    }
    if seen.len() > MAX_IDENTITIES {
        return Err(DomainError::new("identities", format!("at most {MAX_IDENTITIES} identities")));
    }
    *ids = seen;
    Ok(())
}

/// A customer: one profile, however many channels they write from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Contact {
    pub id: ContactId,
    pub workspace_id: WorkspaceId,
    pub name: Option<Name>,
    pub identities: Vec<Identity>,
    /// Free-form facts about the customer (`{"city": "杭州", "vip_level": 2}`).
    pub attributes: Map<String, Value>,
    pub tags: Vec<Tag>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Input to create a contact.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContact {
    #[serde(default)]
    pub name: Option<Name>,
    #[serde(default)]
    pub identities: Vec<Identity>,
    #[serde(default)]
    pub attributes: Map<String, Value>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl NewContact {
    /// Checks limits and normalises tags and identities in place.
    pub fn validate(&mut self) -> Result<(), DomainError> {
        check_identities(&mut self.identities)?;
        check_attributes("attributes", &self.attributes)?;
        self.tags = normalise_tags("tags", std::mem::take(&mut self.tags))?;
        Ok(())
    }
}

/// Changes to a contact. `identities` and `tags`, when given, replace the lists;
/// `attributes` is merged key by key, and a `null` value removes that key.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPatch {
    #[serde(default, deserialize_with = "crate::value::double_option")]
    pub name: Option<Option<Name>>,
    pub identities: Option<Vec<Identity>>,
    pub attributes: Option<Map<String, Value>>,
    pub tags: Option<Vec<Tag>>,
}

impl ContactPatch {
    pub fn validate(&mut self) -> Result<(), DomainError> {
        if let Some(ids) = &mut self.identities {
            check_identities(ids)?;
        }
        if let Some(tags) = self.tags.take() {
            self.tags = Some(normalise_tags("tags", tags)?);
        }
        Ok(())
    }

    /// Applies the patch, then re-checks the merged attributes.
    pub fn apply(&self, c: &mut Contact, now: Timestamp) -> Result<(), DomainError> {
        if let Some(n) = &self.name {
            c.name = n.clone();
        }
        if let Some(ids) = &self.identities {
            c.identities = ids.clone();
        }
        if let Some(attrs) = &self.attributes {
            for (k, v) in attrs {
                if v.is_null() {
                    c.attributes.remove(k);
                } else {
                    c.attributes.insert(k.clone(), v.clone());
                }
            }
            check_attributes("attributes", &c.attributes)?;
        }
        if let Some(t) = &self.tags {
            c.tags = t.clone();
        }
        c.updated_at = now;
        Ok(())
    }
}
