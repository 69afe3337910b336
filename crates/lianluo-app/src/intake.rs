//! What happens when a customer writes, on any channel: the message is threaded into the contact's
//! conversation on that channel, or opens a new one whose first state is decided here (waiting for the
//! AI agent, or routed to a person), and the caller learns whether the AI agent should answer it. The
//! widget calls this today; the email and WeChat channels will.

use lianluo_domain::{
    ChannelId, ContactId, ConversationId, Timestamp, WorkspaceId,
    conversation::{Conversation, NewConversation},
    directory::Channel,
    event::Actor,
    message::{Message, MessageKind, NewMessage, Sender},
    page::PageRequest,
};
use lianluo_store::{Appended, ConversationFilter, StoreError};

use crate::{App, BotSettings, Error, Result};

/// A message from a customer, already validated and resolved to a contact by the channel.
pub struct CustomerMessage<'a> {
    pub workspace_id: WorkspaceId,
    pub channel: &'a Channel,
    pub contact_id: ContactId,
    pub message: NewMessage,
    pub at: Timestamp,
}

/// What the intake did.
#[derive(Debug)]
pub struct Received {
    pub conversation: Conversation,
    pub message: Message,
    /// False when the message was a retry (same idempotency key) of one already stored.
    pub created: bool,
    /// Whether the AI agent answers the message: its turn was queued in the message's transaction.
    pub ai_answers: bool,
}

impl App {
    /// Whether the AI agent takes new conversations on this channel: its settings turn it on and this node
    /// can answer.
    pub fn ai_takes_new_conversations(&self, channel: &Channel) -> bool {
        self.ai_available() && BotSettings::of(channel).enabled
    }

    /// Whether the AI agent answers this message, just stored in this conversation: a customer's, in a
    /// conversation that waits for it (pending, nobody assigned), on a channel where it is on. The store
    /// queued its turn in the message's transaction by the same rule.
    pub fn ai_answers(&self, channel: &Channel, conversation: &Conversation, message: &Message) -> bool {
        conversation.ai_answers(self.ai_takes_new_conversations(channel), message)
    }

    /// The contact's conversation on the channel that a new message belongs to: their latest one there.
    pub async fn thread_for(
        &self,
        ws: WorkspaceId,
        channel: ChannelId,
        contact: ContactId,
    ) -> Result<Option<Conversation>> {
        let filter =
            ConversationFilter { contact_id: Some(contact), channel_id: Some(channel), ..Default::default() };
        let page = self.store.list_conversations(ws, &filter, PageRequest::new(Some(1), None)).await?;
        Ok(page.items.into_iter().next())
    }

    /// The one way in for a customer's message, whatever the channel.
    pub async fn receive_customer_message(&self, m: CustomerMessage<'_>) -> Result<Received> {
        let CustomerMessage { workspace_id: ws, channel, contact_id, mut message, at } = m;
        message.ai_answers = self.ai_takes_new_conversations(channel);
        let actor = Actor::Contact { id: contact_id };
        let (conversation, message, created) = match self.thread_for(ws, channel.id, contact_id).await? {
            Some(conv) => self.append(ws, &conv, &message, actor, at).await?,
            None => match self.open(ws, channel, contact_id, message.clone(), actor, at).await {
                // The same first message (same key) opened the conversation a moment ago: it is that one.
                Err(Error::Store(StoreError::Conflict(_))) if message.idempotency_key.is_some() => {
                    let conv = self
                        .thread_for(ws, channel.id, contact_id)
                        .await?
                        .ok_or(Error::Invariant("the conversation that refused the message is gone"))?;
                    self.append(ws, &conv, &message, actor, at).await?
                }
                opened => opened?,
            },
        };
        let ai_answers = created && self.ai_answers(channel, &conversation, &message);
        Ok(Received { conversation, message, created, ai_answers })
    }

    /// A message posted to a conversation through the API (by an agent, or an integration writing for a
    /// customer): a customer's message is answered by the AI agent when the conversation waits for it.
    pub async fn post_message(
        &self,
        ws: WorkspaceId,
        conversation: ConversationId,
        mut message: NewMessage,
        sender: Option<Sender>,
        actor: Actor,
        at: Timestamp,
    ) -> Result<Appended> {
        if message.kind == MessageKind::Incoming && self.ai_available() {
            let conv = self.store.get_conversation(ws, conversation).await?;
            let channel = self.store.get_channel(ws, conv.channel_id).await?;
            message.ai_answers = self.ai_takes_new_conversations(&channel);
        }
        Ok(self.store.append_message(ws, conversation, &message, sender, actor, at).await?)
    }

    async fn append(
        &self,
        ws: WorkspaceId,
        conv: &Conversation,
        message: &NewMessage,
        actor: Actor,
        at: Timestamp,
    ) -> Result<(Conversation, Message, bool)> {
        let a = self.store.append_message(ws, conv.id, message, None, actor, at).await?;
        Ok((a.conversation, a.message, a.created))
    }

    /// A first message opens a conversation: waiting, unassigned, for the AI agent on a channel where it
    /// answers first; otherwise open and routed to an agent of the channel's team. One transaction.
    async fn open(
        &self,
        ws: WorkspaceId,
        channel: &Channel,
        contact_id: ContactId,
        message: NewMessage,
        actor: Actor,
        at: Timestamp,
    ) -> Result<(Conversation, Message, bool)> {
        let start = NewConversation {
            channel_id: channel.id,
            contact_id,
            subject: None,
            priority: None,
            assignee_id: None,
            team_id: None,
            tags: vec![],
            message: Some(message),
            waits_for_bot: false,
        };
        let (conv, m) = self.start_conversation(ws, channel, start, None, actor, at).await?;
        let m = m.ok_or(Error::Invariant("conversation created without its message"))?;
        Ok((conv, m, true))
    }

    /// Starts a conversation (from a customer's first message, or from an agent or an integration through
    /// the API): one that opens with a customer's message waits for the AI agent where it answers first,
    /// unless someone was named to take it; any other is routed when nobody was named.
    pub async fn start_conversation(
        &self,
        ws: WorkspaceId,
        channel: &Channel,
        mut new: NewConversation,
        sender: Option<lianluo_domain::message::Sender>,
        actor: Actor,
        at: Timestamp,
    ) -> Result<(Conversation, Option<Message>)> {
        let from_customer = new.message.as_ref().is_some_and(|m| m.kind == MessageKind::Incoming);
        new.waits_for_bot =
            from_customer && new.assignee_id.is_none() && self.ai_takes_new_conversations(channel);
        // Its turn is queued with the conversation, in one transaction.
        if let Some(m) = &mut new.message {
            m.ai_answers = new.waits_for_bot;
        }
        if !new.waits_for_bot && new.assignee_id.is_none() {
            new.assignee_id =
                self.routing.assignee_for_new(self.store.as_ref(), channel, new.team_id).await?;
        }
        Ok(self.store.create_conversation(ws, &new, sender, actor, at).await?)
    }
}
