//! Customer satisfaction ratings' rows in SQLite.

use lianluo_domain::{ConversationId, WorkspaceId, csat::Csat};
use lianluo_store::{
    Result,
    csat::{CsatRows, SELECT_CSAT, csat_row, save_csat_sql},
};
use rusqlite::params;

use crate::rows::{SqliteTx, exec, first, opt_s, s};

impl CsatRows for SqliteTx {
    async fn save_csat(&mut self, c: &Csat) -> Result<()> {
        exec(
            &self.conn,
            &save_csat_sql(|n| format!("?{n}")),
            params![
                s(c.workspace_id),
                s(c.conversation_id),
                s(c.contact_id),
                i64::from(c.rating),
                c.comment,
                opt_s(c.assignee_id),
                opt_s(c.team_id),
                c.created_at.0,
                c.updated_at.0,
            ],
        )
        .map(drop)
    }

    async fn csat(&mut self, ws: WorkspaceId, conversation: ConversationId) -> Result<Option<Csat>> {
        let sql = format!("{SELECT_CSAT} WHERE workspace_id = ?1 AND conversation_id = ?2");
        first(&self.conn, &sql, [s(ws), s(conversation)], |r| csat_row(r))
    }
}
