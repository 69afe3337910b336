//! The AI agent's turn in a conversation. On a channel whose settings say `"bot": {"enabled": true}`, a
//! conversation that opens with a customer's message starts `pending` and unassigned (see `intake`): the
//! agent answers each customer message from the knowledge base (streaming the answer as `bot.delta`
//! notices, then storing it as a `bot` message with links to public sources, and a private note with the
//! cited passages for agents). It hands the conversation to the human queue (status `open`, routed to an
//! agent, with a summary note) when the customer asks for a person, when the knowledge does not support an
//! answer, after the customer says twice that answers did not help, or when the customer is clearly upset.
//! Once a person holds the conversation (assigned, or no longer pending) it stays silent.

use lianluo_domain::{
    ConversationId, KbQuestionId, MessageId, Timestamp, WorkspaceId,
    conversation::{Conversation, ConversationPatch, Status},
    event::{Actor, EventKind},
    knowledge::{KbQuestion, QuestionOutcome},
    message::{Message, MessageKind, NewMessage, Sender},
};
use lianluo_events::Notice;
use lianluo_knowledge::lang::{self, Lang};
use serde_json::json;

use crate::{App, BotSettings, Error, Result};

/// What the AI agent needs from the knowledge service: an answer for a workspace, with its own models and
/// threshold, streamed into `sink` while it is produced.
#[async_trait::async_trait]
pub trait Answers: Send + Sync {
    async fn answer(
        &self,
        ws: WorkspaceId,
        question: &str,
        earlier: &[String],
        tone: Option<&str>,
        sink: Option<lianluo_models::TokenSink>,
    ) -> std::result::Result<lianluo_knowledge::Answer, String>;
}

/// Where the AI agent's live output goes: ephemeral notices to the workspace's live connections, and a
/// word to the sequencer when something was written outside a request, so it is published at once.
#[async_trait::async_trait]
pub trait Live: Send + Sync {
    async fn notify(&self, notice: Notice);
    fn written(&self);
}

fn asks_for_person(text: &str) -> bool {
    let l = text.to_lowercase();
    [
        "human",
        "real person",
        "a person",
        "an agent",
        "live agent",
        "customer service",
        "representative",
        "talk to someone",
        "speak to someone",
        "人工",
        "真人",
        "转客服",
        "找客服",
        "客服人员",
        "接人工",
    ]
    .iter()
    .any(|k| l.contains(k))
}

fn is_upset(text: &str) -> bool {
    let l = text.to_lowercase();
    let words = [
        "terrible",
        "horrible",
        "ridiculous",
        "furious",
        "angry",
        "scam",
        "worst",
        "unacceptable",
        "complaint",
        "lawyer",
        "垃圾",
        "投诉",
        "气死",
        "骗子",
        "太差",
        "恶心",
        "无语",
        "坑人",
        "退钱",
        "差评",
        "生气",
    ];
    let shouting = text.chars().filter(|c| c.is_ascii_uppercase()).count() >= 12
        && text.chars().filter(|c| c.is_ascii_lowercase()).count() * 3
            < text.chars().filter(|c| c.is_ascii_uppercase()).count();
    words.iter().any(|w| l.contains(w)) || shouting || text.contains("!!!") || text.contains("！！！")
}

fn says_not_helped(text: &str) -> bool {
    let l = text.to_lowercase();
    [
        "not helpful",
        "didn't help",
        "doesn't help",
        "did not help",
        "not what i asked",
        "that's wrong",
        "that is wrong",
        "useless",
        "没用",
        "不对",
        "没解决",
        "答非所问",
        "不是这个",
        "没帮助",
        "看不懂",
    ]
    .iter()
    .any(|k| l.contains(k))
}

/// What the bot says when handing over.
fn handoff_text(l: Lang, found_nothing: bool) -> &'static str {
    match (l, found_nothing) {
        (Lang::Zh, true) => "抱歉，我在我们的资料里没有找到这个问题的答案。正在为您转接人工客服，请稍候。",
        (Lang::Zh, false) => "好的，正在为您转接人工客服，请稍候。",
        (Lang::En, true) => {
            "Sorry, I couldn't find the answer in our help content. I'm connecting you with a person now."
        }
        (Lang::En, false) => "Sure, I'm connecting you with a person now.",
    }
}

fn rephrase_text(l: Lang) -> &'static str {
    match l {
        Lang::Zh => "抱歉没能帮到您。可以换个说法再问一次吗？如果还是不行，我会为您转接人工客服。",
        Lang::En => {
            "Sorry that didn't help. Could you ask in other words? If that doesn't work either, I'll get you a person."
        }
    }
}

/// Conversation history read to decide and to summarize.
const THREAD: u32 = 100;

/// Whether the AI agent wrote after `message` and before the customer's next message.
fn answered_already(thread: &[Message], message: &Message) -> bool {
    thread
        .iter()
        .skip_while(|m| m.id != message.id)
        .skip(1)
        .take_while(|m| m.kind != MessageKind::Incoming)
        .any(|m| m.kind == MessageKind::Bot)
}

impl App {
    /// The AI agent's answer to a customer's message (see the module documentation). Does nothing when
    /// the AI agent cannot answer here or a person holds the conversation. `resumed` is a second try after
    /// an attempt that stopped midway (its node stopped): when the AI agent already wrote after the
    /// message, before the customer's next one, that attempt got as far as answering and nothing is done.
    pub async fn ai_turn(
        &self,
        ws: WorkspaceId,
        id: ConversationId,
        message: &Message,
        resumed: bool,
    ) -> Result<()> {
        let Some(kb) = self.answers.clone() else { return Ok(()) };
        if message.kind != MessageKind::Incoming {
            return Ok(());
        }
        let conversation = self.store.get_conversation(ws, id).await?;
        if !conversation.waits_for_ai_agent() {
            return Ok(());
        }
        let channel = self.store.get_channel(ws, conversation.channel_id).await?;
        let settings = BotSettings::of(&channel);
        if !settings.enabled {
            return Ok(());
        }
        let thread = self.store.thread_end(ws, id, THREAD).await?;
        if resumed && answered_already(&thread, message) {
            return Ok(());
        }
        let question = message.content.trim();
        let language = lang::detect(question);
        // The customer's earlier messages, and how often they said an answer did not help.
        let earlier: Vec<String> = thread
            .iter()
            .filter(|m| m.kind == MessageKind::Incoming && m.id != message.id && !m.content.trim().is_empty())
            .map(|m| m.content.clone())
            .collect();
        let not_helped = self.not_helped(ws, id, &thread).await;

        if question.is_empty() {
            return Ok(());
        }
        if asks_for_person(question) {
            return self.hand_over(&conversation, language, HandOver::AskedForPerson, None, &thread).await;
        }
        if is_upset(question) {
            return self.hand_over(&conversation, language, HandOver::Upset, None, &thread).await;
        }
        if says_not_helped(question) {
            if not_helped >= 2 {
                return self.hand_over(&conversation, language, HandOver::NotHelpful, None, &thread).await;
            }
            self.post(ws, id, MessageKind::Bot, rephrase_text(language).to_string()).await?;
            return Ok(());
        }

        // Stream the answer to the customer's widget while it is produced; until its first words the
        // widget shows that the AI assistant is writing.
        let scope =
            json!({ "id": id, "contact_id": conversation.contact_id, "channel_id": conversation.channel_id });
        self.live
            .notify(Notice {
                workspace_id: ws,
                id: None,
                kind: EventKind::Typing,
                subject_id: None,
                conversation_id: Some(id.0),
                data: json!({ "conversation": scope, "typing": true, "bot": true }),
            })
            .await;
        let (tx, mut rx) = lianluo_models::token_stream();
        let live = self.live.clone();
        let forward = async move {
            while let Some(piece) = rx.recv().await {
                let notice = Notice {
                    workspace_id: ws,
                    id: None,
                    kind: EventKind::BotDelta,
                    subject_id: Some(id.0),
                    conversation_id: Some(id.0),
                    data: json!({ "conversation": scope, "text": piece }),
                };
                live.notify(notice).await;
            }
        };
        let recent: Vec<String> = earlier.iter().rev().take(3).rev().cloned().collect();
        // The answer ends the stream when it drops its sender; the forwarding ends with it.
        let (answer, ()) =
            tokio::join!(kb.answer(ws, question, &recent, settings.tone.as_deref(), Some(tx)), forward);
        let answer = answer.map_err(Error::Knowledge)?;
        let record = |outcome, answer_message_id, source_id| KbQuestion {
            id: KbQuestionId::new(),
            workspace_id: ws,
            conversation_id: Some(id),
            answer_message_id,
            question: question.chars().take(2_000).collect(),
            language: language.as_str().into(),
            outcome,
            source_id,
            resolved_by: None,
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
        };
        if !answer.answered {
            // The gap is recorded with the hand-over, in its transaction.
            let gap = record(QuestionOutcome::Unanswered, None, None);
            return self.hand_over(&conversation, language, HandOver::NoAnswer, Some(&gap), &thread).await;
        }

        // The customer sees the answer and links to public sources; agents see the passages.
        let mut text = answer.text.clone();
        let mut links = Vec::new();
        for c in &answer.citations {
            // A website's passage links to its own page; other sources to their public address.
            if let Ok(source) = self.store.get_kb_source(ws, c.source_id).await
                && let Some(url) = c.url.clone().or(source.url)
            {
                let link = format!("{} {url}", source.title);
                if !links.contains(&link) {
                    links.push(link);
                }
            }
        }
        if !links.is_empty() {
            text.push_str(match language {
                Lang::Zh => "\n\n来源：",
                Lang::En => "\n\nSource: ",
            });
            text.push_str(&links.join(" · "));
        }
        let cited = answer.citations.first().map(|c| c.source_id);
        let mut note = format!("AI answer ({}, confidence {:.2}) from:", answer.method, answer.confidence);
        for c in &answer.citations {
            note.push_str(&format!("\n• {}: {}", c.heading, c.quote));
        }
        let recorded = self
            .store
            .record_bot_answer(
                ws,
                id,
                &written(MessageKind::Bot, text),
                &written(MessageKind::Note, note),
                &record(QuestionOutcome::Answered, None, cited),
                Timestamp::now(),
            )
            .await;
        self.live.written();
        recorded?;
        Ok(())
    }

    /// After the customer rates `answer` not helpful: ask to rephrase the first time, hand over after
    /// that. `resumed` is a second try after an attempt that stopped midway: when the AI agent already
    /// wrote after the answer, that attempt got as far as following up and nothing is done.
    pub async fn ai_after_not_helpful(
        &self,
        ws: WorkspaceId,
        id: ConversationId,
        answer: MessageId,
        language: Lang,
        resumed: bool,
    ) -> Result<()> {
        let conversation = self.store.get_conversation(ws, id).await?;
        if !conversation.waits_for_ai_agent() {
            return Ok(());
        }
        let thread = self.store.thread_end(ws, id, THREAD).await?;
        let wrote_after = |m: &Message| matches!(m.kind, MessageKind::Bot | MessageKind::System);
        if resumed && thread.iter().skip_while(|m| m.id != answer).skip(1).any(wrote_after) {
            return Ok(());
        }
        let failures = self.not_helped(ws, id, &thread).await;
        if failures >= 2 {
            self.hand_over(&conversation, language, HandOver::NotHelpful, None, &thread).await
        } else {
            self.post(ws, id, MessageKind::Bot, rephrase_text(language).to_string()).await.map(drop)
        }
    }

    /// How often the customer said, or rated, that the AI agent's answers did not help.
    async fn not_helped(&self, ws: WorkspaceId, id: ConversationId, thread: &[Message]) -> usize {
        let said =
            thread.iter().filter(|m| m.kind == MessageKind::Incoming && says_not_helped(&m.content)).count();
        let questions = self.store.list_kb_questions_in(ws, id).await.unwrap_or_default();
        said + questions.iter().filter(|q| q.outcome == QuestionOutcome::NotHelpful).count()
    }

    async fn post(
        &self,
        ws: WorkspaceId,
        id: ConversationId,
        kind: MessageKind,
        content: String,
    ) -> Result<Message> {
        let new = written(kind, content);
        let sender = if kind == MessageKind::Note { Sender::System } else { Sender::Bot };
        let posted =
            self.store.append_message(ws, id, &new, Some(sender), Actor::System, Timestamp::now()).await;
        self.live.written();
        Ok(posted?.message)
    }

    /// Gives the conversation to the human queue with a note that tells the agent what happened.
    async fn hand_over(
        &self,
        conversation: &Conversation,
        language: Lang,
        reason: HandOver,
        unanswered: Option<&KbQuestion>,
        thread: &[Message],
    ) -> Result<()> {
        let found_nothing = unanswered.is_some();
        let (ws, id) = (conversation.workspace_id, conversation.id);
        let team = match conversation.team_id {
            Some(t) => Some(t),
            None => self.store.get_channel(ws, conversation.channel_id).await.ok().and_then(|c| c.team_id),
        };
        let assignee = match team {
            Some(t) => self.routing.assignee_for(self.store.as_ref(), ws, t).await?,
            None => None,
        };
        let patch = ConversationPatch {
            status: Some(Status::Open),
            assignee_id: Some(assignee),
            ..Default::default()
        };
        // A short summary: what the customer asked, and what the AI agent answered last.
        let asked: Vec<&str> = thread
            .iter()
            .filter(|m| m.kind == MessageKind::Incoming)
            .map(|m| m.content.as_str())
            .rev()
            .take(3)
            .collect();
        let answered = thread.iter().rev().find(|m| m.kind == MessageKind::Bot).map(|m| m.content.as_str());
        let clip = |s: &str| -> String {
            let s: String = s.chars().take(200).collect();
            s.replace('\n', " ")
        };
        // Written in the customer's language, which the agent who takes the conversation reads too.
        let (said, stop, asked_label, answered_label) = match language {
            Lang::Zh => ("AI 助手已转人工：", "。", "顾客的问题：", "AI 最后的回答："),
            Lang::En => ("Handed over by the AI agent: ", ".", "Customer asked:", "Last AI answer:"),
        };
        let mut note = format!("{said}{}{stop}\n{asked_label}", reason.said(language));
        for q in asked.iter().rev() {
            note.push_str(&format!("\n• {}", clip(q)));
        }
        if let Some(a) = answered {
            note.push_str(&format!("\n{answered_label} {}", clip(a)));
        }
        // One transaction: the conversation is the team's when the customer reads that it is (so the AI
        // agent never answers a message sent in between), and the agent's note is there with it.
        let messages = [
            (written(MessageKind::Bot, handoff_text(language, found_nothing).to_string()), Sender::Bot),
            (written(MessageKind::Note, note), Sender::System),
        ];
        let done = self
            .store
            .update_with_messages(ws, id, &patch, &messages, unanswered, Actor::System, Timestamp::now())
            .await;
        self.live.written();
        done?;
        Ok(())
    }
}

/// Why the AI agent gives a conversation to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HandOver {
    AskedForPerson,
    Upset,
    NotHelpful,
    NoAnswer,
}

impl HandOver {
    /// The reason as the agents' note states it.
    fn said(self, language: Lang) -> &'static str {
        match (self, language) {
            (HandOver::AskedForPerson, Lang::En) => "the customer asked for a person",
            (HandOver::AskedForPerson, Lang::Zh) => "顾客要求人工服务",
            (HandOver::Upset, Lang::En) => "the customer seems upset",
            (HandOver::Upset, Lang::Zh) => "顾客情绪不满",
            (HandOver::NotHelpful, Lang::En) => "answers did not help twice",
            (HandOver::NotHelpful, Lang::Zh) => "两次回答都没有帮到顾客",
            (HandOver::NoAnswer, Lang::En) => "the knowledge base has no answer",
            (HandOver::NoAnswer, Lang::Zh) => "知识库里没有答案",
        }
    }
}

/// A message the AI agent writes; long texts are cut rather than refused.
fn written(kind: MessageKind, content: String) -> NewMessage {
    NewMessage::text(kind, content.chars().take(4_000).collect::<String>())
}
