//! Customer satisfaction ratings' rows in PostgreSQL.

use lianluo_domain::{ConversationId, WorkspaceId, csat::Csat};
use lianluo_store::{
    Result,
    csat::{CsatRows, SELECT_CSAT, csat_row, save_csat_sql},
};

use crate::rows::{PgRow, PgTx};

impl CsatRows for PgTx {
    async fn save_csat(&mut self, c: &Csat) -> Result<()> {
        self.exec(
            &save_csat_sql(|n| format!("${n}")),
            &[
                &c.workspace_id.0,
                &c.conversation_id.0,
                &c.contact_id.0,
                &i64::from(c.rating),
                &c.comment,
                &c.assignee_id.map(|u| u.0),
                &c.team_id.map(|t| t.0),
                &c.created_at.0,
                &c.updated_at.0,
            ],
        )
        .await
        .map(drop)
    }

    async fn csat(&mut self, ws: WorkspaceId, conversation: ConversationId) -> Result<Option<Csat>> {
        let sql = format!("{SELECT_CSAT} WHERE workspace_id = $1 AND conversation_id = $2");
        self.one(&sql, &[&ws.0, &conversation.0]).await?.as_ref().map(|r| csat_row(&PgRow(r))).transpose()
    }
}
