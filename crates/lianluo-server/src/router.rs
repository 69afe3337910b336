//! Every route of the server, registered from one table that also produces the OpenAPI document.

use std::{sync::Arc, time::Duration};

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State},
    handler::Handler,
    http::{HeaderValue, Method, header},
    routing::{MethodFilter, get, on},
};
use lianluo_domain::{
    canned::{CannedResponse, CannedResponsePatch, NewCannedResponse},
    contact::{Contact, ContactPatch, NewContact},
    conversation::{Conversation, ConversationPatch, NewConversation},
    directory::{
        ApiToken, Channel, ChannelPatch, NewApiToken, NewChannel, NewTeam, NewUser, Team, TeamPatch, User,
        UserPatch, Workspace,
    },
    event::Event,
    knowledge::{KbChunk, KbSource, KbSourcePatch, NewKbSource},
    message::{Attachment, Message, NewMessage},
    page::Page,
};
use tower_http::{
    catch_panic::CatchPanicLayer, set_header::SetResponseHeaderLayer, timeout::TimeoutLayer,
    trace::TraceLayer,
};

use crate::{
    AppState, MAX_BODY_BYTES,
    error::AppError,
    openapi::{Op, document},
    routes::{
        List, PageQuery, ai, api_tokens, auth, canned, channels, contacts, conversations, events, health,
        jobs, knowledge, messages, openai, realtime, teams, uploads, users, widget, workspace,
    },
};

/// The route table under construction.
struct Api {
    router: Router<AppState>,
    ops: Vec<Op>,
}

impl Api {
    fn add<H, T>(mut self, op: Op, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(op.method.clone()).expect("a method axum can route");
        self.router = self.router.route(op.path, on(filter, handler));
        self.ops.push(op);
        self
    }
}

const GET: Method = Method::GET;
const POST: Method = Method::POST;
const PATCH: Method = Method::PATCH;
const DELETE: Method = Method::DELETE;

/// The API's operations, each with its handler.
fn api() -> Api {
    let v1 = |m: Method, p: &'static str, id: &'static str, summary: &'static str| Op::new(m, p, id, summary);
    Api { router: Router::new(), ops: Vec::new() }
        .add(v1(GET, "/healthz", "healthz", "Liveness probe").public(), health::healthz)
        .add(v1(GET, "/readyz", "readyz", "Readiness probe: the database answers").public(), health::readyz)
        .add(
            v1(
                POST,
                "/api/v1/auth/login",
                "login",
                "Sign in with email and password; sets the session cookie",
            )
            .public()
            .body::<auth::LoginRequest>()
            .returns::<auth::LoginResponse>(200),
            auth::login,
        )
        .add(v1(POST, "/api/v1/auth/logout", "logout", "End the current session").no_content(), auth::logout)
        .add(
            v1(GET, "/api/v1/auth/me", "get_me", "The caller, their workspace and role")
                .returns::<auth::MeResponse>(200),
            auth::get_me,
        )
        .add(
            v1(PATCH, "/api/v1/auth/me", "update_me", "Change your own name")
                .body::<auth::MePatch>()
                .returns::<User>(200),
            auth::update_me,
        )
        .add(
            v1(
                POST,
                "/api/v1/auth/password",
                "change_password",
                "Change your password; ends all your sessions",
            )
            .body::<auth::ChangePassword>()
            .no_content(),
            auth::change_password,
        )
        .add(
            v1(GET, "/api/v1/workspace", "get_workspace", "The caller's workspace").returns::<Workspace>(200),
            workspace::get_workspace,
        )
        .add(
            v1(GET, "/api/v1/users", "list_users", "List users")
                .query::<PageQuery>()
                .returns::<Page<User>>(200),
            users::list_users,
        )
        .add(
            v1(POST, "/api/v1/users", "create_user", "Add a user")
                .admin()
                .body::<NewUser>()
                .returns::<User>(201),
            users::create_user,
        )
        .add(v1(GET, "/api/v1/users/{id}", "get_user", "Get a user").returns::<User>(200), users::get_user)
        .add(
            v1(PATCH, "/api/v1/users/{id}", "update_user", "Rename, change role, or (de)activate a user")
                .admin()
                .body::<UserPatch>()
                .returns::<User>(200),
            users::update_user,
        )
        .add(
            v1(GET, "/api/v1/teams", "list_teams", "List teams").returns::<List<Team>>(200),
            teams::list_teams,
        )
        .add(
            v1(POST, "/api/v1/teams", "create_team", "Create a team")
                .admin()
                .body::<NewTeam>()
                .returns::<Team>(201),
            teams::create_team,
        )
        .add(v1(GET, "/api/v1/teams/{id}", "get_team", "Get a team").returns::<Team>(200), teams::get_team)
        .add(
            v1(PATCH, "/api/v1/teams/{id}", "update_team", "Change a team or its members")
                .admin()
                .body::<TeamPatch>()
                .returns::<Team>(200),
            teams::update_team,
        )
        .add(
            v1(DELETE, "/api/v1/teams/{id}", "delete_team", "Delete a team").admin().no_content(),
            teams::delete_team,
        )
        .add(
            v1(GET, "/api/v1/channels", "list_channels", "List channels").returns::<List<Channel>>(200),
            channels::list_channels,
        )
        .add(
            v1(POST, "/api/v1/channels", "create_channel", "Create a channel")
                .admin()
                .body::<NewChannel>()
                .returns::<Channel>(201),
            channels::create_channel,
        )
        .add(
            v1(GET, "/api/v1/channels/{id}", "get_channel", "Get a channel").returns::<Channel>(200),
            channels::get_channel,
        )
        .add(
            v1(PATCH, "/api/v1/channels/{id}", "update_channel", "Change a channel")
                .admin()
                .body::<ChannelPatch>()
                .returns::<Channel>(200),
            channels::update_channel,
        )
        .add(
            v1(DELETE, "/api/v1/channels/{id}", "delete_channel", "Delete a channel without conversations")
                .admin()
                .no_content(),
            channels::delete_channel,
        )
        .add(
            v1(GET, "/api/v1/contacts", "list_contacts", "List and search contacts")
                .query::<contacts::ContactQuery>()
                .returns::<Page<Contact>>(200),
            contacts::list_contacts,
        )
        .add(
            v1(POST, "/api/v1/contacts", "create_contact", "Create a contact")
                .body::<NewContact>()
                .returns::<Contact>(201),
            contacts::create_contact,
        )
        .add(
            v1(GET, "/api/v1/contacts/{id}", "get_contact", "Get a contact").returns::<Contact>(200),
            contacts::get_contact,
        )
        .add(
            v1(PATCH, "/api/v1/contacts/{id}", "update_contact", "Change a contact")
                .body::<ContactPatch>()
                .returns::<Contact>(200),
            contacts::update_contact,
        )
        .add(
            v1(DELETE, "/api/v1/contacts/{id}", "delete_contact", "Delete a contact without conversations")
                .admin()
                .no_content(),
            contacts::delete_contact,
        )
        .add(
            v1(
                GET,
                "/api/v1/conversations",
                "list_conversations",
                "List conversations, latest activity first",
            )
            .query::<conversations::ConversationQuery>()
            .returns::<Page<Conversation>>(200),
            conversations::list_conversations,
        )
        .add(
            v1(
                POST,
                "/api/v1/conversations",
                "create_conversation",
                "Start a conversation, optionally with its first message",
            )
            .body::<NewConversation>()
            .returns::<conversations::CreatedConversation>(201),
            conversations::create_conversation,
        )
        .add(
            v1(GET, "/api/v1/conversations/{id}", "get_conversation", "Get a conversation")
                .returns::<Conversation>(200),
            conversations::get_conversation,
        )
        .add(
            v1(
                PATCH,
                "/api/v1/conversations/{id}",
                "update_conversation",
                "Resolve, reopen, snooze, assign, tag or prioritise",
            )
            .body::<ConversationPatch>()
            .returns::<Conversation>(200),
            conversations::update_conversation,
        )
        .add(
            v1(
                DELETE,
                "/api/v1/conversations/{id}",
                "delete_conversation",
                "Delete a conversation and its messages",
            )
            .admin()
            .no_content(),
            conversations::delete_conversation,
        )
        .add(
            v1(
                GET,
                "/api/v1/conversations/{id}/csat",
                "get_conversation_csat",
                "The customer's satisfaction rating of the conversation",
            )
            .returns::<conversations::ConversationCsat>(200),
            conversations::get_conversation_csat,
        )
        .add(
            v1(
                GET,
                "/api/v1/inbox",
                "list_inbox",
                "The caller's inbox: conversations with contact, latest message, unread count",
            )
            .query::<conversations::ConversationQuery>()
            .returns::<Page<lianluo_store::InboxItem>>(200),
            conversations::list_inbox,
        )
        .add(
            v1(
                POST,
                "/api/v1/conversations/{id}/read",
                "mark_conversation_read",
                "Mark a conversation read for the caller",
            )
            .no_content(),
            conversations::mark_conversation_read,
        )
        .add(
            v1(GET, "/api/v1/canned-responses", "list_canned_responses", "Saved replies, by shortcut")
                .query::<canned::CannedQuery>()
                .returns::<List<CannedResponse>>(200),
            canned::list_canned_responses,
        )
        .add(
            v1(POST, "/api/v1/canned-responses", "create_canned_response", "Save a reply")
                .admin()
                .body::<NewCannedResponse>()
                .returns::<CannedResponse>(201),
            canned::create_canned_response,
        )
        .add(
            v1(PATCH, "/api/v1/canned-responses/{id}", "update_canned_response", "Change a saved reply")
                .admin()
                .body::<CannedResponsePatch>()
                .returns::<CannedResponse>(200),
            canned::update_canned_response,
        )
        .add(
            v1(DELETE, "/api/v1/canned-responses/{id}", "delete_canned_response", "Delete a saved reply")
                .admin()
                .no_content(),
            canned::delete_canned_response,
        )
        .add(
            v1(
                GET,
                "/api/v1/conversations/{id}/messages",
                "list_messages",
                "A conversation's messages, oldest first; with `order=desc`, newest first (a long thread \
                 opens at its end, and each next page goes further back)",
            )
            .query::<messages::MessagesQuery>()
            .returns::<Page<Message>>(200),
            messages::list_messages,
        )
        .add(
            v1(
                POST,
                "/api/v1/conversations/{id}/messages",
                "create_message",
                "Post a message (201; 200 when an Idempotency-Key repeats)",
            )
            .body::<NewMessage>()
            .returns::<Message>(201),
            messages::create_message,
        )
        .add(
            v1(GET, "/api/v1/api-tokens", "list_api_tokens", "List API tokens")
                .admin()
                .returns::<List<ApiToken>>(200),
            api_tokens::list_api_tokens,
        )
        .add(
            v1(
                POST,
                "/api/v1/api-tokens",
                "create_api_token",
                "Create an API token; the secret is shown once",
            )
            .admin()
            .body::<NewApiToken>()
            .returns::<api_tokens::CreatedToken>(201),
            api_tokens::create_api_token,
        )
        .add(
            v1(DELETE, "/api/v1/api-tokens/{id}", "revoke_api_token", "Revoke an API token")
                .admin()
                .no_content(),
            api_tokens::revoke_api_token,
        )
        .add(
            v1(
                GET,
                "/api/v1/realtime",
                "connect_realtime",
                "Live events over a WebSocket (see the handler's documentation)",
            )
            .query::<realtime::RealtimeQuery>()
            .switching_protocols(),
            realtime::connect_realtime,
        )
        .add(
            v1(
                GET,
                "/api/v1/channels/{id}/widget",
                "get_widget_setup",
                "A web widget's snippet, public token and secret",
            )
            .admin()
            .returns::<channels::WidgetSetup>(200),
            channels::get_widget_setup,
        )
        .add(
            v1(
                POST,
                "/api/v1/channels/{id}/widget/secret",
                "rotate_widget_secret",
                "Replace a web widget's secret",
            )
            .admin()
            .returns::<channels::WidgetSetup>(200),
            channels::rotate_widget_secret,
        )
        .add(
            v1(
                POST,
                "/api/v1/uploads",
                "upload_file",
                "Upload an attachment (raw body, Content-Type, ?name=)",
            )
            .query::<uploads::UploadQuery>()
            .returns::<Attachment>(201),
            uploads::upload_file,
        )
        .add(
            v1(
                POST,
                "/widget/v1/uploads",
                "upload_visitor_file",
                "Upload a visitor's attachment (raw body, Content-Type, ?name=)",
            )
            .visitor()
            .query::<uploads::UploadQuery>()
            .returns::<Attachment>(201),
            uploads::upload_visitor_file,
        )
        .add(
            v1(
                POST,
                "/widget/v1/sessions",
                "start_widget_session",
                "Start or resume a widget visitor's session",
            )
            .public()
            .body::<widget::StartSession>()
            .returns::<widget::WidgetSession>(200),
            widget::start_session,
        )
        .add(
            v1(GET, "/widget/v1/messages", "get_visitor_messages", "The visitor's conversation and messages")
                .visitor()
                .returns::<widget::VisitorHistory>(200),
            widget::get_visitor_messages,
        )
        .add(
            v1(POST, "/widget/v1/messages", "post_visitor_message", "Send the visitor's message")
                .visitor()
                .body::<widget::VisitorPost>()
                .returns::<widget::VisitorPosted>(201),
            widget::post_visitor_message,
        )
        .add(
            v1(
                POST,
                "/widget/v1/conversations/{id}/csat",
                "rate_visitor_conversation",
                "The visitor rates their resolved conversation (1 to 5, with an optional comment)",
            )
            .visitor()
            .body::<lianluo_domain::csat::NewCsat>()
            .returns::<lianluo_domain::csat::Csat>(200),
            widget::rate_conversation,
        )
        .add(
            v1(GET, "/widget/v1/realtime", "connect_visitor", "The visitor's live connection (WebSocket)")
                .visitor()
                .query::<widget::VisitorSocketQuery>()
                .switching_protocols(),
            widget::connect_visitor,
        )
        .add(
            v1(GET, "/api/v1/presence", "list_presence", "Agents connected now, online or away")
                .returns::<List<realtime::AgentPresence>>(200),
            realtime::list_presence,
        )
        .add(
            v1(
                GET,
                "/api/v1/kb/sources",
                "list_kb_sources",
                "Knowledge sources with their status, oldest first",
            )
            .returns::<List<knowledge::SourceView>>(200),
            knowledge::list_sources,
        )
        .add(
            v1(
                POST,
                "/api/v1/kb/sources",
                "create_kb_source",
                "Add a knowledge source; it is indexed in the background",
            )
            .admin()
            .body::<NewKbSource>()
            .returns::<KbSource>(201),
            knowledge::create_source,
        )
        .add(
            v1(
                GET,
                "/api/v1/kb/sources/{id}",
                "get_kb_source",
                "A knowledge source with its content, and its progress while it is indexed",
            )
            .returns::<knowledge::SourceView>(200),
            knowledge::get_source,
        )
        .add(
            v1(
                PATCH,
                "/api/v1/kb/sources/{id}",
                "update_kb_source",
                "Edit a knowledge source (a new text is indexed again)",
            )
            .admin()
            .body::<KbSourcePatch>()
            .returns::<KbSource>(200),
            knowledge::update_source,
        )
        .add(
            v1(
                DELETE,
                "/api/v1/kb/sources/{id}",
                "delete_kb_source",
                "Delete a knowledge source and its passages",
            )
            .admin()
            .no_content(),
            knowledge::delete_source,
        )
        .add(
            v1(GET, "/api/v1/ai/settings", "get_ai_settings", "The workspace's AI settings (the key is never shown)")
                .admin()
                .returns::<ai::SettingsView>(200),
            ai::get_settings,
        )
        .add(
            v1(
                Method::PUT,
                "/api/v1/ai/settings",
                "put_ai_settings",
                "Set the answer mode and the workspace's own OpenAI-compatible chat and embedding providers",
            )
            .admin()
            .body::<lianluo_domain::ai::AiSettings>()
            .returns::<ai::SettingsView>(200),
            ai::put_settings,
        )
        .add(
            v1(GET, "/api/v1/ai/usage", "list_ai_usage", "Tokens the workspace's answers used, per day and model")
                .admin()
                .query::<ai::UsageQuery>()
                .returns::<List<lianluo_domain::ai::AiUsage>>(200),
            ai::usage,
        )
        .add(
            v1(
                POST,
                "/api/v1/kb/files",
                "upload_kb_file",
                "Add a knowledge source from a file (raw body, ?name=): PDF, DOCX, XLSX, Markdown, text, HTML, CSV",
            )
            .admin()
            .query::<knowledge::FileQuery>()
            .returns::<KbSource>(201),
            knowledge::upload_source,
        )
        .add(
            v1(
                Method::PUT,
                "/api/v1/kb/sources/{id}/file",
                "replace_kb_file",
                "Replace a file source with a new version (raw body, ?name=)",
            )
            .admin()
            .query::<knowledge::ReplaceFileQuery>()
            .returns::<KbSource>(200),
            knowledge::replace_source_file,
        )
        .add(
            v1(
                GET,
                "/api/v1/kb/candidates",
                "list_kb_candidates",
                "Question/answer pairs mined from resolved conversations, by status",
            )
            .admin()
            .query::<knowledge::CandidateQuery>()
            .returns::<List<knowledge::CandidateView>>(200),
            knowledge::list_candidates,
        )
        .add(
            v1(
                POST,
                "/api/v1/kb/candidates/mine",
                "mine_kb_candidates",
                "Start mining resolved conversations for question/answer candidates in the background \
                 (a run already going is returned as it is)",
            )
            .admin()
            .body::<knowledge::MineRequest>()
            .returns::<crate::knowledge::MineRun>(202),
            knowledge::mine_candidates,
        )
        .add(
            v1(GET, "/api/v1/kb/candidates/mine", "get_kb_mining", "The latest mining run and what it found")
                .admin()
                .returns::<crate::knowledge::MineRun>(200),
            knowledge::mining_run,
        )
        .add(
            v1(GET, "/api/v1/jobs", "list_jobs", "The workspace's background jobs, newest first")
                .admin()
                .query::<jobs::JobQuery>()
                .returns::<List<lianluo_domain::job::Job>>(200),
            jobs::list_jobs,
        )
        .add(
            v1(GET, "/api/v1/jobs/{id}", "get_job", "A background job: its state, attempts, progress and result")
                .admin()
                .returns::<lianluo_domain::job::Job>(200),
            jobs::get_job,
        )
        .add(
            v1(POST, "/api/v1/jobs/{id}/retry", "retry_job", "Queue a failed job again with fresh attempts, or run one waiting to be tried again now")
                .admin()
                .returns::<lianluo_domain::job::Job>(200),
            jobs::retry_job,
        )
        .add(
            v1(
                POST,
                "/api/v1/kb/candidates/{id}/decision",
                "decide_kb_candidate",
                "Approve (optionally edited) or reject a mined candidate",
            )
            .admin()
            .body::<lianluo_domain::knowledge::CandidateDecision>()
            .returns::<knowledge::DecidedCandidate>(200),
            knowledge::decide_candidate,
        )
        .add(
            v1(POST, "/api/v1/kb/sources/{id}/sync", "sync_kb_source", "Index a knowledge source again")
                .admin()
                .returns::<KbSource>(202),
            knowledge::sync_source,
        )
        .add(
            v1(
                GET,
                "/api/v1/kb/sources/{id}/chunks",
                "list_kb_chunks",
                "A knowledge source's passages in order",
            )
            .returns::<List<KbChunk>>(200),
            knowledge::list_chunks,
        )
        .add(
            v1(
                GET,
                "/api/v1/kb/held",
                "list_held_kb_chunks",
                "Passages held for review (text addressed to an assistant, secrets), with the reason",
            )
            .admin()
            .returns::<List<KbChunk>>(200),
            knowledge::list_held,
        )
        .add(
            v1(
                POST,
                "/api/v1/kb/chunks/{id}/approve",
                "approve_kb_chunk",
                "Approve a held passage: it becomes searchable and quotable",
            )
            .admin()
            .returns::<KbChunk>(200),
            knowledge::approve_chunk,
        )
        .add(
            v1(POST, "/api/v1/kb/search", "search_kb", "Hybrid search of the knowledge base, with scores")
                .body::<knowledge::SearchRequest>()
                .returns::<knowledge::SearchResponse>(200),
            knowledge::search,
        )
        .add(
            v1(
                POST,
                "/api/v1/kb/answer",
                "answer_from_kb",
                "A grounded answer with citations, or a clear 'not found'",
            )
            .body::<knowledge::AnswerRequest>()
            .returns::<lianluo_knowledge::Answer>(200),
            knowledge::answer,
        )
        .add(
            v1(
                GET,
                "/api/v1/conversations/{id}/suggestion",
                "suggest_reply",
                "A reply grounded in the knowledge base for the latest customer message",
            )
            .returns::<lianluo_knowledge::Answer>(200),
            knowledge::suggest_reply,
        )
        .add(
            v1(
                POST,
                "/api/v1/kb/corrections",
                "correct_ai_answer",
                "Correct an AI answer; the correction is knowledge at once",
            )
            .body::<knowledge::Correction>()
            .returns::<KbSource>(201),
            knowledge::correct_answer,
        )
        .add(
            v1(
                GET,
                "/api/v1/kb/gaps",
                "list_kb_gaps",
                "Questions the AI agent could not answer well, grouped, most asked first",
            )
            .returns::<knowledge::GapList>(200),
            knowledge::list_gaps,
        )
        .add(
            v1(POST, "/api/v1/kb/gaps/answer", "answer_kb_gap", "Write the missing answer for a gap")
                .admin()
                .body::<knowledge::GapAnswer>()
                .returns::<KbSource>(201),
            knowledge::answer_gap,
        )
        .add(
            v1(POST, "/widget/v1/messages/{id}/feedback", "rate_ai_answer", "The visitor rates an AI answer")
                .visitor()
                .body::<widget::Feedback>()
                .no_content(),
            widget::rate_answer,
        )
        .add(
            v1(
                POST,
                "/v1/chat/completions",
                "openai_chat_completions",
                "OpenAI-compatible chat with the node's chat model (streamed with stream: true)",
            )
            .body::<openai::ChatCompletionRequest>()
            .returns::<serde_json::Value>(200),
            openai::chat_completions,
        )
        .add(
            v1(
                POST,
                "/v1/embeddings",
                "openai_embeddings",
                "OpenAI-compatible embeddings with the node's embedder",
            )
            .body::<openai::EmbeddingRequest>()
            .returns::<openai::EmbeddingList>(200),
            openai::embeddings,
        )
        .add(
            v1(GET, "/api/v1/events", "list_events", "The audit log: oldest first, or newest first by area")
                .admin()
                .query::<events::EventQuery>()
                .returns::<List<Event>>(200),
            events::list_events,
        )
}

/// The operations the server serves, for the OpenAPI document and for tests that walk every route.
pub fn operations() -> Vec<Op> {
    api().ops
}

/// The complete application.
pub fn router(state: AppState) -> Router {
    let Api { router, ops } = api();
    let doc = Arc::new(document(&ops));
    let timeout = Duration::from_secs(state.config.request_timeout_secs.max(1));
    let poke_state = state.clone();
    let limit_state = state.clone();
    router
        .route("/api/openapi.json", get(move || async move { Json(doc.as_ref().clone()) }))
        .route("/", get(crate::assets::app_index))
        .route("/assets/app.js", get(crate::assets::app_js))
        .route("/assets/app.css", get(crate::assets::app_css))
        .route("/widget.js", get(crate::assets::widget_js))
        .route("/files/{id}", get(uploads::get_file))
        .route("/demo/shop", get(crate::assets::demo_shop))
        .fallback(|| async { AppError::RouteNotFound })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .layer(axum::middleware::from_fn_with_state(poke_state, poke_after_writes))
        .layer(axum::middleware::from_fn(widget_cors))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(limit_state, refuse_declared_oversize))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // Addresses in the agent workspace (conversation ids, file links) never leave with a link.
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(CatchPanicLayer::custom(|_| {
            use axum::response::IntoResponse;
            AppError::Internal("handler panicked".into()).into_response()
        }))
        .layer(
            // Path only: query strings can hold search text such as an email address.
            TraceLayer::new_for_http()
                .make_span_with(|req: &axum::http::Request<_>| {
                    let path = req.uri().path();
                    if matches!(path, "/healthz" | "/readyz") {
                        tracing::debug_span!("health", http.method = %req.method(), http.path = %path)
                    } else {
                        tracing::info_span!("request", http.method = %req.method(), http.path = %path)
                    }
                })
                .on_response(|res: &axum::http::Response<_>, latency: Duration, span: &tracing::Span| {
                    let (status, duration_ms) = (res.status().as_u16(), latency.as_millis() as u64);
                    // Health checks come every few seconds from a load balancer: only at DEBUG.
                    if span.is_disabled() || span.metadata().is_some_and(|m| m.name() == "health") {
                        tracing::debug!(http.status = status, duration_ms, "response")
                    } else {
                        tracing::info!(http.status = status, duration_ms, "response")
                    }
                }),
        )
        .with_state(state)
}

/// The largest body a route reads: files for the upload routes, a JSON document elsewhere.
fn body_limit(state: &AppState, path: &str) -> usize {
    match path {
        "/api/v1/uploads" | "/widget/v1/uploads" => state.config.max_upload_bytes,
        "/api/v1/kb/files" => lianluo_knowledge::MAX_FILE_BYTES,
        p if p.starts_with("/api/v1/kb/sources/") && p.ends_with("/file") => {
            lianluo_knowledge::MAX_FILE_BYTES
        }
        _ => MAX_BODY_BYTES,
    }
}

/// A request that declares a body larger than its route reads is refused at once (413), instead of
/// waiting for bytes that would be refused anyway.
async fn refuse_declared_oversize(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = body_limit(&state, req.uri().path());
    if declared.is_some_and(|n| n > limit as u64) {
        return AppError::PayloadTooLarge(limit).into_response();
    }
    next.run(req).await
}

/// A successful write may have committed events: wake the real-time sequencer at once.
async fn poke_after_writes(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let write = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let res = next.run(req).await;
    if write && res.status().is_success() {
        state.realtime.poke();
    }
    res
}

/// Lets pages on other sites call the widget's routes, and only those: no cookies, a few methods and
/// headers. Which sites a channel accepts is checked by the widget handlers against its settings.
async fn widget_cors(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    if !req.uri().path().starts_with("/widget/") {
        return next.run(req).await;
    }
    let origin = req.headers().get(header::ORIGIN).cloned();
    let mut res = if req.method() == Method::OPTIONS {
        let mut r = axum::http::StatusCode::NO_CONTENT.into_response();
        let h = r.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST"));
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type, idempotency-key"),
        );
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        r
    } else {
        next.run(req).await
    };
    if let Some(o) = origin {
        res.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        res.headers_mut().insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    res
}
