//! The row primitives in SQL for SQLite. Ids are stored as text, times as milliseconds, lists and maps as JSON.

use lianluo_domain::{
    ApiTokenId, CannedResponseId, ChannelId, ContactId, ConversationId, KbCandidateId, KbChunkId,
    KbQuestionId, KbSourceId, MessageId, TeamId, Timestamp, UserId, WorkspaceId,
    ai::AiUsage,
    canned::CannedResponse,
    contact::{Contact, Identity},
    conversation::Conversation,
    directory::{ApiToken, Channel, Team, User, Workspace},
    event::{Event, NewEvent},
    knowledge::{CandidateStatus, KbCandidate, KbChunk, KbQuestion, KbSource},
    message::Message,
    page::PageRequest,
    value::{EmailAddress, Name},
};
use lianluo_store::{
    ContactFilter, ConversationFilter, Credentials, Result, Session, StoreError, VisitorSession,
    columns::{
        self, Columns, SELECT_CANNED, SELECT_CHANNEL, SELECT_CONTACT, SELECT_CONVERSATION, SELECT_EVENT,
        SELECT_KB_CANDIDATE, SELECT_KB_CHUNK, SELECT_KB_QUESTION, SELECT_KB_SOURCE, SELECT_KB_SOURCE_LISTED,
        SELECT_MESSAGE, SELECT_TEAM, SELECT_TOKEN, SELECT_USER, SELECT_WORKSPACE, actor_parts, corrupt,
        sender_parts,
    },
    tx::{InboxDetail, Tx},
};
use rusqlite::{Connection, Row, params, params_from_iter, types::Value as Sql};
use serde::Serialize;
use uuid::Uuid;

/// One SQLite connection, used as a transaction by the writer thread or the read pool.
pub struct SqliteTx {
    pub(crate) conn: Connection,
}

impl SqliteTx {
    pub(crate) fn new(conn: Connection) -> Self {
        Self { conn }
    }
}

pub(crate) fn db(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, msg) = &e
        && f.code == rusqlite::ErrorCode::ConstraintViolation
    {
        return StoreError::Conflict(msg.clone().unwrap_or_else(|| "constraint violated".into()));
    }
    StoreError::Backend(e.to_string())
}

pub(crate) fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

pub(crate) fn s(id: impl Into<Uuid>) -> String {
    id.into().to_string()
}

pub(crate) fn opt_s(id: Option<impl Into<Uuid>>) -> Option<String> {
    id.map(s)
}

/// Runs a query and maps every row with a fallible mapper.
pub(crate) fn collect<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    map: impl Fn(&SqlRow) -> Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(db)?;
    let mut rows = stmt.query(params).map_err(db)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(db)? {
        out.push(map(&SqlRow(r))?);
    }
    Ok(out)
}

pub(crate) fn first<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    map: impl Fn(&SqlRow) -> Result<T>,
) -> Result<Option<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(db)?;
    let mut rows = stmt.query(params).map_err(db)?;
    match rows.next().map_err(db)? {
        Some(r) => map(&SqlRow(r)).map(Some),
        None => Ok(None),
    }
}

pub(crate) fn exec(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<usize> {
    conn.prepare_cached(sql).map_err(db)?.execute(params).map_err(db)
}

/// A rusqlite row seen through the shared column getters.
pub(crate) struct SqlRow<'a, 'b>(&'a Row<'b>);

fn uuid_text(s: String) -> Result<Uuid> {
    Uuid::parse_str(&s).map_err(|_| corrupt("id"))
}

impl Columns for SqlRow<'_, '_> {
    fn uuid(&self, i: usize) -> Result<Uuid> {
        uuid_text(self.text(i)?)
    }
    fn opt_uuid(&self, i: usize) -> Result<Option<Uuid>> {
        self.opt_text(i)?.map(uuid_text).transpose()
    }
    fn text(&self, i: usize) -> Result<String> {
        self.0.get(i).map_err(db)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        self.0.get(i).map_err(db)
    }
    fn int(&self, i: usize) -> Result<i64> {
        self.0.get(i).map_err(db)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        self.0.get(i).map_err(db)
    }
    fn opt_real(&self, i: usize) -> Result<Option<f64>> {
        self.0.get(i).map_err(db)
    }
    fn boolean(&self, i: usize) -> Result<bool> {
        self.0.get(i).map_err(db)
    }
    fn json(&self, i: usize) -> Result<serde_json::Value> {
        serde_json::from_str(&self.text(i)?).map_err(|_| corrupt("json"))
    }
    fn bytes(&self, i: usize) -> Result<Vec<u8>> {
        self.0.get(i).map_err(db)
    }
}

impl SqliteTx {
    fn members(&self, team: TeamId) -> Result<Vec<UserId>> {
        collect(
            &self.conn,
            "SELECT user_id FROM team_members WHERE team_id = ?1 ORDER BY position",
            [s(team)],
            |r| r.uuid(0).map(UserId),
        )
    }

    fn write_members(&self, t: &Team) -> Result<()> {
        exec(&self.conn, "DELETE FROM team_members WHERE team_id = ?1", [s(t.id)])?;
        for (position, m) in t.member_ids.iter().enumerate() {
            exec(
                &self.conn,
                "INSERT INTO team_members (team_id, user_id, workspace_id, position) VALUES (?1, ?2, ?3, ?4)",
                params![s(t.id), s(*m), s(t.workspace_id), position as i64],
            )?;
        }
        Ok(())
    }

    fn identities(&self, contact: ContactId) -> Result<Vec<Identity>> {
        collect(
            &self.conn,
            "SELECT kind, channel_id, value FROM contact_identities WHERE contact_id = ?1 ORDER BY position",
            [s(contact)],
            |r| columns::identity(r, 0),
        )
    }

    fn write_identities(&self, c: &Contact) -> Result<()> {
        exec(&self.conn, "DELETE FROM contact_identities WHERE contact_id = ?1", [s(c.id)])?;
        for (i, id) in c.identities.iter().enumerate() {
            exec(
                &self.conn,
                "INSERT INTO contact_identities (workspace_id, contact_id, kind, channel_id, value, position) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    s(c.workspace_id),
                    s(c.id),
                    id.kind(),
                    columns::channel_key(id.channel_id()),
                    id.value(),
                    i as i64
                ],
            )?;
        }
        Ok(())
    }

    fn with_identities(&self, mut c: Contact) -> Result<Contact> {
        c.identities = self.identities(c.id)?;
        Ok(c)
    }
}

impl Tx for SqliteTx {
    async fn insert_workspace(&mut self, ws: &Workspace) -> Result<()> {
        exec(
            &self.conn,
            "INSERT INTO workspaces (id, name, slug, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![s(ws.id), ws.name.as_str(), ws.slug, ws.created_at.0],
        )
        .map(drop)
    }

    async fn workspace(&mut self, id: WorkspaceId) -> Result<Option<Workspace>> {
        first(&self.conn, &format!("{SELECT_WORKSPACE} WHERE id = ?1"), [s(id)], |r| columns::workspace(r))
    }

    async fn workspace_by_slug(&mut self, slug: &str) -> Result<Option<Workspace>> {
        first(&self.conn, &format!("{SELECT_WORKSPACE} WHERE slug = ?1"), [slug], |r| columns::workspace(r))
    }

    async fn insert_user(&mut self, u: &User, password_hash: &str) -> Result<()> {
        exec(
            &self.conn,
            "INSERT INTO users (id, workspace_id, name, email, role, active, password_hash, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
            params![s(u.id), s(u.workspace_id), u.name.as_str(), u.email.as_str(), u.role.as_str(), u.active, password_hash, u.created_at.0],
        )
        .map(drop)
    }

    async fn user(&mut self, ws: WorkspaceId, id: UserId, _lock: bool) -> Result<Option<User>> {
        first(
            &self.conn,
            &format!("{SELECT_USER} WHERE workspace_id = ?1 AND id = ?2"),
            [s(ws), s(id)],
            |r| columns::user(r),
        )
    }

    async fn users(&mut self, ws: WorkspaceId, page: PageRequest) -> Result<Vec<User>> {
        let (sort, id) = page.after.map(|c| (c.sort, c.id.to_string())).unwrap_or((i64::MIN, String::new()));
        collect(
            &self.conn,
            &format!(
                "{SELECT_USER} WHERE workspace_id = ?1 AND (created_at, id) > (?2, ?3) ORDER BY created_at, id LIMIT ?4"
            ),
            params![s(ws), sort, id, page.limit + 1],
            |r| columns::user(r),
        )
    }

    async fn save_user(&mut self, u: &User, now: Timestamp) -> Result<()> {
        exec(
            &self.conn,
            "UPDATE users SET name = ?3, role = ?4, active = ?5, updated_at = ?6 WHERE workspace_id = ?1 AND id = ?2",
            params![s(u.workspace_id), s(u.id), u.name.as_str(), u.role.as_str(), u.active, now.0],
        )
        .map(drop)
    }

    async fn credentials_by_email(&mut self, email: &EmailAddress) -> Result<Option<Credentials>> {
        first(&self.conn, &format!("{SELECT_USER} WHERE email = ?1"), [email.as_str()], |r| {
            Ok(Credentials { user: columns::user(r)?, password_hash: r.text(7)? })
        })
    }

    async fn set_password(
        &mut self,
        ws: WorkspaceId,
        id: UserId,
        hash: &str,
        now: Timestamp,
    ) -> Result<bool> {
        exec(
            &self.conn,
            "UPDATE users SET password_hash = ?3, updated_at = ?4 WHERE workspace_id = ?1 AND id = ?2",
            params![s(ws), s(id), hash, now.0],
        )
        .map(|n| n == 1)
    }

    async fn delete_sessions_of(&mut self, user: UserId) -> Result<()> {
        exec(&self.conn, "DELETE FROM sessions WHERE user_id = ?1", [s(user)]).map(drop)
    }

    async fn insert_session(&mut self, x: &Session) -> Result<()> {
        exec(
            &self.conn,
            "INSERT INTO sessions (token_hash, user_id, workspace_id, csrf_token, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                x.token_hash,
                s(x.user_id),
                s(x.workspace_id),
                x.csrf_token,
                x.created_at.0,
                x.expires_at.0
            ],
        )
        .map(drop)
    }

    async fn session(&mut self, token_hash: &str, now: Timestamp) -> Result<Option<(Session, User)>> {
        first(
            &self.conn,
            "SELECT u.id, u.workspace_id, u.name, u.email, u.role, u.active, u.created_at, \
             s.token_hash, s.csrf_token, s.created_at, s.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id AND u.workspace_id = s.workspace_id \
             WHERE s.token_hash = ?1 AND s.expires_at > ?2",
            params![token_hash, now.0],
            |r| {
                let user = columns::user(r)?;
                let session = Session {
                    token_hash: r.text(7)?,
                    user_id: user.id,
                    workspace_id: user.workspace_id,
                    csrf_token: r.text(8)?,
                    created_at: r.time(9)?,
                    expires_at: r.time(10)?,
                };
                Ok((session, user))
            },
        )
    }

    async fn delete_session(&mut self, token_hash: &str) -> Result<()> {
        exec(&self.conn, "DELETE FROM sessions WHERE token_hash = ?1", [token_hash]).map(drop)
    }

    async fn insert_api_token(&mut self, t: &ApiToken, hash: &str) -> Result<()> {
        exec(
            &self.conn,
            "INSERT INTO api_tokens (id, workspace_id, name, role, created_by, token_hash, prefix, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![s(t.id), s(t.workspace_id), t.name.as_str(), t.role.as_str(), s(t.created_by), hash, t.prefix, t.created_at.0],
        )
        .map(drop)
    }

    async fn api_token(&mut self, hash: &str) -> Result<Option<ApiToken>> {
        first(
            &self.conn,
            "SELECT t.id, t.workspace_id, t.name, CASE WHEN u.role = 'admin' THEN t.role ELSE u.role END, \
             t.created_by, t.created_at, t.revoked_at, t.prefix \
             FROM api_tokens t JOIN users u ON u.id = t.created_by AND u.workspace_id = t.workspace_id \
             WHERE t.token_hash = ?1 AND t.revoked_at IS NULL AND u.active",
            [hash],
            |r| columns::api_token(r),
        )
    }

    async fn api_tokens(&mut self, ws: WorkspaceId) -> Result<Vec<ApiToken>> {
        collect(
            &self.conn,
            &format!("{SELECT_TOKEN} WHERE workspace_id = ?1 ORDER BY created_at DESC, id DESC"),
            [s(ws)],
            |r| columns::api_token(r),
        )
    }

    async fn revoke_api_token(&mut self, ws: WorkspaceId, id: ApiTokenId, now: Timestamp) -> Result<bool> {
        exec(
            &self.conn,
            "UPDATE api_tokens SET revoked_at = ?3 WHERE workspace_id = ?1 AND id = ?2 AND revoked_at IS NULL",
            params![s(ws), s(id), now.0],
        )
        .map(|n| n == 1)
    }

    async fn insert_team(&mut self, t: &Team) -> Result<()> {
        exec(
            &self.conn,
            "INSERT INTO teams (id, workspace_id, name, description, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            params![s(t.id), s(t.workspace_id), t.name.as_str(), t.description, t.created_at.0],
        )?;
        self.write_members(t)
    }

    async fn team(&mut self, ws: WorkspaceId, id: TeamId, _lock: bool) -> Result<Option<Team>> {
        let team = first(
            &self.conn,
            &format!("{SELECT_TEAM} WHERE workspace_id = ?1 AND id = ?2"),
            [s(ws), s(id)],
            |r| columns::team(r),
        )?;
        team.map(|mut t| {
            t.member_ids = self.members(t.id)?;
            Ok(t)
        })
        .transpose()
    }

    async fn teams(&mut self, ws: WorkspaceId) -> Result<Vec<Team>> {
        let mut teams = collect(
            &self.conn,
            &format!("{SELECT_TEAM} WHERE workspace_id = ?1 ORDER BY name"),
            [s(ws)],
            |r| columns::team(r),
        )?;
        for t in &mut teams {
            t.member_ids = self.members(t.id)?;
        }
        Ok(teams)
    }

    async fn save_team(&mut self, t: &Team, now: Timestamp) -> Result<()> {
        exec(
            &self.conn,
            "UPDATE teams SET name = ?3, description = ?4, updated_at = ?5 WHERE workspace_id = ?1 AND id = ?2",
            params![s(t.workspace_id), s(t.id), t.name.as_str(), t.description, now.0],
        )?;
        self.write_members(t)
    }

    async fn delete_team(&mut self, ws: WorkspaceId, id: TeamId) -> Result<bool> {
        exec(&self.conn, "DELETE FROM teams WHERE workspace_id = ?1 AND id = ?2", [s(ws), s(id)])
            .map(|n| n == 1)
    }

    async fn insert_channel(&mut self, c: &Channel, widget_secret: Option<&str>) -> Result<()> {
        exec(
            &self.conn,
            "INSERT INTO channels (id, workspace_id, kind, name, team_id, settings, created_at, updated_at, \
             public_token, widget_secret) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9)",
            params![
                s(c.id),
                s(c.workspace_id),
                c.kind.as_str(),
                c.name.as_str(),
                opt_s(c.team_id),
                to_json(&c.settings),
                c.created_at.0,
                c.public_token,
                widget_secret
            ],
        )
        .map(drop)
    }

    async fn channel_by_public_token(&mut self, token: &str) -> Result<Option<(Channel, String)>> {
        first(
            &self.conn,
            "SELECT id, workspace_id, kind, name, team_id, settings, created_at, public_token, widget_secret \
             FROM channels WHERE public_token = ?1 AND widget_secret IS NOT NULL",
            [token],
            |r| Ok((columns::channel(r)?, r.text(8)?)),
        )
    }

    async fn widget_secret(&mut self, ws: WorkspaceId, id: ChannelId) -> Result<Option<String>> {
        first(
            &self.conn,
            "SELECT widget_secret FROM channels WHERE workspace_id = ?1 AND id = ?2 AND widget_secret IS NOT NULL",
            [s(ws), s(id)],
            |r| r.text(0),
        )
    }

    async fn set_widget_secret(&mut self, ws: WorkspaceId, id: ChannelId, secret: &str) -> Result<bool> {
        let changed = exec(
            &self.conn,
            "UPDATE channels SET widget_secret = ?3 WHERE workspace_id = ?1 AND id = ?2 AND widget_secret IS NOT NULL",
            params![s(ws), s(id), secret],
        )? == 1;
        if changed {
            // The sessions of site users the old secret vouched for end with it.
            exec(
                &self.conn,
                "DELETE FROM visitor_sessions WHERE workspace_id = ?1 AND channel_id = ?2 AND contact_id IN \
                 (SELECT contact_id FROM contact_identities WHERE workspace_id = ?1 AND kind = 'external' \
                 AND channel_id = ?2 AND value LIKE 'user:%')",
                params![s(ws), s(id)],
            )?;
        }
        Ok(changed)
    }

    async fn insert_visitor_session(&mut self, v: &VisitorSession) -> Result<()> {
        exec(
            &self.conn,
            "INSERT INTO visitor_sessions (token_hash, workspace_id, channel_id, contact_id, created_at, last_seen_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![v.token_hash, s(v.workspace_id), s(v.channel_id), s(v.contact_id), v.created_at.0, v.last_seen_at.0],
        )
        .map(drop)
    }

    async fn visitor_session(&mut self, hash: &str) -> Result<Option<VisitorSession>> {
        first(
            &self.conn,
            "SELECT token_hash, workspace_id, channel_id, contact_id, created_at, last_seen_at FROM visitor_sessions \
             WHERE token_hash = ?1",
            [hash],
            |r| {
                Ok(VisitorSession {
                    token_hash: r.text(0)?,
                    workspace_id: WorkspaceId(r.uuid(1)?),
                    channel_id: ChannelId(r.uuid(2)?),
                    contact_id: ContactId(r.uuid(3)?),
                    created_at: r.time(4)?,
                    last_seen_at: r.time(5)?,
                })
            },
        )
    }

    async fn channel(&mut self, ws: WorkspaceId, id: ChannelId, _lock: bool) -> Result<Option<Channel>> {
        first(
            &self.conn,
            &format!("{SELECT_CHANNEL} WHERE workspace_id = ?1 AND id = ?2"),
            [s(ws), s(id)],
            |r| columns::channel(r),
        )
    }

    async fn channels(&mut self, ws: WorkspaceId) -> Result<Vec<Channel>> {
        collect(
            &self.conn,
            &format!("{SELECT_CHANNEL} WHERE workspace_id = ?1 ORDER BY created_at, id"),
            [s(ws)],
            |r| columns::channel(r),
        )
    }

    async fn save_channel(&mut self, c: &Channel, now: Timestamp) -> Result<()> {
        exec(
            &self.conn,
            "UPDATE channels SET name = ?3, team_id = ?4, settings = ?5, updated_at = ?6 WHERE workspace_id = ?1 AND id = ?2",
            params![s(c.workspace_id), s(c.id), c.name.as_str(), opt_s(c.team_id), to_json(&c.settings), now.0],
        )
        .map(drop)
    }

    async fn delete_channel(&mut self, ws: WorkspaceId, id: ChannelId) -> Result<bool> {
        exec(
            &self.conn,
            "DELETE FROM contact_identities WHERE workspace_id = ?1 AND channel_id = ?2",
            [s(ws), s(id)],
        )?;
        exec(&self.conn, "DELETE FROM channels WHERE workspace_id = ?1 AND id = ?2", [s(ws), s(id)])
            .map(|n| n == 1)
    }

    async fn insert_contact(&mut self, c: &Contact) -> Result<()> {
        exec(
            &self.conn,
            "INSERT INTO contacts (id, workspace_id, name, attributes, tags, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                s(c.id),
                s(c.workspace_id),
                c.name.as_ref().map(Name::as_str),
                to_json(&c.attributes),
                to_json(&c.tags),
                c.created_at.0,
                c.updated_at.0
            ],
        )?;
        self.write_identities(c)
    }

    async fn contact(&mut self, ws: WorkspaceId, id: ContactId, _lock: bool) -> Result<Option<Contact>> {
        first(
            &self.conn,
            &format!("{SELECT_CONTACT} WHERE workspace_id = ?1 AND id = ?2"),
            [s(ws), s(id)],
            |r| columns::contact(r),
        )?
        .map(|c| self.with_identities(c))
        .transpose()
    }

    async fn contact_by_identity(
        &mut self,
        ws: WorkspaceId,
        identity: &Identity,
    ) -> Result<Option<ContactId>> {
        first(
            &self.conn,
            "SELECT contact_id FROM contact_identities WHERE workspace_id = ?1 AND kind = ?2 AND channel_id = ?3 AND value = ?4",
            params![s(ws), identity.kind(), columns::channel_key(identity.channel_id()), identity.value()],
            |r| r.uuid(0).map(ContactId),
        )
    }

    async fn contacts(
        &mut self,
        ws: WorkspaceId,
        f: &ContactFilter,
        page: PageRequest,
    ) -> Result<Vec<Contact>> {
        let mut sql = format!("{SELECT_CONTACT} WHERE workspace_id = ?");
        let mut args: Vec<Sql> = vec![Sql::Text(s(ws))];
        if let Some(q) = &f.query {
            sql.push_str(
                " AND (lower(name) LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM contact_identities i \
                 WHERE i.contact_id = contacts.id AND lower(i.value) LIKE ? ESCAPE '\\'))",
            );
            let p = columns::like_pattern(q);
            args.extend([Sql::Text(p.clone()), Sql::Text(p)]);
        }
        if let Some(t) = &f.tag {
            sql.push_str(" AND EXISTS (SELECT 1 FROM json_each(contacts.tags) WHERE json_each.value = ?)");
            args.push(Sql::Text(t.to_string()));
        }
        if let Some(c) = page.after {
            sql.push_str(" AND (created_at, id) < (?, ?)");
            args.extend([Sql::Integer(c.sort), Sql::Text(c.id.to_string())]);
        }
        sql.push_str(" ORDER BY created_at DESC, id DESC LIMIT ?");
        args.push(Sql::Integer(i64::from(page.limit) + 1));
        let rows = collect(&self.conn, &sql, params_from_iter(args), |r| columns::contact(r))?;
        rows.into_iter().map(|c| self.with_identities(c)).collect()
    }

    async fn save_contact(&mut self, c: &Contact) -> Result<()> {
        exec(
            &self.conn,
            "UPDATE contacts SET name = ?3, attributes = ?4, tags = ?5, updated_at = ?6 WHERE workspace_id = ?1 AND id = ?2",
            params![
                s(c.workspace_id),
                s(c.id),
                c.name.as_ref().map(Name::as_str),
                to_json(&c.attributes),
                to_json(&c.tags),
                c.updated_at.0
            ],
        )?;
        self.write_identities(c)
    }

    async fn delete_contact(&mut self, ws: WorkspaceId, id: ContactId) -> Result<bool> {
        exec(&self.conn, "DELETE FROM contacts WHERE workspace_id = ?1 AND id = ?2", [s(ws), s(id)])
            .map(|n| n == 1)
    }

    async fn count_conversations(
        &mut self,
        ws: WorkspaceId,
        channel: Option<ChannelId>,
        contact: Option<ContactId>,
    ) -> Result<i64> {
        first(
            &self.conn,
            "SELECT count(*) FROM conversations WHERE workspace_id = ?1 \
             AND (?2 IS NULL OR channel_id = ?2) AND (?3 IS NULL OR contact_id = ?3)",
            params![s(ws), opt_s(channel), opt_s(contact)],
            |r| r.int(0),
        )
        .map(Option::unwrap_or_default)
    }

    async fn open_counts(&mut self, ws: WorkspaceId, users: &[UserId]) -> Result<Vec<(UserId, i64)>> {
        let mut out = Vec::with_capacity(users.len());
        for u in users {
            let n = first(
                &self.conn,
                "SELECT count(*) FROM conversations WHERE workspace_id = ?1 AND assignee_id = ?2 \
                 AND status IN ('open', 'pending')",
                [s(ws), s(*u)],
                |r| r.int(0),
            )?;
            out.push((*u, n.unwrap_or_default()));
        }
        Ok(out)
    }

    async fn insert_conversation(&mut self, c: &Conversation, opening_key: Option<&str>) -> Result<()> {
        exec(
            &self.conn,
            "INSERT INTO conversations (id, workspace_id, channel_id, contact_id, subject, status, priority, \
             assignee_id, team_id, tags, created_at, updated_at, last_activity_at, first_response_at, resolved_at, \
             snoozed_until, message_count, opening_key) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
            params![
                s(c.id), s(c.workspace_id), s(c.channel_id), s(c.contact_id), c.subject, c.status.as_str(),
                c.priority.as_str(), opt_s(c.assignee_id), opt_s(c.team_id), to_json(&c.tags), c.created_at.0,
                c.updated_at.0, c.last_activity_at.0, c.first_response_at.map(|t| t.0), c.resolved_at.map(|t| t.0),
                c.snoozed_until.map(|t| t.0), c.message_count, opening_key
            ],
        )
        .map(drop)
    }

    async fn conversation(
        &mut self,
        ws: WorkspaceId,
        id: ConversationId,
        _lock: bool,
    ) -> Result<Option<Conversation>> {
        first(
            &self.conn,
            &format!("{SELECT_CONVERSATION} WHERE workspace_id = ?1 AND id = ?2"),
            [s(ws), s(id)],
            |r| columns::conversation(r),
        )
    }

    async fn conversations(
        &mut self,
        ws: WorkspaceId,
        f: &ConversationFilter,
        page: PageRequest,
    ) -> Result<Vec<Conversation>> {
        let mut sql = format!("{SELECT_CONVERSATION} WHERE workspace_id = ?");
        let mut args: Vec<Sql> = vec![Sql::Text(s(ws))];
        let mut eq = |col: &str, v: Option<String>| {
            if let Some(v) = v {
                sql.push_str(&format!(" AND {col} = ?"));
                args.push(Sql::Text(v));
            }
        };
        eq("status", f.status.map(|x| x.as_str().to_string()));
        eq("team_id", opt_s(f.team_id));
        eq("channel_id", opt_s(f.channel_id));
        eq("contact_id", opt_s(f.contact_id));
        eq("priority", f.priority.map(|x| x.as_str().to_string()));
        match f.assignee_id {
            Some(Some(a)) => eq("assignee_id", Some(s(a))),
            Some(None) => sql.push_str(" AND assignee_id IS NULL"),
            None => {}
        }
        if let Some(t) = &f.tag {
            sql.push_str(
                " AND EXISTS (SELECT 1 FROM json_each(conversations.tags) WHERE json_each.value = ?)",
            );
            args.push(Sql::Text(t.to_string()));
        }
        if let Some(q) = &f.query {
            sql.push_str(
                " AND (EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = conversations.id \
                 AND lower(m.content) LIKE ? ESCAPE '\\') OR EXISTS (SELECT 1 FROM contacts c WHERE c.id = \
                 conversations.contact_id AND lower(c.name) LIKE ? ESCAPE '\\') OR EXISTS (SELECT 1 FROM \
                 contact_identities i WHERE i.contact_id = conversations.contact_id AND lower(i.value) LIKE ? ESCAPE '\\'))",
            );
            let p = columns::like_pattern(q);
            args.extend([Sql::Text(p.clone()), Sql::Text(p.clone()), Sql::Text(p)]);
        }
        if let Some(c) = page.after {
            sql.push_str(" AND (last_activity_at, id) < (?, ?)");
            args.extend([Sql::Integer(c.sort), Sql::Text(c.id.to_string())]);
        }
        sql.push_str(" ORDER BY last_activity_at DESC, id DESC LIMIT ?");
        args.push(Sql::Integer(i64::from(page.limit) + 1));
        collect(&self.conn, &sql, params_from_iter(args), |r| columns::conversation(r))
    }

    async fn save_conversation(&mut self, c: &Conversation) -> Result<()> {
        exec(
            &self.conn,
            "UPDATE conversations SET subject = ?3, status = ?4, priority = ?5, assignee_id = ?6, team_id = ?7, \
             tags = ?8, updated_at = ?9, last_activity_at = ?10, first_response_at = ?11, resolved_at = ?12, \
             snoozed_until = ?13, message_count = ?14 WHERE workspace_id = ?1 AND id = ?2",
            params![
                s(c.workspace_id), s(c.id), c.subject, c.status.as_str(), c.priority.as_str(), opt_s(c.assignee_id),
                opt_s(c.team_id), to_json(&c.tags), c.updated_at.0, c.last_activity_at.0,
                c.first_response_at.map(|t| t.0), c.resolved_at.map(|t| t.0), c.snoozed_until.map(|t| t.0),
                c.message_count
            ],
        )
        .map(drop)
    }

    async fn delete_conversation(&mut self, ws: WorkspaceId, id: ConversationId) -> Result<bool> {
        exec(
            &self.conn,
            "DELETE FROM messages WHERE workspace_id = ?1 AND conversation_id = ?2",
            [s(ws), s(id)],
        )?;
        exec(&self.conn, "DELETE FROM conversations WHERE workspace_id = ?1 AND id = ?2", [s(ws), s(id)])
            .map(|n| n == 1)
    }

    async fn insert_message(&mut self, m: &Message) -> Result<bool> {
        let (sender_type, sender_id) = sender_parts(&m.sender);
        exec(
            &self.conn,
            "INSERT INTO messages (id, workspace_id, conversation_id, kind, sender_type, sender_id, content, \
             attachments, idempotency_key, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
             ON CONFLICT DO NOTHING",
            params![
                s(m.id),
                s(m.workspace_id),
                s(m.conversation_id),
                m.kind.as_str(),
                sender_type,
                opt_s(sender_id),
                m.content,
                to_json(&m.attachments),
                m.idempotency_key,
                m.created_at.0
            ],
        )
        .map(|n| n == 1)
    }

    async fn message_by_key(
        &mut self,
        ws: WorkspaceId,
        conv: ConversationId,
        key: &str,
    ) -> Result<Option<Message>> {
        first(
            &self.conn,
            &format!(
                "{SELECT_MESSAGE} WHERE workspace_id = ?1 AND conversation_id = ?2 AND idempotency_key = ?3"
            ),
            [s(ws), s(conv), key.to_string()],
            |r| columns::message(r),
        )
    }

    async fn messages(
        &mut self,
        ws: WorkspaceId,
        conv: ConversationId,
        page: PageRequest,
        newest_first: bool,
    ) -> Result<Vec<Message>> {
        let (sort, id) = match (page.after, newest_first) {
            (Some(c), _) => (c.sort, c.id.to_string()),
            (None, false) => (i64::MIN, String::new()),
            // Ids are stored as hyphenated lowercase text: "g" sorts after every one of them.
            (None, true) => (i64::MAX, "g".to_string()),
        };
        let (cmp, order) = if newest_first { ("<", "DESC") } else { (">", "ASC") };
        collect(
            &self.conn,
            &format!(
                "{SELECT_MESSAGE} WHERE workspace_id = ?1 AND conversation_id = ?2 AND (created_at, id) {cmp} (?3, ?4) \
                 ORDER BY created_at {order}, id {order} LIMIT ?5"
            ),
            params![s(ws), s(conv), sort, id, page.limit + 1],
            |r| columns::message(r),
        )
    }

    async fn snoozed_due(
        &mut self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<(WorkspaceId, ConversationId)>> {
        collect(
            &self.conn,
            "SELECT workspace_id, id FROM conversations WHERE status = 'snoozed' AND snoozed_until <= ?1 \
             ORDER BY snoozed_until LIMIT ?2",
            params![now.0, limit],
            |r| Ok((WorkspaceId(r.uuid(0)?), ConversationId(r.uuid(1)?))),
        )
    }

    async fn delete_expired_sessions(&mut self, now: Timestamp) -> Result<u64> {
        let sessions = exec(&self.conn, "DELETE FROM sessions WHERE expires_at <= ?1", [now.0])?;
        let idle = now.0 - lianluo_store::VISITOR_IDLE_MS;
        let visitors = exec(&self.conn, "DELETE FROM visitor_sessions WHERE last_seen_at <= ?1", [idle])?;
        Ok((sessions + visitors) as u64)
    }

    async fn touch_visitor_session(&mut self, hash: &str, now: Timestamp) -> Result<()> {
        exec(
            &self.conn,
            "UPDATE visitor_sessions SET last_seen_at = ?2 WHERE token_hash = ?1",
            params![hash, now.0],
        )
        .map(drop)
    }

    async fn insert_event(&mut self, ws: WorkspaceId, e: &NewEvent, now: Timestamp) -> Result<()> {
        let (actor_type, actor_id) = actor_parts(&e.actor);
        exec(
            &self.conn,
            "INSERT INTO events (workspace_id, actor_type, actor_id, kind, subject_id, data, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                s(ws),
                actor_type,
                actor_id.map(|a| a.to_string()),
                e.kind.as_str(),
                e.subject_id.to_string(),
                to_json(&e.data),
                now.0
            ],
        )
        .map(drop)
    }

    async fn message(&mut self, ws: WorkspaceId, id: MessageId) -> Result<Option<Message>> {
        first(
            &self.conn,
            &format!("{SELECT_MESSAGE} WHERE workspace_id = ?1 AND id = ?2"),
            [s(ws), s(id)],
            |r| columns::message(r),
        )
    }

    async fn all_events(&mut self, after: i64, limit: u32) -> Result<Vec<Event>> {
        collect(
            &self.conn,
            &format!("{SELECT_EVENT} WHERE id > ?1 ORDER BY id LIMIT ?2"),
            params![after, limit],
            |r| columns::event(r),
        )
    }

    async fn latest_event_id(&mut self) -> Result<i64> {
        first(&self.conn, "SELECT coalesce(max(id), 0) FROM events", [], |r| r.int(0))
            .map(Option::unwrap_or_default)
    }

    async fn inbox_details(
        &mut self,
        ws: WorkspaceId,
        user: UserId,
        ids: &[ConversationId],
    ) -> Result<Vec<InboxDetail>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let d = first(
                &self.conn,
                "SELECT c.name, \
                 (SELECT kind FROM messages WHERE conversation_id = v.id AND kind IN ('incoming', 'outgoing') \
                  ORDER BY created_at DESC, id DESC LIMIT 1), \
                 (SELECT substr(content, 1, 140) FROM messages WHERE conversation_id = v.id \
                  AND kind IN ('incoming', 'outgoing') ORDER BY created_at DESC, id DESC LIMIT 1), \
                 (SELECT max(created_at) FROM messages WHERE conversation_id = v.id \
                  AND kind IN ('incoming', 'outgoing')), \
                 (SELECT count(*) FROM messages m WHERE m.conversation_id = v.id AND m.kind = 'incoming' \
                  AND m.created_at > coalesce((SELECT read_at FROM conversation_reads r \
                  WHERE r.conversation_id = v.id AND r.user_id = ?3), -9223372036854775807)) \
                 FROM conversations v JOIN contacts c ON c.id = v.contact_id WHERE v.workspace_id = ?1 AND v.id = ?2",
                params![s(ws), s(*id), s(user)],
                |r| {
                    Ok(InboxDetail {
                        conversation_id: *id,
                        contact_name: r.opt_text(0)?,
                        last_kind: r.opt_text(1)?,
                        last_excerpt: r.opt_text(2)?,
                        last_at: r.opt_time(3)?,
                        unread: r.int(4)?,
                    })
                },
            )?;
            out.extend(d);
        }
        Ok(out)
    }

    async fn mark_read(
        &mut self,
        ws: WorkspaceId,
        conversation: ConversationId,
        user: UserId,
        at: Timestamp,
    ) -> Result<()> {
        exec(
            &self.conn,
            "INSERT INTO conversation_reads (conversation_id, user_id, workspace_id, read_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (conversation_id, user_id) DO UPDATE SET read_at = max(read_at, excluded.read_at)",
            params![s(conversation), s(user), s(ws), at.0],
        )
        .map(drop)
    }

    async fn insert_canned(&mut self, c: &CannedResponse) -> Result<()> {
        exec(
            &self.conn,
            "INSERT INTO canned_responses (id, workspace_id, shortcut, content, created_by, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![s(c.id), s(c.workspace_id), c.shortcut, c.content, s(c.created_by), c.created_at.0, c.updated_at.0],
        )
        .map(drop)
    }

    async fn canned(&mut self, ws: WorkspaceId, id: CannedResponseId) -> Result<Option<CannedResponse>> {
        first(
            &self.conn,
            &format!("{SELECT_CANNED} WHERE workspace_id = ?1 AND id = ?2"),
            [s(ws), s(id)],
            |r| columns::canned(r),
        )
    }

    async fn canned_list(&mut self, ws: WorkspaceId) -> Result<Vec<CannedResponse>> {
        collect(
            &self.conn,
            &format!("{SELECT_CANNED} WHERE workspace_id = ?1 ORDER BY shortcut"),
            [s(ws)],
            |r| columns::canned(r),
        )
    }

    async fn save_canned(&mut self, c: &CannedResponse) -> Result<()> {
        exec(
            &self.conn,
            "UPDATE canned_responses SET shortcut = ?3, content = ?4, updated_at = ?5 WHERE workspace_id = ?1 AND id = ?2",
            params![s(c.workspace_id), s(c.id), c.shortcut, c.content, c.updated_at.0],
        )
        .map(drop)
    }

    async fn delete_canned(&mut self, ws: WorkspaceId, id: CannedResponseId) -> Result<bool> {
        exec(&self.conn, "DELETE FROM canned_responses WHERE workspace_id = ?1 AND id = ?2", [s(ws), s(id)])
            .map(|n| n == 1)
    }

    async fn events(&mut self, ws: WorkspaceId, after: i64, limit: u32) -> Result<Vec<Event>> {
        collect(
            &self.conn,
            &format!("{SELECT_EVENT} WHERE workspace_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"),
            params![s(ws), after, limit],
            |r| columns::event(r),
        )
    }

    async fn events_before(
        &mut self,
        ws: WorkspaceId,
        before: i64,
        kind_prefix: &[String],
        limit: u32,
    ) -> Result<Vec<Event>> {
        let holes: Vec<String> = (0..kind_prefix.len()).map(|i| format!("?{}", i + 4)).collect();
        let sql = columns::events_before_sql("?1", "?2", "?3", &holes);
        let mut args = vec![Sql::Text(s(ws)), Sql::Integer(before), Sql::Integer(i64::from(limit))];
        args.extend(kind_prefix.iter().map(|p| Sql::Text(format!("{p}%"))));
        collect(&self.conn, &sql, params_from_iter(args), |r| columns::event(r))
    }

    async fn insert_kb_source(&mut self, k: &KbSource) -> Result<()> {
        exec(
            &self.conn,
            "INSERT INTO kb_sources (id, workspace_id, kind, title, content, url, status, error, chunk_count, \
             created_by, created_at, updated_at, page_limit) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                s(k.id),
                s(k.workspace_id),
                k.kind.as_str(),
                k.title,
                k.content,
                k.url,
                k.status.as_str(),
                k.error,
                k.chunk_count,
                opt_s(k.created_by),
                k.created_at.0,
                k.updated_at.0,
                k.page_limit
            ],
        )
        .map(drop)
    }

    async fn kb_source(&mut self, ws: WorkspaceId, id: KbSourceId) -> Result<Option<KbSource>> {
        first(
            &self.conn,
            &format!("{SELECT_KB_SOURCE} WHERE workspace_id = ?1 AND id = ?2"),
            [s(ws), s(id)],
            |r| columns::kb_source(r),
        )
    }

    async fn kb_sources(&mut self, ws: WorkspaceId) -> Result<Vec<KbSource>> {
        collect(
            &self.conn,
            &format!("{SELECT_KB_SOURCE_LISTED} WHERE workspace_id = ?1 ORDER BY id"),
            [s(ws)],
            |r| columns::kb_source(r),
        )
    }

    async fn save_kb_source(&mut self, k: &KbSource) -> Result<()> {
        exec(
            &self.conn,
            "UPDATE kb_sources SET title = ?3, content = ?4, url = ?5, status = ?6, error = ?7, chunk_count = ?8, \
             updated_at = ?9, page_limit = ?10 WHERE workspace_id = ?1 AND id = ?2",
            params![
                s(k.workspace_id),
                s(k.id),
                k.title,
                k.content,
                k.url,
                k.status.as_str(),
                k.error,
                k.chunk_count,
                k.updated_at.0,
                k.page_limit
            ],
        )
        .map(drop)
    }

    async fn delete_kb_source(&mut self, ws: WorkspaceId, id: KbSourceId) -> Result<bool> {
        exec(&self.conn, "DELETE FROM kb_chunks WHERE workspace_id = ?1 AND source_id = ?2", [s(ws), s(id)])?;
        exec(&self.conn, "DELETE FROM kb_sources WHERE workspace_id = ?1 AND id = ?2", [s(ws), s(id)])
            .map(|n| n == 1)
    }

    async fn delete_kb_chunks(&mut self, ws: WorkspaceId, source: KbSourceId) -> Result<()> {
        exec(
            &self.conn,
            "DELETE FROM kb_chunks WHERE workspace_id = ?1 AND source_id = ?2",
            [s(ws), s(source)],
        )
        .map(drop)
    }

    async fn insert_kb_chunk(&mut self, c: &KbChunk) -> Result<()> {
        exec(
            &self.conn,
            "INSERT INTO kb_chunks (id, workspace_id, source_id, ordinal, heading, text, model, embedding, curated, \
             url, held, held_code) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                s(c.id),
                s(c.workspace_id),
                s(c.source_id),
                c.ordinal,
                c.heading,
                c.text,
                c.model,
                columns::vector_bytes(&c.embedding),
                c.curated,
                c.url,
                c.held,
                c.held_code.map(|c| c.as_str())
            ],
        )
        .map(drop)
    }

    async fn kb_chunks(&mut self, ws: WorkspaceId, source: KbSourceId) -> Result<Vec<KbChunk>> {
        collect(
            &self.conn,
            &format!("{SELECT_KB_CHUNK} WHERE workspace_id = ?1 AND source_id = ?2 ORDER BY ordinal"),
            [s(ws), s(source)],
            |r| columns::kb_chunk(r),
        )
    }

    async fn kb_chunk(&mut self, ws: WorkspaceId, id: KbChunkId) -> Result<Option<KbChunk>> {
        first(
            &self.conn,
            &format!("{SELECT_KB_CHUNK} WHERE workspace_id = ?1 AND id = ?2"),
            [s(ws), s(id)],
            |r| columns::kb_chunk(r),
        )
    }

    async fn held_kb_chunks(&mut self, ws: WorkspaceId, limit: u32) -> Result<Vec<KbChunk>> {
        collect(
            &self.conn,
            &format!(
                "{SELECT_KB_CHUNK} WHERE workspace_id = ?1 AND held IS NOT NULL ORDER BY source_id, ordinal LIMIT ?2"
            ),
            params![s(ws), limit],
            |r| columns::kb_chunk(r),
        )
    }

    async fn release_kb_chunk(&mut self, ws: WorkspaceId, id: KbChunkId) -> Result<bool> {
        exec(
            &self.conn,
            "UPDATE kb_chunks SET held = NULL, held_code = NULL WHERE workspace_id = ?1 AND id = ?2 AND held IS NOT NULL",
            [s(ws), s(id)],
        )
        .map(|n| n == 1)
    }

    async fn insert_kb_question(&mut self, q: &KbQuestion) -> Result<()> {
        exec(
            &self.conn,
            "INSERT INTO kb_questions (id, workspace_id, conversation_id, answer_message_id, question, language, \
             outcome, source_id, resolved_by, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                s(q.id),
                s(q.workspace_id),
                opt_s(q.conversation_id),
                opt_s(q.answer_message_id),
                q.question,
                q.language,
                q.outcome.as_str(),
                opt_s(q.source_id),
                opt_s(q.resolved_by),
                q.created_at.0,
                q.updated_at.0
            ],
        )
        .map(drop)
    }

    async fn kb_question(&mut self, ws: WorkspaceId, id: KbQuestionId) -> Result<Option<KbQuestion>> {
        first(
            &self.conn,
            &format!("{SELECT_KB_QUESTION} WHERE workspace_id = ?1 AND id = ?2"),
            [s(ws), s(id)],
            |r| columns::kb_question(r),
        )
    }

    async fn kb_question_by_answer(
        &mut self,
        ws: WorkspaceId,
        answer: MessageId,
    ) -> Result<Option<KbQuestion>> {
        first(
            &self.conn,
            &format!("{SELECT_KB_QUESTION} WHERE workspace_id = ?1 AND answer_message_id = ?2"),
            [s(ws), s(answer)],
            |r| columns::kb_question(r),
        )
    }

    async fn save_kb_question(&mut self, q: &KbQuestion) -> Result<()> {
        exec(
            &self.conn,
            "UPDATE kb_questions SET outcome = ?3, resolved_by = ?4, updated_at = ?5 WHERE workspace_id = ?1 AND id = ?2",
            params![s(q.workspace_id), s(q.id), q.outcome.as_str(), opt_s(q.resolved_by), q.updated_at.0],
        )
        .map(drop)
    }

    async fn kb_gap_questions(&mut self, ws: WorkspaceId, limit: u32) -> Result<Vec<KbQuestion>> {
        collect(
            &self.conn,
            &format!(
                "{SELECT_KB_QUESTION} WHERE workspace_id = ?1 AND outcome IN ('unanswered', 'not_helpful') \
                 AND resolved_by IS NULL ORDER BY id DESC LIMIT ?2"
            ),
            params![s(ws), limit],
            |r| columns::kb_question(r),
        )
    }

    async fn kb_questions_in(
        &mut self,
        ws: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<Vec<KbQuestion>> {
        collect(
            &self.conn,
            &format!("{SELECT_KB_QUESTION} WHERE workspace_id = ?1 AND conversation_id = ?2 ORDER BY id"),
            [s(ws), s(conversation)],
            |r| columns::kb_question(r),
        )
    }

    async fn ai_settings(&mut self, ws: WorkspaceId) -> Result<Option<String>> {
        first(&self.conn, "SELECT settings FROM workspace_ai WHERE workspace_id = ?1", [s(ws)], |r| r.text(0))
    }

    async fn save_ai_settings(&mut self, ws: WorkspaceId, json: &str, now: Timestamp) -> Result<()> {
        exec(
            &self.conn,
            "INSERT INTO workspace_ai (workspace_id, settings, updated_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (workspace_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
            params![s(ws), json, now.0],
        )
        .map(drop)
    }

    async fn add_ai_usage(
        &mut self,
        ws: WorkspaceId,
        day: i64,
        model: &str,
        prompt_tokens: i64,
        completion_tokens: i64,
    ) -> Result<()> {
        exec(
            &self.conn,
            "INSERT INTO ai_usage (workspace_id, day, model, requests, prompt_tokens, completion_tokens) \
             VALUES (?1, ?2, ?3, 1, ?4, ?5) ON CONFLICT (workspace_id, day, model) DO UPDATE SET \
             requests = ai_usage.requests + 1, prompt_tokens = ai_usage.prompt_tokens + excluded.prompt_tokens, \
             completion_tokens = ai_usage.completion_tokens + excluded.completion_tokens",
            params![s(ws), day, model, prompt_tokens, completion_tokens],
        )
        .map(drop)
    }

    async fn ai_usage(&mut self, ws: WorkspaceId, since_day: i64) -> Result<Vec<AiUsage>> {
        collect(
            &self.conn,
            "SELECT day, model, requests, prompt_tokens, completion_tokens FROM ai_usage \
             WHERE workspace_id = ?1 AND day >= ?2 ORDER BY day, model",
            params![s(ws), since_day],
            |r| {
                Ok(AiUsage {
                    day: Timestamp(r.int(0)? * lianluo_domain::ai::DAY_MS),
                    model: r.text(1)?,
                    requests: r.int(2)?,
                    prompt_tokens: r.int(3)?,
                    completion_tokens: r.int(4)?,
                })
            },
        )
    }

    async fn mined_replies(&mut self, ws: WorkspaceId, replies: &[MessageId]) -> Result<Vec<MessageId>> {
        let ids: Vec<String> = replies.iter().map(|m| s(*m)).collect();
        collect(
            &self.conn,
            "SELECT message_id FROM kb_candidates WHERE workspace_id = ?1 \
             AND message_id IN (SELECT value FROM json_each(?2))",
            params![s(ws), to_json(&ids)],
            |r| r.uuid(0).map(MessageId),
        )
    }

    async fn insert_kb_candidate(&mut self, c: &KbCandidate) -> Result<bool> {
        exec(
            &self.conn,
            "INSERT INTO kb_candidates (id, workspace_id, conversation_id, message_id, question, answer, language, \
             status, source_id, decided_by, created_at, updated_at, asked, duplicate_of, confidence) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) ON CONFLICT DO NOTHING",
            params![
                s(c.id),
                s(c.workspace_id),
                s(c.conversation_id),
                s(c.message_id),
                c.question,
                c.answer,
                c.language,
                c.status.as_str(),
                opt_s(c.source_id),
                opt_s(c.decided_by),
                c.created_at.0,
                c.updated_at.0,
                c.asked,
                opt_s(c.duplicate_of),
                c.confidence.map(f64::from)
            ],
        )
        .map(|n| n == 1)
    }

    async fn kb_candidate(&mut self, ws: WorkspaceId, id: KbCandidateId) -> Result<Option<KbCandidate>> {
        first(
            &self.conn,
            &format!("{SELECT_KB_CANDIDATE} WHERE workspace_id = ?1 AND id = ?2"),
            [s(ws), s(id)],
            |r| columns::kb_candidate(r),
        )
    }

    async fn kb_candidates(
        &mut self,
        ws: WorkspaceId,
        status: CandidateStatus,
        limit: u32,
    ) -> Result<Vec<KbCandidate>> {
        collect(
            &self.conn,
            &format!(
                "{SELECT_KB_CANDIDATE} WHERE workspace_id = ?1 AND status = ?2 ORDER BY confidence DESC NULLS LAST, asked DESC, id LIMIT ?3"
            ),
            params![s(ws), status.as_str(), limit],
            |r| columns::kb_candidate(r),
        )
    }

    async fn save_kb_candidate(&mut self, c: &KbCandidate) -> Result<()> {
        exec(
            &self.conn,
            "UPDATE kb_candidates SET question = ?3, answer = ?4, status = ?5, source_id = ?6, decided_by = ?7, \
             updated_at = ?8, asked = ?9 WHERE workspace_id = ?1 AND id = ?2",
            params![
                s(c.workspace_id),
                s(c.id),
                c.question,
                c.answer,
                c.status.as_str(),
                opt_s(c.source_id),
                opt_s(c.decided_by),
                c.updated_at.0,
                c.asked
            ],
        )
        .map(drop)
    }

    async fn kb_sources_pending(&mut self) -> Result<Vec<(WorkspaceId, KbSourceId)>> {
        collect(
            &self.conn,
            "SELECT workspace_id, id FROM kb_sources WHERE status IN ('queued', 'processing') ORDER BY id",
            [],
            |r| Ok((WorkspaceId(r.uuid(0)?), KbSourceId(r.uuid(1)?))),
        )
    }

    async fn kb_chunks_after(&mut self, after: Option<KbChunkId>, limit: u32) -> Result<Vec<KbChunk>> {
        let after = after.map(s).unwrap_or_default();
        collect(
            &self.conn,
            &format!("{SELECT_KB_CHUNK} WHERE id > ?1 ORDER BY id LIMIT ?2"),
            params![after, limit],
            |r| columns::kb_chunk(r),
        )
    }
}
