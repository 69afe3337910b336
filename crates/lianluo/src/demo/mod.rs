//! `lianluo demo`: a workspace for Lumio (流明科技), a fictional consumer-electronics brand that sells
//! through its own web shop, a mini-program and social channels. Generated from templates with a seeded
//! generator, so the same seed gives the same contacts and conversations; created once per database.

mod content;
pub mod knowledge;
mod rng;

use std::{net::SocketAddr, sync::Arc};

use anyhow::{Context, bail};
use content::{PRODUCTS, SCENARIOS, Scenario, Who};
use lianluo_domain::{
    ChannelId, ContactId, TeamId, Timestamp, UserId, WorkspaceId,
    canned::NewCannedResponse,
    contact::{Identity, NewContact},
    conversation::{ConversationPatch, NewConversation, Priority, Status},
    directory::{ChannelKind, NewChannel, NewTeam, Role, Workspace},
    event::Actor,
    message::{MessageKind, NewMessage, Sender},
    value::{EmailAddress, Name, PhoneNumber, Tag},
};
use lianluo_store::Store;
use rng::Rng;
use serde_json::json;

/// The demo workspace's handle.
pub const SLUG: &str = "lumio-demo";
pub const ADMIN_EMAIL: &str = "admin@lumio.example";
/// The password of every demo login. The demo is for trying Lianluo locally, not for production.
pub const PASSWORD: &str = "lumio-demo-2026";

const AGENTS: &[(&str, &str)] = &[
    ("林晓雨 Lin Xiaoyu", "xiaoyu.lin@lumio.example"),
    ("陈浩 Chen Hao", "hao.chen@lumio.example"),
    ("Sarah Cheung", "sarah.cheung@lumio.example"),
    ("王磊 Wang Lei", "lei.wang@lumio.example"),
    ("赵敏 Zhao Min", "min.zhao@lumio.example"),
    ("David Ong", "david.ong@lumio.example"),
    ("刘婷 Liu Ting", "ting.liu@lumio.example"),
    ("Grace Ho", "grace.ho@lumio.example"),
];

/// How much to generate.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub contacts: usize,
    pub conversations: usize,
}

/// What to print for the person who started the demo.
pub struct Logins {
    pub created: bool,
    /// The public token of the demo's web-widget channel, for the demo shop page.
    pub shop_channel: Option<String>,
    pub agents: Vec<String>,
    pub contacts: usize,
    pub conversations: usize,
}

pub fn print_logins(addr: Option<SocketAddr>, l: &Logins) {
    println!();
    println!("Lianluo demo: Lumio 流明科技 (workspace \"{SLUG}\")");
    if l.created {
        println!("  created {} contacts and {} conversations", l.contacts, l.conversations);
    } else {
        println!("  already set up in this database; serving it as it is");
    }
    if let Some(addr) = addr {
        println!("  URL:      http://{addr}");
        if l.shop_channel.is_some() {
            println!("  Shop:     http://{addr}/demo/shop   (chat as a customer through the web widget)");
        }
        println!("  API docs: http://{addr}/api/openapi.json");
    }
    println!("  admin:    {ADMIN_EMAIL} / {PASSWORD}");
    for a in &l.agents {
        println!("  agent:    {a} / {PASSWORD}");
    }
    if let Some(addr) = addr {
        println!();
        println!("  Sign in through the API:");
        println!(
            "    curl -c cookies.txt -H 'content-type: application/json' -d '{{\"email\":\"{ADMIN_EMAIL}\",\"password\":\"{PASSWORD}\"}}' http://{addr}/api/v1/auth/login"
        );
        println!("    curl -b cookies.txt 'http://{addr}/api/v1/conversations?status=open&limit=5'");
    }
    println!();
}

fn name(s: &str) -> Name {
    Name::parse(s).expect("demo names are valid")
}

fn tag(s: &str) -> Tag {
    Tag::parse(s).expect("demo tags are valid")
}

struct Directory {
    ws: WorkspaceId,
    agents: Vec<UserId>,
    teams: [TeamId; 3],
    /// (channel, kind) in order: web, wechat, mini-program, douyin, xiaohongshu, kuaishou, email.
    channels: Vec<(ChannelId, ChannelKind)>,
}

/// Creates the demo workspace unless it exists. The admin is created last, so an interrupted run is noticed.
pub async fn seed(store: Arc<dyn Store>, seed: u64, size: Size) -> anyhow::Result<Logins> {
    let agents: Vec<String> = AGENTS.iter().map(|(_, e)| (*e).to_string()).collect();
    let admin_email = EmailAddress::parse(ADMIN_EMAIL).expect("valid");
    if store.credentials_by_email(&admin_email).await?.is_some() {
        let shop_channel = shop_channel(store.as_ref()).await?;
        return Ok(Logins { created: false, shop_channel, agents, contacts: 0, conversations: 0 });
    }
    if store.workspace_by_slug(SLUG).await?.is_some() {
        bail!(
            "an earlier `lianluo demo` was interrupted; remove the data directory (or the database) and run it again"
        );
    }
    let started = std::time::Instant::now();
    let now = Timestamp::now();
    let mut rng = Rng::new(seed);
    let dir = directory(store.as_ref(), now).await?;
    let contacts = contacts(store.as_ref(), &dir, &mut rng, size.contacts, now).await?;
    conversations(store.clone(), &dir, &contacts, &mut rng, size.conversations, now).await?;
    saved_replies(store.as_ref(), &dir, now).await?;
    // Queued here; the server indexes them as it starts.
    for new in knowledge::sources() {
        store.create_kb_source(dir.ws, &new, Actor::System, None, now).await?;
    }
    lianluo_server::setup::add_user(
        store.as_ref(),
        dir.ws,
        name("Lumio Admin 管理员"),
        admin_email,
        Role::Admin,
        PASSWORD.into(),
        now,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    tracing::info!(duration_ms = started.elapsed().as_millis() as u64, "demo workspace created");
    let shop_channel = shop_channel(store.as_ref()).await?;
    Ok(Logins {
        created: true,
        shop_channel,
        agents,
        contacts: contacts.len(),
        conversations: size.conversations,
    })
}

/// The public token of the demo's web-widget channel.
async fn shop_channel(store: &dyn Store) -> anyhow::Result<Option<String>> {
    let Some(ws) = store.workspace_by_slug(SLUG).await? else { return Ok(None) };
    let channels = store.list_channels(ws.id).await?;
    Ok(channels.into_iter().find(|c| c.kind == ChannelKind::WebWidget).and_then(|c| c.public_token))
}

async fn directory(store: &dyn Store, now: Timestamp) -> anyhow::Result<Directory> {
    let ws = Workspace {
        id: WorkspaceId::new(),
        name: name("Lumio 流明科技"),
        slug: SLUG.into(),
        created_at: now,
    };
    store.create_workspace(&ws).await?;
    let mut agents = Vec::new();
    for (n, e) in AGENTS {
        let email = EmailAddress::parse(e).expect("valid");
        let u =
            lianluo_server::setup::add_user(store, ws.id, name(n), email, Role::Agent, PASSWORD.into(), now)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        agents.push(u.id);
    }
    let sys = Actor::System;
    let team = |n: &str, members: &[usize]| NewTeam {
        name: name(n),
        description: String::new(),
        member_ids: members.iter().map(|i| agents[*i]).collect(),
    };
    let pre = store.create_team(ws.id, &team("售前咨询 Pre-sales", &[0, 1, 2]), sys, now).await?.id;
    let after = store.create_team(ws.id, &team("售后服务 After-sales", &[3, 4, 5, 6]), sys, now).await?.id;
    let vip = store.create_team(ws.id, &team("VIP 客户 VIP", &[7, 0]), sys, now).await?.id;
    let mut channels = Vec::new();
    for (kind, n, t) in [
        (ChannelKind::WebWidget, "Lumio 官网商城 Web shop", pre),
        (ChannelKind::Wechat, "流明科技 微信公众号", pre),
        (ChannelKind::MiniProgram, "流明商城 小程序", pre),
        (ChannelKind::Douyin, "抖音旗舰店 Douyin", after),
        (ChannelKind::Xiaohongshu, "小红书店铺 Xiaohongshu", pre),
        (ChannelKind::Kuaishou, "快手直播间 Kuaishou live", pre),
        (ChannelKind::Email, "support@lumio.example", after),
    ] {
        // The web shop has the AI agent answer first from the brand's knowledge base.
        let mut settings = serde_json::Map::new();
        if kind == ChannelKind::WebWidget {
            settings.insert(
                "bot".into(),
                json!({ "enabled": true, "tone": "warm and concise", "suggestions": DEMO_SUGGESTIONS }),
            );
        }
        let new = NewChannel { kind, name: name(n), team_id: Some(t), settings };
        channels.push((store.create_channel(ws.id, &new, sys, now).await?.id, kind));
    }
    Ok(Directory { ws: ws.id, agents, teams: [pre, after, vip], channels })
}

/// The web shop's suggested questions for a new visitor: ones its knowledge base answers at the default
/// confidence, in both languages.
const DEMO_SUGGESTIONS: &[&str] =
    &["移动电源可以带着登机吗？", "How long does delivery take?", "支持哪些付款方式？"];

/// The team's saved replies (typed as `/shortcut` in the composer), in both languages.
const SAVED_REPLIES: &[(&str, &str)] = &[
    ("hello", "您好，这里是流明科技客服，很高兴为您服务。请问有什么可以帮您？"),
    ("hello-en", "Hi, this is Lumio customer service. How can I help you today?"),
    ("order-status", "我帮您查一下订单。请提供订单号（以 LM 开头），我马上为您查询物流状态。"),
    ("order-status-en", "Let me check your order. Could you send me the order number (it starts with LM)?"),
    ("refund", "未使用的商品在签收后30天内可以退货并全额退款，退款会在收到退货后3个工作日内原路退回。"),
    (
        "refund-en",
        "Unused products can be returned within 30 days of delivery for a full refund, paid back to the original method within 3 working days of receiving the return.",
    ),
    ("thanks", "感谢您的耐心等待，如果还有其他问题，随时联系我们。祝您生活愉快！"),
    ("thanks-en", "Thanks for your patience. If anything else comes up, just write to us. Have a great day!"),
];

async fn saved_replies(store: &dyn Store, dir: &Directory, now: Timestamp) -> anyhow::Result<()> {
    for (shortcut, content) in SAVED_REPLIES {
        let new = NewCannedResponse { shortcut: (*shortcut).into(), content: (*content).into() };
        store.create_canned(dir.ws, &new, dir.agents[0], now).await?;
    }
    Ok(())
}

struct Customer {
    id: ContactId,
    chinese: bool,
    vip: bool,
}

async fn contacts(
    store: &dyn Store,
    dir: &Directory,
    rng: &mut Rng,
    n: usize,
    now: Timestamp,
) -> anyhow::Result<Vec<Customer>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let chinese = rng.chance(0.65);
        let display = if chinese {
            format!("{}{}", rng.pick(content::SURNAMES), rng.pick(content::GIVEN))
        } else {
            format!("{} {}", rng.pick(content::FIRST_EN), rng.pick(content::LAST_EN))
        };
        let mut identities = Vec::new();
        if rng.chance(if chinese { 0.4 } else { 0.9 }) {
            let email = format!(
                "customer{i:04}@{}",
                rng.pick(&["qq.com", "163.com", "gmail.com", "outlook.com", "icloud.com"])
            );
            identities.push(Identity::Email { value: EmailAddress::parse(&email).expect("valid") });
        }
        if chinese && rng.chance(0.6) {
            let phone = format!("+861{}{:09}", rng.pick(&["3", "5", "8"]), 100_000_000 + i as u64 * 7919);
            identities.push(Identity::Phone { value: PhoneNumber::parse(&phone).expect("valid") });
        }
        let (channel, kind) = if chinese { dir.channels[1 + rng.below(5)] } else { dir.channels[0] };
        let prefix = match kind {
            ChannelKind::Wechat | ChannelKind::MiniProgram => "oWx",
            ChannelKind::Douyin => "dy",
            ChannelKind::Xiaohongshu => "xhs",
            ChannelKind::Kuaishou => "ks",
            _ => "shop",
        };
        identities.push(Identity::External {
            channel_id: channel,
            value: format!("{prefix}_{:08x}", rng.next_u64() as u32),
        });
        let vip = rng.chance(0.12);
        let mut tags = Vec::new();
        if vip {
            tags.push(tag("vip"));
        }
        if rng.chance(0.3) {
            tags.push(tag("repeat-buyer"));
        }
        if rng.chance(0.15) {
            tags.push(tag("live-stream-fan"));
        }
        let city = if chinese { *rng.pick(content::CITIES_ZH) } else { *rng.pick(content::CITIES_EN) };
        let attributes = json!({
            "city": city,
            "language": if chinese { "zh" } else { "en" },
            "lifetime_orders": rng.range(1, if vip { 40 } else { 8 }),
            "member_level": if vip { "gold" } else { *rng.pick(&["regular", "regular", "silver"]) },
        });
        let new = NewContact {
            name: Some(name(&display)),
            identities,
            attributes: attributes.as_object().cloned().unwrap_or_default(),
            tags,
        };
        let created = now.plus_millis(-rng.range(190, 400) * 86_400_000);
        let c = store
            .create_contact(dir.ws, &new, Actor::System, created)
            .await
            .context("creating demo contacts")?;
        out.push(Customer { id: c.id, chinese, vip });
    }
    Ok(out)
}

fn weighted(rng: &mut Rng) -> &'static Scenario {
    let total: usize = SCENARIOS.iter().map(|s| s.weight).sum();
    let mut r = rng.below(total);
    for s in SCENARIOS {
        if r < s.weight {
            return s;
        }
        r -= s.weight;
    }
    &SCENARIOS[0]
}

/// One conversation, fully decided before anything is written.
struct Plan {
    new: NewConversation,
    first_at: Timestamp,
    customer: ContactId,
    agent: UserId,
    turns: Vec<(Who, String, Timestamp)>,
    patch: ConversationPatch,
    patch_at: Timestamp,
}

fn fill(text: &str, slots: &[(&str, String)]) -> String {
    let mut s = text.to_string();
    for (k, v) in slots {
        s = s.replace(k, v);
    }
    s
}

fn plan(dir: &Directory, c: &Customer, rng: &mut Rng, now: Timestamp) -> Plan {
    let scenario = weighted(rng);
    let product = rng.pick(PRODUCTS);
    let zh = if c.chinese { !rng.chance(0.05) } else { rng.chance(0.05) };
    let turns_src = if zh { scenario.zh } else { scenario.en };
    let slots = [
        ("{product}", if zh { product.zh } else { product.en }.to_string()),
        ("{order}", format!("LM{}", 20_000_000 + rng.below(9_000_000))),
        ("{days}", rng.range(3, 15).to_string()),
        (
            "{city}",
            if zh { *rng.pick(content::CITIES_ZH) } else { *rng.pick(content::CITIES_EN) }.to_string(),
        ),
        (
            "{courier}",
            if zh { *rng.pick(content::COURIERS_ZH) } else { *rng.pick(content::COURIERS_EN) }.to_string(),
        ),
        ("{amount}", product.price.to_string()),
    ];
    // Business hours in China (UTC+8), spread over the last six months.
    let day = rng.range(0, 179);
    let minute = rng.range(8 * 60, 23 * 60);
    let start = Timestamp(now.0 - (day + 1) * 86_400_000)
        .plus_millis((minute - 8 * 60) * 60_000 - (now.0 % 86_400_000));
    let start = start.min(now.plus_millis(-3_600_000));
    let age_days = (now.0 - start.0) / 86_400_000;
    let team = if c.vip && rng.chance(0.5) { dir.teams[2] } else { dir.teams[scenario.team] };
    let members: &[usize] = match scenario.team {
        0 => &[0, 1, 2],
        1 => &[3, 4, 5, 6],
        _ => &[7, 0],
    };
    let agent = dir.agents[*rng.pick(members)];
    let channel = if c.chinese {
        dir.channels[*rng.pick(&[0usize, 1, 1, 2, 3, 4, 5])].0
    } else {
        dir.channels[*rng.pick(&[0usize, 0, 6])].0
    };

    let (status, answered) = if age_days > 3 {
        let r = rng.below(100);
        // Older conversations are almost all done; a few still wait on the customer.
        (if r < 99 { Status::Resolved } else { Status::Pending }, true)
    } else {
        let r = rng.below(100);
        match r {
            0..40 => (Status::Open, rng.chance(0.4)),
            40..60 => (Status::Pending, true),
            60..90 => (Status::Resolved, true),
            _ => (Status::Snoozed, true),
        }
    };
    let mut t = start;
    let mut turns = Vec::new();
    for (i, &(who, variants)) in turns_src.iter().enumerate() {
        if !answered && who != Who::Customer {
            break;
        }
        if i > 0 {
            t = t.plus_millis(rng.range(1, if who == Who::Customer { 40 } else { 25 }) * 60_000);
        }
        let variant = *rng.pick::<&str>(variants);
        let text = fill(variant, &slots);
        turns.push((who, text, t));
    }
    let mut tags: Vec<Tag> =
        std::iter::once(scenario.key).chain(scenario.tags.iter().copied()).map(tag).collect();
    tags.push(tag(product.tag));
    tags.push(tag(if zh { "zh" } else { "en" }));
    let priority = if scenario.angry {
        if rng.chance(0.4) { Priority::Urgent } else { Priority::High }
    } else {
        *rng.pick(&[Priority::None, Priority::None, Priority::Low, Priority::Medium])
    };
    let assignee = if answered || rng.chance(0.3) { Some(Some(agent)) } else { None };
    let tags = lianluo_domain::value::normalise_tags("tags", tags).expect("a handful of demo tags");
    let patch = ConversationPatch {
        status: (status != Status::Open).then_some(status),
        snoozed_until: (status == Status::Snoozed).then(|| now.plus_millis(2 * 86_400_000)),
        priority: Some(priority),
        assignee_id: assignee,
        team_id: None,
        tags: Some(tags),
        subject: None,
    };
    let (_, first, first_at) = turns.remove(0);
    let new = NewConversation {
        channel_id: channel,
        contact_id: c.id,
        subject: None,
        priority: None,
        assignee_id: None,
        team_id: Some(team),
        tags: vec![],
        message: Some(NewMessage::text(MessageKind::Incoming, first)),
        waits_for_bot: false,
    };
    let patch_at = turns.last().map(|x| x.2).unwrap_or(first_at).plus_millis(rng.range(2, 30) * 60_000);
    Plan { new, first_at, customer: c.id, agent, turns, patch, patch_at }
}

async fn write_plan(store: &dyn Store, ws: WorkspaceId, p: Plan) -> anyhow::Result<()> {
    let customer = Actor::Contact { id: p.customer };
    let agent = Actor::User { id: p.agent };
    let (conv, _) = store.create_conversation(ws, &p.new, None, customer, p.first_at).await?;
    for (who, text, at) in p.turns {
        let (kind, sender, actor) = match who {
            Who::Customer => (MessageKind::Incoming, Sender::Contact { id: p.customer }, customer),
            Who::Agent => (MessageKind::Outgoing, Sender::User { id: p.agent }, agent),
            Who::Note => (MessageKind::Note, Sender::User { id: p.agent }, agent),
        };
        let m = NewMessage::text(kind, text);
        store.append_message(ws, conv.id, &m, Some(sender), actor, at).await?;
    }
    store.update_conversation(ws, conv.id, &p.patch, agent, p.patch_at).await?;
    Ok(())
}

async fn conversations(
    store: Arc<dyn Store>,
    dir: &Directory,
    customers: &[Customer],
    rng: &mut Rng,
    n: usize,
    now: Timestamp,
) -> anyhow::Result<()> {
    if customers.is_empty() {
        return Ok(());
    }
    let plans: Vec<Plan> =
        (0..n).map(|_| plan(dir, &customers[rng.below(customers.len())], rng, now)).collect();
    // Many conversations in flight at once, so the store can commit their writes in groups.
    let permits = Arc::new(tokio::sync::Semaphore::new(64));
    let mut tasks = tokio::task::JoinSet::new();
    for p in plans {
        let permit = permits.clone().acquire_owned().await?;
        let (store, ws) = (store.clone(), dir.ws);
        tasks.spawn(async move {
            let r = write_plan(store.as_ref(), ws, p).await;
            drop(permit);
            r
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.context("demo task failed")??;
    }
    Ok(())
}
