//! Who works in a workspace and where conversations arrive: workspaces, users, teams, channels, API tokens.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{
    ApiTokenId, ChannelId, DomainError, TeamId, Timestamp, UserId, WorkspaceId,
    value::{EmailAddress, Name, check_attributes, double_option},
};

/// A tenant. Nothing crosses from one workspace to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub name: Name,
    /// Short unique handle, `[a-z0-9-]`, used in URLs and by the CLI.
    pub slug: String,
    pub created_at: Timestamp,
}

/// Checks a workspace slug: 2 to 40 characters of `a-z`, `0-9` and `-`, not starting or ending with `-`.
pub fn parse_slug(raw: &str) -> Result<String, DomainError> {
    let s = raw.trim().to_lowercase();
    let ok = (2..=40).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if ok { Ok(s) } else { Err(DomainError::new("slug", "2 to 40 characters of a-z, 0-9 and '-'")) }
}

/// What a user may do. Admins manage the workspace; agents work conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "agent" => Some(Role::Agent),
            _ => None,
        }
    }

    /// Whether this role includes everything `needed` grants.
    pub fn allows(self, needed: Role) -> bool {
        matches!((self, needed), (Role::Admin, _) | (Role::Agent, Role::Agent))
    }
}

/// A person who signs in to the workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct User {
    pub id: UserId,
    pub workspace_id: WorkspaceId,
    pub name: Name,
    /// Sign-in address; unique across the installation.
    pub email: EmailAddress,
    pub role: Role,
    /// A deactivated user cannot sign in and is not routed conversations.
    pub active: bool,
    pub created_at: Timestamp,
}

/// Shortest and longest password accepted.
pub const PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 10..=200;

/// Checks a new password's length; hashing happens at the edge.
pub fn check_password(field: &str, password: &str) -> Result<(), DomainError> {
    if PASSWORD_CHARS.contains(&password.chars().count()) {
        Ok(())
    } else {
        Err(DomainError::new(
            field,
            format!("passwords must be {} to {} characters", PASSWORD_CHARS.start(), PASSWORD_CHARS.end()),
        ))
    }
}

/// Input to invite a user.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub name: Name,
    pub email: EmailAddress,
    pub role: Role,
    /// 10 to 200 characters.
    pub password: String,
}

/// Changes to a user; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub name: Option<Name>,
    pub role: Option<Role>,
    pub active: Option<bool>,
}

impl UserPatch {
    pub fn apply(&self, user: &mut User) {
        if let Some(n) = &self.name {
            user.name = n.clone();
        }
        if let Some(r) = self.role {
            user.role = r;
        }
        if let Some(a) = self.active {
            user.active = a;
        }
    }
}

/// A group of agents, such as "After-sales" or "售前咨询".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Team {
    pub id: TeamId,
    pub workspace_id: WorkspaceId,
    pub name: Name,
    pub description: String,
    pub member_ids: Vec<UserId>,
    pub created_at: Timestamp,
}

/// Input to create a team.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTeam {
    pub name: Name,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub member_ids: Vec<UserId>,
}

/// Changes to a team; `member_ids`, when given, replaces the membership.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamPatch {
    pub name: Option<Name>,
    pub description: Option<String>,
    pub member_ids: Option<Vec<UserId>>,
}

/// Most characters in a description.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;

fn check_description(field: &str, d: &str) -> Result<(), DomainError> {
    if d.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(DomainError::new(field, format!("at most {MAX_DESCRIPTION_CHARS} characters")));
    }
    Ok(())
}

fn check_members(members: &[UserId]) -> Result<(), DomainError> {
    if members.len() > 1000 {
        return Err(DomainError::new("member_ids", "at most 1000 members"));
    }
    Ok(())
}

impl NewTeam {
    pub fn validate(&mut self) -> Result<(), DomainError> {
        check_description("description", &self.description)?;
        dedup(&mut self.member_ids);
        check_members(&self.member_ids)
    }
}

impl TeamPatch {
    pub fn validate(&mut self) -> Result<(), DomainError> {
        if let Some(d) = &self.description {
            check_description("description", d)?;
        }
        if let Some(m) = &mut self.member_ids {
            dedup(m);
            check_members(m)?;
        }
        Ok(())
    }

    pub fn apply(&self, team: &mut Team) {
        if let Some(n) = &self.name {
            team.name = n.clone();
        }
        if let Some(d) = &self.description {
            team.description = d.clone();
        }
        if let Some(m) = &self.member_ids {
            team.member_ids = m.clone();
        }
    }
}

fn dedup<T: PartialEq + Copy>(v: &mut Vec<T>) {
    let mut seen = Vec::with_capacity(v.len());
    v.retain(|x| {
        if seen.contains(x) {
            false
        } else {
            seen.push(*x);
            true
        }
    });
}

/// The kind of a channel: where its conversations come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// The chat widget on the brand's own web shop.
    WebWidget,
    Email,
    /// A WeChat Official Account.
    Wechat,
    /// A WeChat mini-program's customer-service messages.
    MiniProgram,
    Douyin,
    Xiaohongshu,
    Kuaishou,
    Phone,
    /// Messages pushed by the brand's own systems through the API.
    Api,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 9] = [
        ChannelKind::WebWidget,
        ChannelKind::Email,
        ChannelKind::Wechat,
        ChannelKind::MiniProgram,
        ChannelKind::Douyin,
        ChannelKind::Xiaohongshu,
        ChannelKind::Kuaishou,
        ChannelKind::Phone,
        ChannelKind::Api,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::WebWidget => "web_widget",
            ChannelKind::Email => "email",
            ChannelKind::Wechat => "wechat",
            ChannelKind::MiniProgram => "mini_program",
            ChannelKind::Douyin => "douyin",
            ChannelKind::Xiaohongshu => "xiaohongshu",
            ChannelKind::Kuaishou => "kuaishou",
            ChannelKind::Phone => "phone",
            ChannelKind::Api => "api",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// An inbox: one instance of a channel kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Channel {
    pub id: ChannelId,
    pub workspace_id: WorkspaceId,
    pub kind: ChannelKind,
    pub name: Name,
    /// The team new conversations on this channel are routed to.
    pub team_id: Option<TeamId>,
    /// Channel-specific settings (greeting, business hours, allowed origins of a widget, …).
    pub settings: Map<String, Value>,
    /// For web-widget channels: the public token that goes in the page snippet.
    pub public_token: Option<String>,
    pub created_at: Timestamp,
}

/// Input to create a channel.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChannel {
    pub kind: ChannelKind,
    pub name: Name,
    #[serde(default)]
    pub team_id: Option<TeamId>,
    #[serde(default)]
    pub settings: Map<String, Value>,
}

impl NewChannel {
    pub fn validate(&self) -> Result<(), DomainError> {
        check_channel_settings(&self.settings)
    }
}

/// Most suggested questions a channel offers a new visitor, and their longest.
pub const MAX_SUGGESTIONS: usize = 6;
pub const MAX_SUGGESTION_CHARS: usize = 120;

/// A channel's settings: free-form attributes, except the AI agent's `bot` object, whose `enabled` is a
/// switch, whose `tone` is checked like the workspace's, and whose `suggestions` are the questions a new
/// visitor can ask with one tap.
fn check_channel_settings(settings: &Map<String, Value>) -> Result<(), DomainError> {
    check_attributes("settings", settings)?;
    let Some(bot) = settings.get("bot") else { return Ok(()) };
    let Some(bot) = bot.as_object() else {
        return Err(DomainError::new("settings.bot", "an object with enabled and tone"));
    };
    if bot.get("enabled").is_some_and(|e| !e.is_boolean()) {
        return Err(DomainError::new("settings.bot.enabled", "true or false"));
    }
    if let Some(s) = bot.get("suggestions").filter(|s| !s.is_null()) {
        let ok = s.as_array().is_some_and(|items| {
            items.len() <= MAX_SUGGESTIONS
                && items.iter().all(|q| {
                    q.as_str()
                        .is_some_and(|q| !q.trim().is_empty() && q.chars().count() <= MAX_SUGGESTION_CHARS)
                })
        });
        if !ok {
            return Err(DomainError::new(
                "settings.bot.suggestions",
                format!("at most {MAX_SUGGESTIONS} questions of 1 to {MAX_SUGGESTION_CHARS} characters"),
            ));
        }
    }
    match bot.get("tone") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(t)) => crate::ai::check_tone("settings.bot.tone", t),
        Some(_) => Err(DomainError::new("settings.bot.tone", "a text")),
    }
}

/// Changes to a channel; `team_id: null` removes the routing team.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelPatch {
    pub name: Option<Name>,
    #[serde(default, deserialize_with = "double_option")]
    pub team_id: Option<Option<TeamId>>,
    pub settings: Option<Map<String, Value>>,
}

impl ChannelPatch {
    pub fn validate(&self) -> Result<(), DomainError> {
        match &self.settings {
            Some(s) => check_channel_settings(s),
            None => Ok(()),
        }
    }

    pub fn apply(&self, ch: &mut Channel) {
        if let Some(n) = &self.name {
            ch.name = n.clone();
        }
        if let Some(t) = self.team_id {
            ch.team_id = t;
        }
        if let Some(s) = &self.settings {
            ch.settings = s.clone();
        }
    }
}

/// A bearer token for integrations. Only its SHA-256 hash is stored; the secret is shown once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ApiToken {
    pub id: ApiTokenId,
    pub workspace_id: WorkspaceId,
    pub name: Name,
    /// What requests made with this token may do.
    pub role: Role,
    /// The user who created it.
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    /// The first characters of the secret, to tell tokens apart in a list.
    pub prefix: String,
}

/// Input to create an API token.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiToken {
    pub name: Name,
    pub role: Role,
}
