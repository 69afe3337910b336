//! The row primitives in SQL for PostgreSQL.

use deadpool_postgres::Object;
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
        SELECT_MESSAGE, SELECT_TEAM, SELECT_TOKEN, SELECT_USER, SELECT_WORKSPACE, actor_parts, sender_parts,
    },
    tx::{InboxDetail, Tx},
};
use serde::Serialize;
use tokio_postgres::{
    Row,
    error::SqlState,
    types::{Json, ToSql},
};
use uuid::Uuid;

type Param = Box<dyn ToSql + Sync + Send>;

/// One pooled connection inside a transaction. Dropped before the transaction ended (a panic), the
/// connection is closed rather than returned to the pool.
pub struct PgTx {
    client: Option<Object>,
}

impl PgTx {
    pub(crate) fn new(client: Object) -> Self {
        Self { client: Some(client) }
    }

    pub(crate) fn client(&self) -> &Object {
        self.client.as_ref().expect("connection present until the transaction ends")
    }

    /// Marks the transaction as committed or rolled back: the connection may go back to the pool.
    pub(crate) fn finished(&mut self) {
        drop(self.client.take());
    }

    pub(crate) async fn all(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        let stmt = self.client().prepare_cached(sql).await.map_err(db)?;
        self.client().query(&stmt, params).await.map_err(db)
    }

    pub(crate) async fn one(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<Row>> {
        Ok(self.all(sql, params).await?.into_iter().next())
    }

    pub(crate) async fn exec(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let stmt = self.client().prepare_cached(sql).await.map_err(db)?;
        self.client().execute(&stmt, params).await.map_err(db)
    }
}

impl Drop for PgTx {
    fn drop(&mut self) {
        if let Some(obj) = self.client.take() {
            drop(Object::take(obj));
        }
    }
}

pub(crate) fn db(e: tokio_postgres::Error) -> StoreError {
    match e.code() {
        Some(c) if *c == SqlState::UNIQUE_VIOLATION || *c == SqlState::FOREIGN_KEY_VIOLATION => {
            StoreError::Conflict(
                e.as_db_error().map(|d| d.message().to_string()).unwrap_or_else(|| e.to_string()),
            )
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(r: &'a Row, i: usize) -> Result<T> {
    r.try_get(i).map_err(db)
}

fn js<T: Serialize>(v: &T) -> Json<serde_json::Value> {
    Json(serde_json::to_value(v).unwrap_or(serde_json::Value::Null))
}

pub(crate) fn lock(sql: String, lock: bool) -> String {
    if lock { sql + " FOR UPDATE" } else { sql }
}

/// A tokio-postgres row seen through the shared column getters.
pub(crate) struct PgRow<'a>(pub(crate) &'a Row);

impl Columns for PgRow<'_> {
    fn uuid(&self, i: usize) -> Result<Uuid> {
        get(self.0, i)
    }
    fn opt_uuid(&self, i: usize) -> Result<Option<Uuid>> {
        get(self.0, i)
    }
    fn text(&self, i: usize) -> Result<String> {
        get(self.0, i)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        get(self.0, i)
    }
    fn int(&self, i: usize) -> Result<i64> {
        get(self.0, i)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        get(self.0, i)
    }
    fn opt_real(&self, i: usize) -> Result<Option<f64>> {
        get(self.0, i)
    }
    fn boolean(&self, i: usize) -> Result<bool> {
        get(self.0, i)
    }
    fn json(&self, i: usize) -> Result<serde_json::Value> {
        get(self.0, i)
    }
    fn bytes(&self, i: usize) -> Result<Vec<u8>> {
        get(self.0, i)
    }
}

impl PgTx {
    async fn members(&self, teams: &[Uuid]) -> Result<Vec<(Uuid, UserId)>> {
        let rows = self
            .all("SELECT team_id, user_id FROM team_members WHERE team_id = ANY($1) ORDER BY team_id, position", &[&teams])
            .await?;
        rows.iter().map(|r| Ok((get(r, 0)?, UserId(get(r, 1)?)))).collect()
    }

    async fn with_members(&self, mut teams: Vec<Team>) -> Result<Vec<Team>> {
        let ids: Vec<Uuid> = teams.iter().map(|t| t.id.0).collect();
        for (team, user) in self.members(&ids).await? {
            if let Some(t) = teams.iter_mut().find(|t| t.id.0 == team) {
                t.member_ids.push(user);
            }
        }
        Ok(teams)
    }

    async fn write_members(&self, t: &Team) -> Result<()> {
        self.exec("DELETE FROM team_members WHERE team_id = $1", &[&t.id.0]).await?;
        for (i, m) in t.member_ids.iter().enumerate() {
            self.exec(
                "INSERT INTO team_members (team_id, user_id, workspace_id, position) VALUES ($1, $2, $3, $4)",
                &[&t.id.0, &m.0, &t.workspace_id.0, &(i as i32)],
            )
            .await?;
        }
        Ok(())
    }

    async fn with_identities(&self, mut contacts: Vec<Contact>) -> Result<Vec<Contact>> {
        let ids: Vec<Uuid> = contacts.iter().map(|c| c.id.0).collect();
        let rows = self
            .all(
                "SELECT contact_id, kind, channel_id, value FROM contact_identities WHERE contact_id = ANY($1) \
                 ORDER BY contact_id, position",
                &[&ids],
            )
            .await?;
        for r in &rows {
            let owner: Uuid = get(r, 0)?;
            let identity = columns::identity(&PgRow(r), 1)?;
            if let Some(c) = contacts.iter_mut().find(|c| c.id.0 == owner) {
                c.identities.push(identity);
            }
        }
        Ok(contacts)
    }

    async fn write_identities(&self, c: &Contact) -> Result<()> {
        self.exec("DELETE FROM contact_identities WHERE contact_id = $1", &[&c.id.0]).await?;
        for (i, id) in c.identities.iter().enumerate() {
            self.exec(
                "INSERT INTO contact_identities (workspace_id, contact_id, kind, channel_id, value, position) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[&c.workspace_id.0, &c.id.0, &id.kind(), &columns::channel_key(id.channel_id()), &id.value(), &(i as i32)],
            )
            .await?;
        }
        Ok(())
    }

    async fn query_dynamic<T>(
        &self,
        sql: &str,
        args: &[Param],
        map: fn(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref() as &(dyn ToSql + Sync)).collect();
        self.all(sql, &refs).await?.iter().map(map).collect()
    }
}

impl Tx for PgTx {
    async fn insert_workspace(&mut self, ws: &Workspace) -> Result<()> {
        self.exec(
            "INSERT INTO workspaces (id, name, slug, created_at) VALUES ($1, $2, $3, $4)",
            &[&ws.id.0, &ws.name.as_str(), &ws.slug, &ws.created_at.0],
        )
        .await
        .map(drop)
    }

    async fn workspace(&mut self, id: WorkspaceId) -> Result<Option<Workspace>> {
        self.one(&format!("{SELECT_WORKSPACE} WHERE id = $1"), &[&id.0])
            .await?
            .as_ref()
            .map(|r| columns::workspace(&PgRow(r)))
            .transpose()
    }

    async fn workspace_by_slug(&mut self, slug: &str) -> Result<Option<Workspace>> {
        self.one(&format!("{SELECT_WORKSPACE} WHERE slug = $1"), &[&slug])
            .await?
            .as_ref()
            .map(|r| columns::workspace(&PgRow(r)))
            .transpose()
    }

    async fn insert_user(&mut self, u: &User, password_hash: &str) -> Result<()> {
        self.exec(
            "INSERT INTO users (id, workspace_id, name, email, role, active, password_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
            &[&u.id.0, &u.workspace_id.0, &u.name.as_str(), &u.email.as_str(), &u.role.as_str(), &u.active, &password_hash, &u.created_at.0],
        )
        .await
        .map(drop)
    }

    async fn user(&mut self, ws: WorkspaceId, id: UserId, l: bool) -> Result<Option<User>> {
        let sql = lock(format!("{SELECT_USER} WHERE workspace_id = $1 AND id = $2"), l);
        self.one(&sql, &[&ws.0, &id.0]).await?.as_ref().map(|r| columns::user(&PgRow(r))).transpose()
    }

    async fn users(&mut self, ws: WorkspaceId, page: PageRequest) -> Result<Vec<User>> {
        let (sort, id) = page.after.map(|c| (c.sort, c.id)).unwrap_or((i64::MIN, Uuid::nil()));
        let limit = i64::from(page.limit) + 1;
        let rows = self
            .all(
                &format!("{SELECT_USER} WHERE workspace_id = $1 AND (created_at, id) > ($2, $3) ORDER BY created_at, id LIMIT $4"),
                &[&ws.0, &sort, &id, &limit],
            )
            .await?;
        rows.iter().map(|r| columns::user(&PgRow(r))).collect()
    }

    async fn save_user(&mut self, u: &User, now: Timestamp) -> Result<()> {
        self.exec(
            "UPDATE users SET name = $3, role = $4, active = $5, updated_at = $6 WHERE workspace_id = $1 AND id = $2",
            &[&u.workspace_id.0, &u.id.0, &u.name.as_str(), &u.role.as_str(), &u.active, &now.0],
        )
        .await
        .map(drop)
    }

    async fn credentials_by_email(&mut self, email: &EmailAddress) -> Result<Option<Credentials>> {
        let row = self.one(&format!("{SELECT_USER} WHERE email = $1"), &[&email.as_str()]).await?;
        row.map(|r| Ok(Credentials { user: columns::user(&PgRow(&r))?, password_hash: get(&r, 7)? }))
            .transpose()
    }

    async fn set_password(
        &mut self,
        ws: WorkspaceId,
        id: UserId,
        hash: &str,
        now: Timestamp,
    ) -> Result<bool> {
        self.exec(
            "UPDATE users SET password_hash = $3, updated_at = $4 WHERE workspace_id = $1 AND id = $2",
            &[&ws.0, &id.0, &hash, &now.0],
        )
        .await
        .map(|n| n == 1)
    }

    async fn delete_sessions_of(&mut self, user: UserId) -> Result<()> {
        self.exec("DELETE FROM sessions WHERE user_id = $1", &[&user.0]).await.map(drop)
    }

    async fn insert_session(&mut self, x: &Session) -> Result<()> {
        self.exec(
            "INSERT INTO sessions (token_hash, user_id, workspace_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &x.token_hash,
                &x.user_id.0,
                &x.workspace_id.0,
                &x.csrf_token,
                &x.created_at.0,
                &x.expires_at.0,
            ],
        )
        .await
        .map(drop)
    }

    async fn session(&mut self, token_hash: &str, now: Timestamp) -> Result<Option<(Session, User)>> {
        let row = self
            .one(
                "SELECT u.id, u.workspace_id, u.name, u.email, u.role, u.active, u.created_at, \
                 s.token_hash, s.csrf_token, s.created_at, s.expires_at \
                 FROM sessions s JOIN users u ON u.id = s.user_id AND u.workspace_id = s.workspace_id \
                 WHERE s.token_hash = $1 AND s.expires_at > $2",
                &[&token_hash, &now.0],
            )
            .await?;
        row.map(|r| {
            let user = columns::user(&PgRow(&r))?;
            let session = Session {
                token_hash: get(&r, 7)?,
                user_id: user.id,
                workspace_id: user.workspace_id,
                csrf_token: get(&r, 8)?,
                created_at: PgRow(&r).time(9)?,
                expires_at: PgRow(&r).time(10)?,
            };
            Ok((session, user))
        })
        .transpose()
    }

    async fn delete_session(&mut self, token_hash: &str) -> Result<()> {
        self.exec("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash]).await.map(drop)
    }

    async fn insert_api_token(&mut self, t: &ApiToken, hash: &str) -> Result<()> {
        self.exec(
            "INSERT INTO api_tokens (id, workspace_id, name, role, created_by, token_hash, prefix, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[&t.id.0, &t.workspace_id.0, &t.name.as_str(), &t.role.as_str(), &t.created_by.0, &hash, &t.prefix, &t.created_at.0],
        )
        .await
        .map(drop)
    }

    async fn api_token(&mut self, hash: &str) -> Result<Option<ApiToken>> {
        let sql = "SELECT t.id, t.workspace_id, t.name, CASE WHEN u.role = 'admin' THEN t.role ELSE u.role END, \
             t.created_by, t.created_at, t.revoked_at, t.prefix \
             FROM api_tokens t JOIN users u ON u.id = t.created_by AND u.workspace_id = t.workspace_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.active";
        self.one(sql, &[&hash]).await?.as_ref().map(|r| columns::api_token(&PgRow(r))).transpose()
    }

    async fn api_tokens(&mut self, ws: WorkspaceId) -> Result<Vec<ApiToken>> {
        let sql = format!("{SELECT_TOKEN} WHERE workspace_id = $1 ORDER BY created_at DESC, id DESC");
        self.all(&sql, &[&ws.0]).await?.iter().map(|r| columns::api_token(&PgRow(r))).collect()
    }

    async fn revoke_api_token(&mut self, ws: WorkspaceId, id: ApiTokenId, now: Timestamp) -> Result<bool> {
        self.exec(
            "UPDATE api_tokens SET revoked_at = $3 WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL",
            &[&ws.0, &id.0, &now.0],
        )
        .await
        .map(|n| n == 1)
    }

    async fn insert_team(&mut self, t: &Team) -> Result<()> {
        self.exec(
            "INSERT INTO teams (id, workspace_id, name, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
            &[&t.id.0, &t.workspace_id.0, &t.name.as_str(), &t.description, &t.created_at.0],
        )
        .await?;
        self.write_members(t).await
    }

    async fn team(&mut self, ws: WorkspaceId, id: TeamId, l: bool) -> Result<Option<Team>> {
        let sql = lock(format!("{SELECT_TEAM} WHERE workspace_id = $1 AND id = $2"), l);
        let team =
            self.one(&sql, &[&ws.0, &id.0]).await?.as_ref().map(|r| columns::team(&PgRow(r))).transpose()?;
        match team {
            Some(t) => Ok(self.with_members(vec![t]).await?.pop()),
            None => Ok(None),
        }
    }

    async fn teams(&mut self, ws: WorkspaceId) -> Result<Vec<Team>> {
        let teams =
            self.all(&format!("{SELECT_TEAM} WHERE workspace_id = $1 ORDER BY name"), &[&ws.0]).await?;
        let teams = teams.iter().map(|r| columns::team(&PgRow(r))).collect::<Result<Vec<_>>>()?;
        self.with_members(teams).await
    }

    async fn save_team(&mut self, t: &Team, now: Timestamp) -> Result<()> {
        self.exec(
            "UPDATE teams SET name = $3, description = $4, updated_at = $5 WHERE workspace_id = $1 AND id = $2",
            &[&t.workspace_id.0, &t.id.0, &t.name.as_str(), &t.description, &now.0],
        )
        .await?;
        self.write_members(t).await
    }

    async fn delete_team(&mut self, ws: WorkspaceId, id: TeamId) -> Result<bool> {
        self.exec("DELETE FROM teams WHERE workspace_id = $1 AND id = $2", &[&ws.0, &id.0])
            .await
            .map(|n| n == 1)
    }

    async fn insert_channel(&mut self, c: &Channel, widget_secret: Option<&str>) -> Result<()> {
        self.exec(
            "INSERT INTO channels (id, workspace_id, kind, name, team_id, settings, created_at, updated_at, \
             public_token, widget_secret) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9)",
            &[
                &c.id.0,
                &c.workspace_id.0,
                &c.kind.as_str(),
                &c.name.as_str(),
                &c.team_id.map(|t| t.0),
                &js(&c.settings),
                &c.created_at.0,
                &c.public_token,
                &widget_secret,
            ],
        )
        .await
        .map(drop)
    }

    async fn channel_by_public_token(&mut self, token: &str) -> Result<Option<(Channel, String)>> {
        let row = self
            .one(
                "SELECT id, workspace_id, kind, name, team_id, settings, created_at, public_token, widget_secret \
                 FROM channels WHERE public_token = $1 AND widget_secret IS NOT NULL",
                &[&token],
            )
            .await?;
        row.map(|r| Ok((columns::channel(&PgRow(&r))?, get(&r, 8)?))).transpose()
    }

    async fn widget_secret(&mut self, ws: WorkspaceId, id: ChannelId) -> Result<Option<String>> {
        let row = self
            .one(
                "SELECT widget_secret FROM channels WHERE workspace_id = $1 AND id = $2 AND widget_secret IS NOT NULL",
                &[&ws.0, &id.0],
            )
            .await?;
        row.map(|r| get(&r, 0)).transpose()
    }

    async fn set_widget_secret(&mut self, ws: WorkspaceId, id: ChannelId, secret: &str) -> Result<bool> {
        let changed = self
            .exec(
                "UPDATE channels SET widget_secret = $3 WHERE workspace_id = $1 AND id = $2 AND widget_secret IS NOT NULL",
                &[&ws.0, &id.0, &secret],
            )
            .await?
            == 1;
        if changed {
            // The sessions of site users the old secret vouched for end with it.
            self.exec(
                "DELETE FROM visitor_sessions WHERE workspace_id = $1 AND channel_id = $2 AND contact_id IN \
                 (SELECT contact_id FROM contact_identities WHERE workspace_id = $1 AND kind = 'external' \
                 AND channel_id = $3 AND value LIKE 'user:%')",
                &[&ws.0, &id.0, &id.0.to_string()],
            )
            .await?;
        }
        Ok(changed)
    }

    async fn insert_visitor_session(&mut self, v: &VisitorSession) -> Result<()> {
        self.exec(
            "INSERT INTO visitor_sessions (token_hash, workspace_id, channel_id, contact_id, created_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[&v.token_hash, &v.workspace_id.0, &v.channel_id.0, &v.contact_id.0, &v.created_at.0, &v.last_seen_at.0],
        )
        .await
        .map(drop)
    }

    async fn visitor_session(&mut self, hash: &str) -> Result<Option<VisitorSession>> {
        let row = self
            .one(
                "SELECT token_hash, workspace_id, channel_id, contact_id, created_at, last_seen_at FROM visitor_sessions \
                 WHERE token_hash = $1",
                &[&hash],
            )
            .await?;
        row.map(|r| {
            let c = PgRow(&r);
            Ok(VisitorSession {
                token_hash: c.text(0)?,
                workspace_id: WorkspaceId(c.uuid(1)?),
                channel_id: ChannelId(c.uuid(2)?),
                contact_id: ContactId(c.uuid(3)?),
                created_at: c.time(4)?,
                last_seen_at: c.time(5)?,
            })
        })
        .transpose()
    }

    async fn channel(&mut self, ws: WorkspaceId, id: ChannelId, l: bool) -> Result<Option<Channel>> {
        let sql = lock(format!("{SELECT_CHANNEL} WHERE workspace_id = $1 AND id = $2"), l);
        self.one(&sql, &[&ws.0, &id.0]).await?.as_ref().map(|r| columns::channel(&PgRow(r))).transpose()
    }

    async fn channels(&mut self, ws: WorkspaceId) -> Result<Vec<Channel>> {
        let sql = format!("{SELECT_CHANNEL} WHERE workspace_id = $1 ORDER BY created_at, id");
        self.all(&sql, &[&ws.0]).await?.iter().map(|r| columns::channel(&PgRow(r))).collect()
    }

    async fn save_channel(&mut self, c: &Channel, now: Timestamp) -> Result<()> {
        self.exec(
            "UPDATE channels SET name = $3, team_id = $4, settings = $5, updated_at = $6 WHERE workspace_id = $1 AND id = $2",
            &[&c.workspace_id.0, &c.id.0, &c.name.as_str(), &c.team_id.map(|t| t.0), &js(&c.settings), &now.0],
        )
        .await
        .map(drop)
    }

    async fn delete_channel(&mut self, ws: WorkspaceId, id: ChannelId) -> Result<bool> {
        self.exec(
            "DELETE FROM contact_identities WHERE workspace_id = $1 AND channel_id = $2",
            &[&ws.0, &id.to_string()],
        )
        .await?;
        self.exec("DELETE FROM channels WHERE workspace_id = $1 AND id = $2", &[&ws.0, &id.0])
            .await
            .map(|n| n == 1)
    }

    async fn insert_contact(&mut self, c: &Contact) -> Result<()> {
        self.exec(
            "INSERT INTO contacts (id, workspace_id, name, attributes, tags, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &c.id.0,
                &c.workspace_id.0,
                &c.name.as_ref().map(Name::as_str),
                &js(&c.attributes),
                &js(&c.tags),
                &c.created_at.0,
                &c.updated_at.0,
            ],
        )
        .await?;
        self.write_identities(c).await
    }

    async fn contact(&mut self, ws: WorkspaceId, id: ContactId, l: bool) -> Result<Option<Contact>> {
        let sql = lock(format!("{SELECT_CONTACT} WHERE workspace_id = $1 AND id = $2"), l);
        match self
            .one(&sql, &[&ws.0, &id.0])
            .await?
            .as_ref()
            .map(|r| columns::contact(&PgRow(r)))
            .transpose()?
        {
            Some(c) => Ok(self.with_identities(vec![c]).await?.pop()),
            None => Ok(None),
        }
    }

    async fn contact_by_identity(
        &mut self,
        ws: WorkspaceId,
        identity: &Identity,
    ) -> Result<Option<ContactId>> {
        let row = self
            .one(
                "SELECT contact_id FROM contact_identities WHERE workspace_id = $1 AND kind = $2 AND channel_id = $3 AND value = $4",
                &[&ws.0, &identity.kind(), &columns::channel_key(identity.channel_id()), &identity.value()],
            )
            .await?;
        row.map(|r| get(&r, 0).map(ContactId)).transpose()
    }

    async fn contacts(
        &mut self,
        ws: WorkspaceId,
        f: &ContactFilter,
        page: PageRequest,
    ) -> Result<Vec<Contact>> {
        let mut sql = format!("{SELECT_CONTACT} WHERE workspace_id = $1");
        let mut args: Vec<Param> = vec![Box::new(ws.0)];
        if let Some(q) = &f.query {
            args.push(Box::new(columns::like_pattern(q)));
            let n = args.len();
            sql.push_str(&format!(
                " AND (lower(name) LIKE ${n} OR EXISTS (SELECT 1 FROM contact_identities i \
                 WHERE i.contact_id = contacts.id AND lower(i.value) LIKE ${n}))"
            ));
        }
        if let Some(t) = &f.tag {
            args.push(Box::new(t.to_string()));
            sql.push_str(&format!(" AND tags @> jsonb_build_array(${}::text)", args.len()));
        }
        if let Some(c) = page.after {
            args.push(Box::new(c.sort));
            args.push(Box::new(c.id));
            sql.push_str(&format!(" AND (created_at, id) < (${}, ${})", args.len() - 1, args.len()));
        }
        args.push(Box::new(i64::from(page.limit) + 1));
        sql.push_str(&format!(" ORDER BY created_at DESC, id DESC LIMIT ${}", args.len()));
        let contacts = self.query_dynamic(&sql, &args, |r| columns::contact(&PgRow(r))).await?;
        self.with_identities(contacts).await
    }

    async fn save_contact(&mut self, c: &Contact) -> Result<()> {
        self.exec(
            "UPDATE contacts SET name = $3, attributes = $4, tags = $5, updated_at = $6 WHERE workspace_id = $1 AND id = $2",
            &[&c.workspace_id.0, &c.id.0, &c.name.as_ref().map(Name::as_str), &js(&c.attributes), &js(&c.tags), &c.updated_at.0],
        )
        .await?;
        self.write_identities(c).await
    }

    async fn delete_contact(&mut self, ws: WorkspaceId, id: ContactId) -> Result<bool> {
        self.exec("DELETE FROM contacts WHERE workspace_id = $1 AND id = $2", &[&ws.0, &id.0])
            .await
            .map(|n| n == 1)
    }

    async fn count_conversations(
        &mut self,
        ws: WorkspaceId,
        channel: Option<ChannelId>,
        contact: Option<ContactId>,
    ) -> Result<i64> {
        let row = self
            .one(
                "SELECT count(*) FROM conversations WHERE workspace_id = $1 \
                 AND ($2::uuid IS NULL OR channel_id = $2) AND ($3::uuid IS NULL OR contact_id = $3)",
                &[&ws.0, &channel.map(|c| c.0), &contact.map(|c| c.0)],
            )
            .await?;
        row.map(|r| get(&r, 0)).transpose().map(Option::unwrap_or_default)
    }

    async fn open_counts(&mut self, ws: WorkspaceId, users: &[UserId]) -> Result<Vec<(UserId, i64)>> {
        let ids: Vec<Uuid> = users.iter().map(|u| u.0).collect();
        let rows = self
            .all(
                "SELECT assignee_id, count(*) FROM conversations WHERE workspace_id = $1 AND assignee_id = ANY($2) \
                 AND status IN ('open', 'pending') GROUP BY assignee_id",
                &[&ws.0, &ids],
            )
            .await?;
        rows.iter().map(|r| Ok((UserId(get(r, 0)?), get(r, 1)?))).collect()
    }

    async fn insert_conversation(&mut self, c: &Conversation, opening_key: Option<&str>) -> Result<()> {
        self.exec(
            "INSERT INTO conversations (id, workspace_id, channel_id, contact_id, subject, status, priority, \
             assignee_id, team_id, tags, created_at, updated_at, last_activity_at, first_response_at, resolved_at, \
             snoozed_until, message_count, opening_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
            &[
                &c.id.0, &c.workspace_id.0, &c.channel_id.0, &c.contact_id.0, &c.subject, &c.status.as_str(),
                &c.priority.as_str(), &c.assignee_id.map(|a| a.0), &c.team_id.map(|t| t.0), &js(&c.tags),
                &c.created_at.0, &c.updated_at.0, &c.last_activity_at.0, &c.first_response_at.map(|t| t.0),
                &c.resolved_at.map(|t| t.0), &c.snoozed_until.map(|t| t.0), &c.message_count, &opening_key,
            ],
        )
        .await
        .map(drop)
    }

    async fn conversation(
        &mut self,
        ws: WorkspaceId,
        id: ConversationId,
        l: bool,
    ) -> Result<Option<Conversation>> {
        let sql = lock(format!("{SELECT_CONVERSATION} WHERE workspace_id = $1 AND id = $2"), l);
        self.one(&sql, &[&ws.0, &id.0]).await?.as_ref().map(|r| columns::conversation(&PgRow(r))).transpose()
    }

    async fn conversations(
        &mut self,
        ws: WorkspaceId,
        f: &ConversationFilter,
        page: PageRequest,
    ) -> Result<Vec<Conversation>> {
        let mut sql = format!("{SELECT_CONVERSATION} WHERE workspace_id = $1");
        let mut args: Vec<Param> = vec![Box::new(ws.0)];
        let mut eq = |col: &str, v: Option<Param>| {
            if let Some(v) = v {
                args.push(v);
                sql.push_str(&format!(" AND {col} = ${}", args.len()));
            }
        };
        eq("status", f.status.map(|x| Box::new(x.as_str()) as Param));
        eq("team_id", f.team_id.map(|x| Box::new(x.0) as Param));
        eq("channel_id", f.channel_id.map(|x| Box::new(x.0) as Param));
        eq("contact_id", f.contact_id.map(|x| Box::new(x.0) as Param));
        eq("priority", f.priority.map(|x| Box::new(x.as_str()) as Param));
        match f.assignee_id {
            Some(Some(a)) => eq("assignee_id", Some(Box::new(a.0))),
            Some(None) => sql.push_str(" AND assignee_id IS NULL"),
            None => {}
        }
        if let Some(t) = &f.tag {
            args.push(Box::new(t.to_string()));
            sql.push_str(&format!(" AND tags @> jsonb_build_array(${}::text)", args.len()));
        }
        if let Some(q) = &f.query {
            args.push(Box::new(columns::like_pattern(q)));
            let n = args.len();
            sql.push_str(&format!(
                " AND (EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = conversations.id \
                 AND lower(m.content) LIKE ${n}) OR EXISTS (SELECT 1 FROM contacts c WHERE c.id = \
                 conversations.contact_id AND lower(c.name) LIKE ${n}) OR EXISTS (SELECT 1 FROM contact_identities i \
                 WHERE i.contact_id = conversations.contact_id AND lower(i.value) LIKE ${n}))"
            ));
        }
        if let Some(c) = page.after {
            args.push(Box::new(c.sort));
            args.push(Box::new(c.id));
            sql.push_str(&format!(" AND (last_activity_at, id) < (${}, ${})", args.len() - 1, args.len()));
        }
        args.push(Box::new(i64::from(page.limit) + 1));
        sql.push_str(&format!(" ORDER BY last_activity_at DESC, id DESC LIMIT ${}", args.len()));
        self.query_dynamic(&sql, &args, |r| columns::conversation(&PgRow(r))).await
    }

    async fn save_conversation(&mut self, c: &Conversation) -> Result<()> {
        self.exec(
            "UPDATE conversations SET subject = $3, status = $4, priority = $5, assignee_id = $6, team_id = $7, \
             tags = $8, updated_at = $9, last_activity_at = $10, first_response_at = $11, resolved_at = $12, \
             snoozed_until = $13, message_count = $14 WHERE workspace_id = $1 AND id = $2",
            &[
                &c.workspace_id.0, &c.id.0, &c.subject, &c.status.as_str(), &c.priority.as_str(),
                &c.assignee_id.map(|a| a.0), &c.team_id.map(|t| t.0), &js(&c.tags), &c.updated_at.0,
                &c.last_activity_at.0, &c.first_response_at.map(|t| t.0), &c.resolved_at.map(|t| t.0),
                &c.snoozed_until.map(|t| t.0), &c.message_count,
            ],
        )
        .await
        .map(drop)
    }

    async fn delete_conversation(&mut self, ws: WorkspaceId, id: ConversationId) -> Result<bool> {
        self.exec("DELETE FROM messages WHERE workspace_id = $1 AND conversation_id = $2", &[&ws.0, &id.0])
            .await?;
        self.exec("DELETE FROM conversations WHERE workspace_id = $1 AND id = $2", &[&ws.0, &id.0])
            .await
            .map(|n| n == 1)
    }

    async fn insert_message(&mut self, m: &Message) -> Result<bool> {
        let (sender_type, sender_id) = sender_parts(&m.sender);
        self.exec(
            "INSERT INTO messages (id, workspace_id, conversation_id, kind, sender_type, sender_id, content, \
             attachments, idempotency_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT DO NOTHING",
            &[
                &m.id.0,
                &m.workspace_id.0,
                &m.conversation_id.0,
                &m.kind.as_str(),
                &sender_type,
                &sender_id,
                &m.content,
                &js(&m.attachments),
                &m.idempotency_key,
                &m.created_at.0,
            ],
        )
        .await
        .map(|n| n == 1)
    }

    async fn message_by_key(
        &mut self,
        ws: WorkspaceId,
        conv: ConversationId,
        key: &str,
    ) -> Result<Option<Message>> {
        let sql = format!(
            "{SELECT_MESSAGE} WHERE workspace_id = $1 AND conversation_id = $2 AND idempotency_key = $3"
        );
        self.one(&sql, &[&ws.0, &conv.0, &key])
            .await?
            .as_ref()
            .map(|r| columns::message(&PgRow(r)))
            .transpose()
    }

    async fn messages(
        &mut self,
        ws: WorkspaceId,
        conv: ConversationId,
        page: PageRequest,
        newest_first: bool,
    ) -> Result<Vec<Message>> {
        let (sort, id) = match (page.after, newest_first) {
            (Some(c), _) => (c.sort, c.id),
            (None, false) => (i64::MIN, Uuid::nil()),
            (None, true) => (i64::MAX, Uuid::max()),
        };
        let limit = i64::from(page.limit) + 1;
        let (cmp, order) = if newest_first { ("<", "DESC") } else { (">", "ASC") };
        let sql = format!(
            "{SELECT_MESSAGE} WHERE workspace_id = $1 AND conversation_id = $2 AND (created_at, id) {cmp} ($3, $4) \
             ORDER BY created_at {order}, id {order} LIMIT $5"
        );
        self.all(&sql, &[&ws.0, &conv.0, &sort, &id, &limit])
            .await?
            .iter()
            .map(|r| columns::message(&PgRow(r)))
            .collect()
    }

    async fn snoozed_due(
        &mut self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<(WorkspaceId, ConversationId)>> {
        let rows = self
            .all(
                "SELECT workspace_id, id FROM conversations WHERE status = 'snoozed' AND snoozed_until <= $1 \
                 ORDER BY snoozed_until LIMIT $2",
                &[&now.0, &i64::from(limit)],
            )
            .await?;
        rows.iter().map(|r| Ok((WorkspaceId(get(r, 0)?), ConversationId(get(r, 1)?)))).collect()
    }

    async fn delete_expired_sessions(&mut self, now: Timestamp) -> Result<u64> {
        let sessions = self.exec("DELETE FROM sessions WHERE expires_at <= $1", &[&now.0]).await?;
        let idle = now.0 - lianluo_store::VISITOR_IDLE_MS;
        let visitors = self.exec("DELETE FROM visitor_sessions WHERE last_seen_at <= $1", &[&idle]).await?;
        Ok(sessions + visitors)
    }

    async fn touch_visitor_session(&mut self, hash: &str, now: Timestamp) -> Result<()> {
        self.exec("UPDATE visitor_sessions SET last_seen_at = $2 WHERE token_hash = $1", &[&hash, &now.0])
            .await
            .map(drop)
    }

    async fn insert_event(&mut self, ws: WorkspaceId, e: &NewEvent, now: Timestamp) -> Result<()> {
        let (actor_type, actor_id) = actor_parts(&e.actor);
        self.exec(
            "INSERT INTO events (workspace_id, actor_type, actor_id, kind, subject_id, data, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&ws.0, &actor_type, &actor_id, &e.kind.as_str(), &e.subject_id, &Json(&e.data), &now.0],
        )
        .await
        .map(drop)
    }

    async fn message(&mut self, ws: WorkspaceId, id: MessageId) -> Result<Option<Message>> {
        let sql = format!("{SELECT_MESSAGE} WHERE workspace_id = $1 AND id = $2");
        self.one(&sql, &[&ws.0, &id.0]).await?.as_ref().map(|r| columns::message(&PgRow(r))).transpose()
    }

    async fn all_events(&mut self, after: i64, limit: u32) -> Result<Vec<Event>> {
        let sql = format!("{SELECT_EVENT} WHERE id > $1 ORDER BY id LIMIT $2");
        let rows = self.all(&sql, &[&after, &i64::from(limit)]).await?;
        rows.iter().map(|r| columns::event(&PgRow(r))).collect()
    }

    async fn latest_event_id(&mut self) -> Result<i64> {
        let row = self.one("SELECT coalesce(max(id), 0)::bigint FROM events", &[]).await?;
        row.map(|r| get(&r, 0)).transpose().map(Option::unwrap_or_default)
    }

    async fn inbox_details(
        &mut self,
        ws: WorkspaceId,
        user: UserId,
        ids: &[ConversationId],
    ) -> Result<Vec<InboxDetail>> {
        let ids: Vec<Uuid> = ids.iter().map(|c| c.0).collect();
        let rows = self
            .all(
                "SELECT v.id, c.name, last.kind, substr(last.content, 1, 140), last.created_at, \
                 (SELECT count(*) FROM messages m WHERE m.conversation_id = v.id AND m.kind = 'incoming' \
                  AND m.created_at > coalesce((SELECT read_at FROM conversation_reads r \
                  WHERE r.conversation_id = v.id AND r.user_id = $3), -9223372036854775807)) \
                 FROM conversations v JOIN contacts c ON c.id = v.contact_id \
                 LEFT JOIN LATERAL (SELECT kind, content, created_at FROM messages WHERE conversation_id = v.id \
                  AND kind IN ('incoming', 'outgoing') ORDER BY created_at DESC, id DESC LIMIT 1) last ON true \
                 WHERE v.workspace_id = $1 AND v.id = ANY($2)",
                &[&ws.0, &ids, &user.0],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let c = PgRow(r);
                Ok(InboxDetail {
                    conversation_id: ConversationId(c.uuid(0)?),
                    contact_name: c.opt_text(1)?,
                    last_kind: c.opt_text(2)?,
                    last_excerpt: c.opt_text(3)?,
                    last_at: c.opt_time(4)?,
                    unread: c.int(5)?,
                })
            })
            .collect()
    }

    async fn mark_read(
        &mut self,
        ws: WorkspaceId,
        conversation: ConversationId,
        user: UserId,
        at: Timestamp,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO conversation_reads (conversation_id, user_id, workspace_id, read_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (conversation_id, user_id) DO UPDATE SET read_at = greatest(conversation_reads.read_at, excluded.read_at)",
            &[&conversation.0, &user.0, &ws.0, &at.0],
        )
        .await
        .map(drop)
    }

    async fn insert_canned(&mut self, c: &CannedResponse) -> Result<()> {
        self.exec(
            "INSERT INTO canned_responses (id, workspace_id, shortcut, content, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&c.id.0, &c.workspace_id.0, &c.shortcut, &c.content, &c.created_by.0, &c.created_at.0, &c.updated_at.0],
        )
        .await
        .map(drop)
    }

    async fn canned(&mut self, ws: WorkspaceId, id: CannedResponseId) -> Result<Option<CannedResponse>> {
        let sql = format!("{SELECT_CANNED} WHERE workspace_id = $1 AND id = $2");
        self.one(&sql, &[&ws.0, &id.0]).await?.as_ref().map(|r| columns::canned(&PgRow(r))).transpose()
    }

    async fn canned_list(&mut self, ws: WorkspaceId) -> Result<Vec<CannedResponse>> {
        let sql = format!("{SELECT_CANNED} WHERE workspace_id = $1 ORDER BY shortcut");
        self.all(&sql, &[&ws.0]).await?.iter().map(|r| columns::canned(&PgRow(r))).collect()
    }

    async fn save_canned(&mut self, c: &CannedResponse) -> Result<()> {
        self.exec(
            "UPDATE canned_responses SET shortcut = $3, content = $4, updated_at = $5 WHERE workspace_id = $1 AND id = $2",
            &[&c.workspace_id.0, &c.id.0, &c.shortcut, &c.content, &c.updated_at.0],
        )
        .await
        .map(drop)
    }

    async fn delete_canned(&mut self, ws: WorkspaceId, id: CannedResponseId) -> Result<bool> {
        self.exec("DELETE FROM canned_responses WHERE workspace_id = $1 AND id = $2", &[&ws.0, &id.0])
            .await
            .map(|n| n == 1)
    }

    async fn events(&mut self, ws: WorkspaceId, after: i64, limit: u32) -> Result<Vec<Event>> {
        let sql = format!("{SELECT_EVENT} WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3");
        let rows = self.all(&sql, &[&ws.0, &after, &i64::from(limit)]).await?;
        rows.iter().map(|r| columns::event(&PgRow(r))).collect()
    }

    async fn events_before(
        &mut self,
        ws: WorkspaceId,
        before: i64,
        kind_prefix: &[String],
        limit: u32,
    ) -> Result<Vec<Event>> {
        let holes: Vec<String> = (0..kind_prefix.len()).map(|i| format!("${}", i + 4)).collect();
        let sql = columns::events_before_sql("$1", "$2", "$3", &holes);
        let patterns: Vec<String> = kind_prefix.iter().map(|p| format!("{p}%")).collect();
        let mut args: Vec<&(dyn ToSql + Sync)> = vec![&ws.0, &before];
        let limit = i64::from(limit);
        args.push(&limit);
        args.extend(patterns.iter().map(|p| p as &(dyn ToSql + Sync)));
        let rows = self.all(&sql, &args).await?;
        rows.iter().map(|r| columns::event(&PgRow(r))).collect()
    }

    async fn insert_kb_source(&mut self, k: &KbSource) -> Result<()> {
        self.exec(
            "INSERT INTO kb_sources (id, workspace_id, kind, title, content, url, status, error, chunk_count, \
             created_by, created_at, updated_at, page_limit) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            &[
                &k.id.0,
                &k.workspace_id.0,
                &k.kind.as_str(),
                &k.title,
                &k.content,
                &k.url,
                &k.status.as_str(),
                &k.error,
                &k.chunk_count,
                &k.created_by.map(|u| u.0),
                &k.created_at.0,
                &k.updated_at.0,
                &k.page_limit,
            ],
        )
        .await
        .map(drop)
    }

    async fn kb_source(&mut self, ws: WorkspaceId, id: KbSourceId) -> Result<Option<KbSource>> {
        let sql = format!("{SELECT_KB_SOURCE} WHERE workspace_id = $1 AND id = $2");
        self.one(&sql, &[&ws.0, &id.0]).await?.as_ref().map(|r| columns::kb_source(&PgRow(r))).transpose()
    }

    async fn kb_sources(&mut self, ws: WorkspaceId) -> Result<Vec<KbSource>> {
        let sql = format!("{SELECT_KB_SOURCE_LISTED} WHERE workspace_id = $1 ORDER BY id");
        self.all(&sql, &[&ws.0]).await?.iter().map(|r| columns::kb_source(&PgRow(r))).collect()
    }

    async fn save_kb_source(&mut self, k: &KbSource) -> Result<()> {
        self.exec(
            "UPDATE kb_sources SET title = $3, content = $4, url = $5, status = $6, error = $7, chunk_count = $8, \
             updated_at = $9, page_limit = $10 WHERE workspace_id = $1 AND id = $2",
            &[
                &k.workspace_id.0,
                &k.id.0,
                &k.title,
                &k.content,
                &k.url,
                &k.status.as_str(),
                &k.error,
                &k.chunk_count,
                &k.updated_at.0,
                &k.page_limit,
            ],
        )
        .await
        .map(drop)
    }

    async fn delete_kb_source(&mut self, ws: WorkspaceId, id: KbSourceId) -> Result<bool> {
        self.exec("DELETE FROM kb_chunks WHERE workspace_id = $1 AND source_id = $2", &[&ws.0, &id.0])
            .await?;
        self.exec("DELETE FROM kb_sources WHERE workspace_id = $1 AND id = $2", &[&ws.0, &id.0])
            .await
            .map(|n| n == 1)
    }

    async fn delete_kb_chunks(&mut self, ws: WorkspaceId, source: KbSourceId) -> Result<()> {
        self.exec("DELETE FROM kb_chunks WHERE workspace_id = $1 AND source_id = $2", &[&ws.0, &source.0])
            .await
            .map(drop)
    }

    async fn insert_kb_chunk(&mut self, c: &KbChunk) -> Result<()> {
        self.exec(
            "INSERT INTO kb_chunks (id, workspace_id, source_id, ordinal, heading, text, model, embedding, curated, \
             url, held, held_code) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            &[
                &c.id.0,
                &c.workspace_id.0,
                &c.source_id.0,
                &c.ordinal,
                &c.heading,
                &c.text,
                &c.model,
                &columns::vector_bytes(&c.embedding),
                &c.curated,
                &c.url,
                &c.held,
                &c.held_code.map(|c| c.as_str()),
            ],
        )
        .await
        .map(drop)
    }

    async fn kb_chunks(&mut self, ws: WorkspaceId, source: KbSourceId) -> Result<Vec<KbChunk>> {
        let sql = format!("{SELECT_KB_CHUNK} WHERE workspace_id = $1 AND source_id = $2 ORDER BY ordinal");
        self.all(&sql, &[&ws.0, &source.0]).await?.iter().map(|r| columns::kb_chunk(&PgRow(r))).collect()
    }

    async fn kb_chunk(&mut self, ws: WorkspaceId, id: KbChunkId) -> Result<Option<KbChunk>> {
        let sql = format!("{SELECT_KB_CHUNK} WHERE workspace_id = $1 AND id = $2");
        self.one(&sql, &[&ws.0, &id.0]).await?.map(|r| columns::kb_chunk(&PgRow(&r))).transpose()
    }

    async fn held_kb_chunks(&mut self, ws: WorkspaceId, limit: u32) -> Result<Vec<KbChunk>> {
        let sql = format!(
            "{SELECT_KB_CHUNK} WHERE workspace_id = $1 AND held IS NOT NULL ORDER BY source_id, ordinal LIMIT $2"
        );
        self.all(&sql, &[&ws.0, &i64::from(limit)])
            .await?
            .iter()
            .map(|r| columns::kb_chunk(&PgRow(r)))
            .collect()
    }

    async fn release_kb_chunk(&mut self, ws: WorkspaceId, id: KbChunkId) -> Result<bool> {
        self.exec(
            "UPDATE kb_chunks SET held = NULL, held_code = NULL WHERE workspace_id = $1 AND id = $2 AND held IS NOT NULL",
            &[&ws.0, &id.0],
        )
        .await
        .map(|n| n == 1)
    }

    async fn insert_kb_question(&mut self, q: &KbQuestion) -> Result<()> {
        self.exec(
            "INSERT INTO kb_questions (id, workspace_id, conversation_id, answer_message_id, question, language, \
             outcome, source_id, resolved_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                &q.id.0,
                &q.workspace_id.0,
                &q.conversation_id.map(|c| c.0),
                &q.answer_message_id.map(|m| m.0),
                &q.question,
                &q.language,
                &q.outcome.as_str(),
                &q.source_id.map(|s| s.0),
                &q.resolved_by.map(|s| s.0),
                &q.created_at.0,
                &q.updated_at.0,
            ],
        )
        .await
        .map(drop)
    }

    async fn kb_question(&mut self, ws: WorkspaceId, id: KbQuestionId) -> Result<Option<KbQuestion>> {
        let sql = format!("{SELECT_KB_QUESTION} WHERE workspace_id = $1 AND id = $2");
        self.one(&sql, &[&ws.0, &id.0]).await?.as_ref().map(|r| columns::kb_question(&PgRow(r))).transpose()
    }

    async fn kb_question_by_answer(
        &mut self,
        ws: WorkspaceId,
        answer: MessageId,
    ) -> Result<Option<KbQuestion>> {
        let sql = format!("{SELECT_KB_QUESTION} WHERE workspace_id = $1 AND answer_message_id = $2");
        self.one(&sql, &[&ws.0, &answer.0])
            .await?
            .as_ref()
            .map(|r| columns::kb_question(&PgRow(r)))
            .transpose()
    }

    async fn save_kb_question(&mut self, q: &KbQuestion) -> Result<()> {
        self.exec(
            "UPDATE kb_questions SET outcome = $3, resolved_by = $4, updated_at = $5 WHERE workspace_id = $1 AND id = $2",
            &[&q.workspace_id.0, &q.id.0, &q.outcome.as_str(), &q.resolved_by.map(|s| s.0), &q.updated_at.0],
        )
        .await
        .map(drop)
    }

    async fn kb_gap_questions(&mut self, ws: WorkspaceId, limit: u32) -> Result<Vec<KbQuestion>> {
        let sql = format!(
            "{SELECT_KB_QUESTION} WHERE workspace_id = $1 AND outcome IN ('unanswered', 'not_helpful') \
             AND resolved_by IS NULL ORDER BY id DESC LIMIT $2"
        );
        self.all(&sql, &[&ws.0, &i64::from(limit)])
            .await?
            .iter()
            .map(|r| columns::kb_question(&PgRow(r)))
            .collect()
    }

    async fn kb_questions_in(
        &mut self,
        ws: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<Vec<KbQuestion>> {
        let sql =
            format!("{SELECT_KB_QUESTION} WHERE workspace_id = $1 AND conversation_id = $2 ORDER BY id");
        self.all(&sql, &[&ws.0, &conversation.0])
            .await?
            .iter()
            .map(|r| columns::kb_question(&PgRow(r)))
            .collect()
    }

    async fn ai_settings(&mut self, ws: WorkspaceId) -> Result<Option<String>> {
        let row = self.one("SELECT settings FROM workspace_ai WHERE workspace_id = $1", &[&ws.0]).await?;
        row.as_ref().map(|r| PgRow(r).text(0)).transpose()
    }

    async fn save_ai_settings(&mut self, ws: WorkspaceId, json: &str, now: Timestamp) -> Result<()> {
        self.exec(
            "INSERT INTO workspace_ai (workspace_id, settings, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (workspace_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
            &[&ws.0, &json, &now.0],
        )
        .await
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
        self.exec(
            "INSERT INTO ai_usage (workspace_id, day, model, requests, prompt_tokens, completion_tokens) \
             VALUES ($1, $2, $3, 1, $4, $5) ON CONFLICT (workspace_id, day, model) DO UPDATE SET \
             requests = ai_usage.requests + 1, prompt_tokens = ai_usage.prompt_tokens + excluded.prompt_tokens, \
             completion_tokens = ai_usage.completion_tokens + excluded.completion_tokens",
            &[&ws.0, &day, &model, &prompt_tokens, &completion_tokens],
        )
        .await
        .map(drop)
    }

    async fn ai_usage(&mut self, ws: WorkspaceId, since_day: i64) -> Result<Vec<AiUsage>> {
        let rows = self
            .all(
                "SELECT day, model, requests, prompt_tokens, completion_tokens FROM ai_usage \
                 WHERE workspace_id = $1 AND day >= $2 ORDER BY day, model",
                &[&ws.0, &since_day],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let r = PgRow(r);
                Ok(AiUsage {
                    day: Timestamp(r.int(0)? * lianluo_domain::ai::DAY_MS),
                    model: r.text(1)?,
                    requests: r.int(2)?,
                    prompt_tokens: r.int(3)?,
                    completion_tokens: r.int(4)?,
                })
            })
            .collect()
    }

    async fn insert_kb_candidate(&mut self, c: &KbCandidate) -> Result<bool> {
        self.exec(
            "INSERT INTO kb_candidates (id, workspace_id, conversation_id, message_id, question, answer, language, \
             status, source_id, decided_by, created_at, updated_at, asked, duplicate_of, confidence) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT DO NOTHING",
            &[
                &c.id.0,
                &c.workspace_id.0,
                &c.conversation_id.0,
                &c.message_id.0,
                &c.question,
                &c.answer,
                &c.language,
                &c.status.as_str(),
                &c.source_id.map(|s| s.0),
                &c.decided_by.map(|u| u.0),
                &c.created_at.0,
                &c.updated_at.0,
                &c.asked,
                &c.duplicate_of.map(|d| d.0),
                &c.confidence.map(f64::from),
            ],
        )
        .await
        .map(|n| n == 1)
    }

    async fn mined_replies(&mut self, ws: WorkspaceId, replies: &[MessageId]) -> Result<Vec<MessageId>> {
        let ids: Vec<Uuid> = replies.iter().map(|m| m.0).collect();
        let rows = self
            .all(
                "SELECT message_id FROM kb_candidates WHERE workspace_id = $1 AND message_id = ANY($2)",
                &[&ws.0, &ids],
            )
            .await?;
        rows.iter().map(|r| get::<Uuid>(r, 0).map(MessageId)).collect()
    }

    async fn kb_candidate(&mut self, ws: WorkspaceId, id: KbCandidateId) -> Result<Option<KbCandidate>> {
        let sql = format!("{SELECT_KB_CANDIDATE} WHERE workspace_id = $1 AND id = $2");
        self.one(&sql, &[&ws.0, &id.0]).await?.as_ref().map(|r| columns::kb_candidate(&PgRow(r))).transpose()
    }

    async fn kb_candidates(
        &mut self,
        ws: WorkspaceId,
        status: CandidateStatus,
        limit: u32,
    ) -> Result<Vec<KbCandidate>> {
        let sql = format!(
            "{SELECT_KB_CANDIDATE} WHERE workspace_id = $1 AND status = $2 ORDER BY confidence DESC NULLS LAST, asked DESC, id LIMIT $3"
        );
        self.all(&sql, &[&ws.0, &status.as_str(), &i64::from(limit)])
            .await?
            .iter()
            .map(|r| columns::kb_candidate(&PgRow(r)))
            .collect()
    }

    async fn save_kb_candidate(&mut self, c: &KbCandidate) -> Result<()> {
        self.exec(
            "UPDATE kb_candidates SET question = $3, answer = $4, status = $5, source_id = $6, decided_by = $7, \
             updated_at = $8, asked = $9 WHERE workspace_id = $1 AND id = $2",
            &[
                &c.workspace_id.0,
                &c.id.0,
                &c.question,
                &c.answer,
                &c.status.as_str(),
                &c.source_id.map(|s| s.0),
                &c.decided_by.map(|u| u.0),
                &c.updated_at.0,
                &c.asked,
            ],
        )
        .await
        .map(drop)
    }

    async fn kb_sources_pending(&mut self) -> Result<Vec<(WorkspaceId, KbSourceId)>> {
        let rows = self
            .all("SELECT workspace_id, id FROM kb_sources WHERE status IN ('queued', 'processing') ORDER BY id", &[])
            .await?;
        rows.iter().map(|r| Ok((WorkspaceId(get(r, 0)?), KbSourceId(get(r, 1)?)))).collect()
    }

    async fn kb_chunks_after(&mut self, after: Option<KbChunkId>, limit: u32) -> Result<Vec<KbChunk>> {
        let after = after.map(|a| a.0).unwrap_or(Uuid::nil());
        let sql = format!("{SELECT_KB_CHUNK} WHERE id > $1 ORDER BY id LIMIT $2");
        self.all(&sql, &[&after, &i64::from(limit)])
            .await?
            .iter()
            .map(|r| columns::kb_chunk(&PgRow(r)))
            .collect()
    }
}
