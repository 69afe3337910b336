/* Lianluo agent workspace: inbox, conversation, contact, settings. Plain DOM, no framework, no CDN.
 * Text from customers and agents is only ever set with textContent. */
(function () {
  "use strict";
  var I18N = {
    en: {
      signin: "Sign in", email: "Email", password: "Password", wrong: "Wrong email or password.", limited: "Too many attempts. Try again later.",
      inbox: "Inbox", settings: "Settings", signout: "Sign out", mine: "Mine", unassigned: "Unassigned", all: "All",
      open: "Open", pending: "Pending", snoozed: "Snoozed", resolved: "Resolved", anyStatus: "Any status", anyChannel: "All channels",
      search: "Search messages, names, emails…", empty: "Nothing here.", pick: "Pick a conversation.", reply: "Reply", note: "Private note",
      send: "Send", replyPh: "Write a reply… (type / for saved replies, Ctrl+Enter to send)", notePh: "Only your team sees notes.",
      resolve: "Resolve", reopen: "Reopen", snooze: "Snooze", snooze1h: "Snooze 1 hour", snoozeTomorrow: "Snooze until tomorrow",
      edit: "Edit", phone: "Phone", contacts: "Contacts", contactSearch: "Search name, email, phone…", newContact: "New contact", importCsv: "Import CSV", exportCsv: "Export CSV",
      emails: "Emails (comma separated)", phones: "Phones, with country code (comma separated)", tagList: "Tags", pickContact: "Pick a contact to see and edit them.", moreRows: "Load more",
      otherIds: "Other identities", deleteContactWarn: "Delete this contact? Only a contact without conversations can be deleted.", imported: "Imported {0} contacts", importFailed: "{0} rows not imported: {1}", noContactCols: "The file needs a header row with a name, email or phone column.", openConv: "View",
      profile: "My profile", profileName: "Your name, as customers and colleagues see it", language: "Language", ownNewPassword: "New password (10 characters or more)", currentPassword: "Current password", changePassword: "Change password", passwordChanged: "Password changed. Please sign in again.", notifyLabel: "Desktop and sound notifications",
      back: "Back to the list", assignee: "Assignee", teamOf: "Team", tagsShort: "Tags", convTools: "Conversation details",
      csat: "Customer rating", csat_1: "Very dissatisfied", csat_2: "Dissatisfied", csat_3: "Neutral", csat_4: "Satisfied", csat_5: "Very satisfied",
      unassign: "Unassigned", noTeam: "No team", priority: "Priority", tags: "Tags (comma separated)", typing: "is typing…",
      contact: "Contact", identities: "Identities", attributes: "Attributes", past: "Conversations", you: "You", bot: "AI agent", earlier: "Load earlier messages", today: "Today", yesterday: "Yesterday",
      agents: "Agents", teams: "Teams", channels: "Channels", canned: "Saved replies", tokens: "API tokens", name: "Name",
      audit: "Audit log", auditArea: "Area", auditAll: "All areas", auditWhen: "When", auditWho: "Who", auditWhat: "What", auditChange: "Change", noEvents: "Nothing recorded here yet.",
      area_people: "People and access", area_channels: "Channels", area_contacts: "Contacts", area_conversations: "Conversations", area_messages: "Messages", area_knowledge: "Knowledge and AI", area_saved_replies: "Saved replies", area_jobs: "Background jobs",
      actorSystem: "Lianluo", actorToken: "API token", actorCustomer: "Customer",
      ev_workspace__created: "Workspace created", ev_user__created: "Agent added", ev_user__updated: "Agent changed", ev_user__password_changed: "Password changed", ev_team__created: "Team created", ev_team__updated: "Team changed", ev_team__deleted: "Team deleted", ev_channel__created: "Channel created", ev_channel__updated: "Channel changed", ev_channel__deleted: "Channel deleted", ev_channel__secret_rotated: "Widget secret rotated", ev_contact__created: "Contact created", ev_contact__updated: "Contact changed", ev_contact__deleted: "Contact deleted", ev_conversation__created: "Conversation started", ev_conversation__updated: "Conversation changed", ev_conversation__deleted: "Conversation deleted", ev_conversation__rated: "Conversation rated", ev_message__created: "Message sent", ev_canned_response__created: "Saved reply added", ev_canned_response__updated: "Saved reply changed", ev_canned_response__deleted: "Saved reply deleted", ev_api_token__created: "API token created", ev_api_token__revoked: "API token revoked", ev_ai_settings__updated: "AI settings changed", ev_kb_source__created: "Knowledge source added", ev_kb_source__updated: "Knowledge source changed", ev_kb_source__deleted: "Knowledge source deleted", ev_kb_source__indexed: "Knowledge source indexed", ev_kb_source__failed: "Knowledge source could not be indexed", ev_kb_chunk__released: "Held passage approved", ev_kb_gap__resolved: "Knowledge gap answered", ev_kb_answer__rated: "AI answer rated", ev_kb_candidate__mined: "Answer mined from conversations", ev_kb_candidate__approved: "Mined answer approved", ev_kb_candidate__rejected: "Mined answer rejected", ev_job__queued: "Background job queued", ev_job__done: "Background job done", ev_job__failed: "Background job failed",
      jobs: "Background jobs", job_mine_conversations: "Read resolved conversations", job_index_source: "Index a knowledge source", jobOf: "{0}: {1}", jobPassages: "{0} passages", jobPassage: "1 passage", jobUnreadable: "could not be read: {0}", jobSourceGone: "the source was deleted", jst_pending: "waiting", jst_running: "running", jst_done: "done", jst_failed: "failed",
      job: "Job", state: "State", attempts: "Attempts", detail: "Detail", noJobs: "No background jobs yet.", retryJob: "Retry", retryNow: "Retry now", jobAdded: "{0} new candidates",
      role: "Role", add: "Add", create: "Create", remove: "Delete", revoke: "Revoke", members: "Members", saveMembers: "Save members", kind: "Kind",
      snippet: "Snippet", rotate: "Rotate secret", rotateWarn: "Visitors signed in by your site are signed out and must reload the page; update the secret on your server.", rotateConfirm: "Rotate now", cancel: "Cancel", deleteWarn: "Delete it? This cannot be undone.", deleteNow: "Delete now",
      revokeWarn: "Integrations using this token stop working at once.", revokeNow: "Revoke now", deactivate: "Deactivate", reactivate: "Reactivate",
      deactivateWarn: "They are signed out at once and can no longer sign in.", deactivateNow: "Deactivate now", role_agent: "Agent", role_admin: "Admin", err_validation_failed: "Please check what you entered", err_invalid_body: "Please check what you entered",
      fld_name: "name", fld_email: "email", fld_password: "password", fld_shortcut: "shortcut", fld_content: "content", fld_title: "title", fld_url: "address", fld_identities: "email or phone", fld_tags: "tags", fld_page_limit: "page limit",
      fld_rating: "rating", fld_comment: "comment", fld_role: "role", fld_subject: "subject", fld_attributes: "attributes", fld_member_ids: "members", fld_base_url: "provider address", fld_model: "model", fld_api_key: "API key", fld_min_confidence: "confidence threshold", fld_question: "question", fld_answer: "answer", fld_settings: "channel settings", fld_current_password: "current password", fld_new_password: "new password", fld_active: "active", fld_status: "status", fld_priority: "priority", fld_assignee_id: "assignee", fld_team_id: "team", fld_kind: "kind", fld_error: "error", fld_chunks: "passages", err_conflict: "That already exists or was changed meanwhile", err_not_found: "Not found; it may have been deleted", err_forbidden: "You are not allowed to do that", err_rate_limited: "Too many requests; try again in a moment", err_payload_too_large: "That is too large", err_unsupported_file: "That file type cannot be read", err_busy: "The server is busy; try again in a moment", err_queue_full: "The server is busy; try again in a moment", err_internal: "Something went wrong on the server", err_unauthenticated: "Please sign in again", err_csrf_failed: "Please reload the page and try again", select: "Select", selected: "selected", assignTo: "Assign to…", addTag: "Add a tag", clearSel: "Clear", updated: "Updated", notify: "Notifications", notifyOn: "Notifications on: new messages in your conversations and conversations assigned to you", notifyOff: "Notifications off", notifyBlocked: "The browser blocks notifications for this site", assignedToYou: "Assigned to you", newMessage: "New message", suggestions: "Suggested questions", suggestionsPh: "Suggested questions for new visitors, one per line (up to 6)", pr_low: "Low", pr_medium: "Medium", pr_high: "High", pr_urgent: "Urgent", sk_markdown: "Markdown", sk_text: "Plain text", sk_html: "HTML", sk_faq_csv: "FAQ (CSV)", sk_qa: "Question and answer", sk_pdf: "PDF", sk_docx: "Word", sk_xlsx: "Excel", sk_website: "Website", ch_web_widget: "Web widget", ch_email: "Email", ch_wechat: "WeChat", ch_mini_program: "Mini program", ch_douyin: "Douyin", ch_xiaohongshu: "Xiaohongshu", ch_kuaishou: "Kuaishou", ch_phone: "Phone", ch_api: "API", revokedAt: "revoked", visitor: "Visitor", anonymous: "Anonymous web visitor (no name or email given)", siteUser: "Signed-in site user", secret: "Secret", shortcut: "Shortcut", content: "Content", created: "Created",
      shown: "Copy it now: it is not shown again.", saved: "Saved.", failed: "Something went wrong.", keys: "Keyboard shortcuts", emptyTable: "Nothing here yet.",
      kNext: "next / previous conversation", kReply: "reply", kNote: "private note", kResolve: "resolve or reopen", kSearch: "search",
      kHelp: "this help", online: "Online", away: "Away", active: "Active", inactive: "Deactivated", newPassword: "Initial password",
      anyTeam: "All teams", tag: "Tag", copy: "Copy snippet", copied: "Copied.", attach: "Attach a file", tooBig: "That file is too large.", badType: "That kind of file cannot be sent.",
      knowledge: "Knowledge", suggest: "Suggest a reply", insert: "Insert", close: "Close", noSuggestion: "The knowledge base has nothing that answers this yet.",
      correct: "Correct", correctPrompt: "The right answer (it becomes knowledge at once):", corrected: "Thanks: the next customer gets your answer.",
      sources: "Sources", title: "Title", url: "Public address (optional)", status: "Status", passages: "Passages", sync: "Re-index",
      playground: "Try a question", ask: "Ask", answer: "Answer", notFound: "Not answered", gaps: "Knowledge gaps", asked: "asked",
      writeAnswer: "Write the answer", answerPrompt: "The answer customers should get:", confidence: "confidence", noGaps: "No gaps: every question found its answer.",
      upload: "Upload files", uploadHint: "PDF, Word (.docx), Excel Q&A (.xlsx), Markdown, text, HTML or CSV, up to 20 MiB each", uploaded: "Uploaded: ",
      website: "Add a website", siteUrl: "https://help.example.com/", pageLimit: "Pages", crawl: "Crawl",
      held: "Held for review", reason: "Why", heldHint: "These passages read like instructions to an AI, or hold a password, key or code. Customers never see them, and the AI never reads them, until you approve them; to change one, edit its source.",
      noHeld: "Nothing is held.", st_queued: "queued", st_processing: "processing", st_indexed: "indexed", st_failed: "failed",
      crawling: "crawling: {0} pages read", reading: "reading", embedding: "embedding {0} of {1} passages", modelsOff: "The knowledge models are not loaded, so the AI agent, search and suggestions are off. Run scripts/fetch-models (or set models.dir) and restart the server.",
      candidates: "Answers from past conversations", mineNow: "Read resolved conversations", mined: "New candidates: ", mining: "Reading resolved conversations… {0} read", approve: "Approve", reject: "Reject",
      noCandidates: "No candidates waiting. Read resolved conversations to find answers agents gave.", fit: "Fit",
      likely: "likely answers", unlikely: "may answer something else", question: "Question",
      aiAgent: "AI agent answers first", tone: "Tone", tonePh: "Tone, e.g. warm and concise", save: "Save",
      aiModel: "AI model", answerMode: "Answer mode", nodeDefault: "Server default", extractive: "Quote the best passage", generative: "Written by the model, checked", auto: "Written by the model if it passes the check",
      minConf: "Answer from confidence (0–1, default 0.70)", checking: "Checking the model…", strong: "The model passed {0} of {1} checks: it writes answers.", weak: "The model passed {0} of {1} checks: answers are quoted.",
      providerUrl: "OpenAI-compatible address (empty: the built-in model)", providerModel: "Model name", apiKey: "API key", keySaved: "Key saved (type to replace)",
      usage30: "Last 30 days", requests: "requests", embeddings: "Embeddings (empty: the built-in model; a change embeds everything again)",
      embedUrl: "Embeddings address", embedModel: "Embedding model name", embedKey: "Embeddings API key", wsTone: "Workspace tone"
    },
    zh: {
      signin: "登录", email: "邮箱", password: "密码", wrong: "邮箱或密码错误。", limited: "尝试次数过多，请稍后再试。",
      inbox: "收件箱", settings: "设置", signout: "退出登录", mine: "我的", unassigned: "未分配", all: "全部",
      open: "处理中", pending: "待回复", snoozed: "已暂停", resolved: "已解决", anyStatus: "全部状态", anyChannel: "全部渠道",
      search: "搜索消息、姓名、邮箱…", empty: "暂无会话。", pick: "请选择一个会话。", reply: "回复", note: "内部备注",
      send: "发送", replyPh: "输入回复…（输入 / 使用快捷回复，Ctrl+Enter 发送）", notePh: "备注仅团队可见。",
      resolve: "解决", reopen: "重新打开", snooze: "暂停", snooze1h: "暂停 1 小时", snoozeTomorrow: "暂停到明天",
      edit: "编辑", phone: "电话", contacts: "联系人", contactSearch: "搜索姓名、邮箱、电话…", newContact: "新建联系人", importCsv: "导入 CSV", exportCsv: "导出 CSV",
      emails: "邮箱（逗号分隔）", phones: "电话，含国家区号（逗号分隔）", tagList: "标签", pickContact: "选择一位联系人以查看和编辑。", moreRows: "加载更多",
      otherIds: "其他身份", deleteContactWarn: "删除该联系人？只有没有会话的联系人可以删除。", imported: "已导入 {0} 位联系人", importFailed: "{0} 行未导入：{1}", noContactCols: "文件需要表头行，并包含姓名、邮箱或电话列。", openConv: "查看",
      profile: "个人资料", profileName: "您的名字（顾客和同事看到的名字）", language: "语言", ownNewPassword: "新密码（至少 10 个字符）", currentPassword: "当前密码", changePassword: "修改密码", passwordChanged: "密码已修改，请重新登录。", notifyLabel: "桌面与声音通知",
      back: "返回列表", assignee: "负责人", teamOf: "团队", tagsShort: "标签", convTools: "会话信息",
      csat: "顾客评价", csat_1: "非常不满意", csat_2: "不满意", csat_3: "一般", csat_4: "满意", csat_5: "非常满意",
      unassign: "未分配", noTeam: "无团队", priority: "优先级", tags: "标签（逗号分隔）", typing: "正在输入…",
      contact: "客户", identities: "身份", attributes: "属性", past: "历史会话", you: "我", bot: "AI 客服", earlier: "加载更早的消息", today: "今天", yesterday: "昨天",
      agents: "客服", teams: "团队", channels: "渠道", canned: "快捷回复", tokens: "API 令牌", name: "名称",
      audit: "审计日志", auditArea: "范围", auditAll: "全部范围", auditWhen: "时间", auditWho: "操作者", auditWhat: "操作", auditChange: "变更", noEvents: "这里还没有记录。",
      area_people: "人员与权限", area_channels: "渠道", area_contacts: "联系人", area_conversations: "会话", area_messages: "消息", area_knowledge: "知识库与 AI", area_saved_replies: "快捷回复", area_jobs: "后台任务",
      actorSystem: "系统", actorToken: "API 令牌", actorCustomer: "顾客",
      ev_workspace__created: "创建了工作区", ev_user__created: "添加了成员", ev_user__updated: "修改了成员", ev_user__password_changed: "修改了密码", ev_team__created: "创建了团队", ev_team__updated: "修改了团队", ev_team__deleted: "删除了团队", ev_channel__created: "创建了渠道", ev_channel__updated: "修改了渠道", ev_channel__deleted: "删除了渠道", ev_channel__secret_rotated: "更换了组件密钥", ev_contact__created: "创建了联系人", ev_contact__updated: "修改了联系人", ev_contact__deleted: "删除了联系人", ev_conversation__created: "开始了会话", ev_conversation__updated: "修改了会话", ev_conversation__deleted: "删除了会话", ev_conversation__rated: "评价了会话", ev_message__created: "发送了消息", ev_canned_response__created: "添加了快捷回复", ev_canned_response__updated: "修改了快捷回复", ev_canned_response__deleted: "删除了快捷回复", ev_api_token__created: "创建了 API 令牌", ev_api_token__revoked: "吊销了 API 令牌", ev_ai_settings__updated: "修改了 AI 设置", ev_kb_source__created: "添加了知识来源", ev_kb_source__updated: "修改了知识来源", ev_kb_source__deleted: "删除了知识来源", ev_kb_source__indexed: "知识来源已索引", ev_kb_source__failed: "知识来源索引失败", ev_kb_chunk__released: "放行了待审段落", ev_kb_gap__resolved: "补充了知识缺口", ev_kb_answer__rated: "评价了 AI 回答", ev_kb_candidate__mined: "从会话中挖掘出答案", ev_kb_candidate__approved: "采纳了挖掘的答案", ev_kb_candidate__rejected: "拒绝了挖掘的答案", ev_job__queued: "后台任务已排队", ev_job__done: "后台任务已完成", ev_job__failed: "后台任务失败",
      jobs: "后台任务", job_mine_conversations: "读取已解决的会话", job_index_source: "索引知识来源", jobOf: "{0}：{1}", jobPassages: "{0} 个段落", jobPassage: "1 个段落", jobUnreadable: "无法读取：{0}", jobSourceGone: "来源已删除", jst_pending: "等待中", jst_running: "运行中", jst_done: "已完成", jst_failed: "失败",
      job: "任务", state: "状态", attempts: "尝试次数", detail: "详情", noJobs: "还没有后台任务。", retryJob: "重试", retryNow: "立即重试", jobAdded: "新候选 {0} 个",
      role: "角色", add: "添加", create: "创建", remove: "删除", revoke: "吊销", members: "成员", saveMembers: "保存成员", kind: "类型",
      snippet: "嵌入代码", rotate: "重置密钥", rotateWarn: "由您网站登录的访客将被退出，需要刷新页面；请同时更新您服务器上的密钥。", rotateConfirm: "立即重置", cancel: "取消", deleteWarn: "确定删除？此操作无法撤销。", deleteNow: "立即删除",
      revokeWarn: "使用此令牌的集成将立即失效。", revokeNow: "立即吊销", deactivate: "停用", reactivate: "重新启用",
      deactivateWarn: "该成员将立即退出登录，且无法再登录。", deactivateNow: "立即停用", role_agent: "客服", role_admin: "管理员", err_validation_failed: "输入有误，请检查", err_invalid_body: "输入有误，请检查",
      fld_name: "名称", fld_email: "邮箱", fld_password: "密码", fld_shortcut: "快捷词", fld_content: "内容", fld_title: "标题", fld_url: "链接", fld_identities: "邮箱或电话", fld_tags: "标签", fld_page_limit: "页数上限",
      fld_rating: "评分", fld_comment: "评论", fld_role: "角色", fld_subject: "主题", fld_attributes: "属性", fld_member_ids: "成员", fld_base_url: "服务地址", fld_model: "模型", fld_api_key: "密钥", fld_min_confidence: "置信度阈值", fld_question: "问题", fld_answer: "答案", fld_settings: "渠道设置", fld_current_password: "当前密码", fld_new_password: "新密码", fld_active: "启用", fld_status: "状态", fld_priority: "优先级", fld_assignee_id: "负责人", fld_team_id: "团队", fld_kind: "类型", fld_error: "错误", fld_chunks: "段落数", err_conflict: "已存在，或已被他人修改", err_not_found: "未找到，可能已被删除", err_forbidden: "您没有权限执行此操作", err_rate_limited: "请求过于频繁，请稍后再试", err_payload_too_large: "内容过大", err_unsupported_file: "无法读取此类文件", err_busy: "服务器繁忙，请稍后再试", err_queue_full: "服务器繁忙，请稍后再试", err_internal: "服务器出错了", err_unauthenticated: "请重新登录", err_csrf_failed: "请刷新页面后重试", select: "选择", selected: "已选", assignTo: "分配给…", addTag: "添加标签", clearSel: "取消选择", updated: "已更新", notify: "通知", notifyOn: "已开启通知：您负责的会话有新消息、有会话分配给您时提醒", notifyOff: "已关闭通知", notifyBlocked: "浏览器已禁止本站的通知", assignedToYou: "已分配给您", newMessage: "新消息", suggestions: "推荐问题", suggestionsPh: "给新访客的推荐问题，每行一个（最多 6 个）", pr_low: "低", pr_medium: "中", pr_high: "高", pr_urgent: "紧急", sk_markdown: "Markdown", sk_text: "纯文本", sk_html: "HTML", sk_faq_csv: "常见问题（CSV）", sk_qa: "问答", sk_pdf: "PDF", sk_docx: "Word 文档", sk_xlsx: "Excel 表格", sk_website: "网站", ch_web_widget: "网站聊天窗口", ch_email: "邮件", ch_wechat: "微信", ch_mini_program: "小程序", ch_douyin: "抖音", ch_xiaohongshu: "小红书", ch_kuaishou: "快手", ch_phone: "电话", ch_api: "API", revokedAt: "已吊销", visitor: "访客", anonymous: "匿名网页访客（未留姓名或邮箱）", siteUser: "网站登录用户", secret: "密钥", shortcut: "快捷词", content: "内容", created: "创建时间",
      shown: "请立即复制：之后不会再显示。", saved: "已保存。", failed: "出错了。", keys: "快捷键", emptyTable: "暂无内容。",
      kNext: "下一个 / 上一个会话", kReply: "回复", kNote: "内部备注", kResolve: "解决或重新打开", kSearch: "搜索",
      kHelp: "本帮助", online: "在线", away: "离开", active: "正常", inactive: "已停用", newPassword: "初始密码",
      anyTeam: "全部团队", tag: "标签", copy: "复制代码", copied: "已复制。", attach: "添加附件", tooBig: "文件太大。", badType: "不支持该文件类型。",
      knowledge: "知识库", suggest: "推荐回复", insert: "插入", close: "关闭", noSuggestion: "知识库里还没有能回答这个问题的内容。",
      correct: "纠正", correctPrompt: "正确的答案（将立即成为知识）：", corrected: "已纠正：下一位客户会得到您的答案。",
      sources: "资料", title: "标题", url: "公开链接（选填）", status: "状态", passages: "段落", sync: "重新索引",
      playground: "试问一个问题", ask: "提问", answer: "回答", notFound: "未回答", gaps: "知识缺口", asked: "次提问",
      writeAnswer: "补充答案", answerPrompt: "客户应得到的答案：", confidence: "置信度", noGaps: "暂无缺口：每个问题都找到了答案。",
      upload: "上传文件", uploadHint: "PDF、Word（.docx）、Excel 问答表（.xlsx）、Markdown、文本、HTML 或 CSV，每个不超过 20 MiB", uploaded: "已上传：",
      website: "添加网站", siteUrl: "https://help.example.com/", pageLimit: "页数", crawl: "抓取",
      held: "待审核段落", reason: "原因", heldHint: "这些段落像是写给 AI 的指令，或含有密码、密钥、优惠码。在您批准之前，客户看不到它们，AI 也不会读取；如需修改，请编辑所属资料。",
      noHeld: "没有待审核的段落。", st_queued: "排队中", st_processing: "处理中", st_indexed: "已索引", st_failed: "失败",
      crawling: "正在抓取：已读 {0} 页", reading: "正在读取", embedding: "正在向量化 {0}/{1} 段", modelsOff: "知识库模型未加载，AI 助手、搜索和推荐回复已关闭。请运行 scripts/fetch-models（或设置 models.dir）后重启服务。",
      candidates: "来自历史会话的答案", mineNow: "读取已解决的会话", mined: "新候选：", mining: "正在读取已解决的会话…已读 {0} 个", approve: "采纳", reject: "拒绝",
      noCandidates: "暂无待审核的候选。读取已解决的会话，找出客服给过的答案。", fit: "匹配度",
      likely: "很可能答对了问题", unlikely: "可能答非所问", question: "问题",
      aiAgent: "AI 助手优先回复", tone: "语气", tonePh: "语气，例如：亲切、简洁", save: "保存",
      aiModel: "AI 模型", answerMode: "回答方式", nodeDefault: "服务器默认", extractive: "引用最相关的段落", generative: "模型撰写并核对", auto: "模型通过检测时由模型撰写",
      minConf: "回答所需置信度（0–1，默认 0.70）", checking: "正在检测模型…", strong: "模型通过了 {0}/{1} 项检测，由模型撰写回答。", weak: "模型通过了 {0}/{1} 项检测，回答将引用原文。",
      providerUrl: "OpenAI 兼容地址（留空：内置模型）", providerModel: "模型名称", apiKey: "API 密钥", keySaved: "已保存密钥（输入以替换）",
      usage30: "最近 30 天", requests: "次请求", embeddings: "向量模型（留空：内置模型；更换后会重新向量化全部资料）",
      embedUrl: "向量模型地址", embedModel: "向量模型名称", embedKey: "向量模型 API 密钥", wsTone: "工作区语气"
    }
  };
  var lang = localStorage.getItem("lianluo:lang") || ((navigator.language || "en").toLowerCase().indexOf("zh") === 0 ? "zh" : "en");
  function t(k) { return (I18N[lang] && I18N[lang][k]) || I18N.en[k] || k; }
  // A knowledge source's status, with how far indexing has got while it runs.
  function sourceStatus(s) {
    var p = s.progress, text = t("st_" + s.status);
    if (p && p.stage === "crawling") text += " · " + t("crawling").replace("{0}", p.pages_read);
    else if (p && p.stage === "embedding") text += " · " + t("embedding").replace("{0}", p.passages_done).replace("{1}", p.passages_total);
    else if (p) text += " · " + t("reading");
    return text + (s.error ? ": " + s.error : "");
  }
  // Why a passage is held: the server gives a code with its English sentence, which quotes the words found.
  var HELD_ZH = {
    addressed_to_assistant: "写给 AI 助手的话", assistant_turn: "冒充 AI 或系统的发言",
    changes_behaviour: "试图改变 AI 的行为", internal_only: "标注为仅限内部", internal_pricing: "像是内部价格",
    voucher: "优惠码或兑换码", private_key: "含有私钥", api_key: "像是 API 密钥或令牌",
    login_in_address: "链接中含有账号和密码", password: "像是密码"
  };
  function heldReason(p) {
    var r = p.held || "", cut = r.indexOf(" (");
    var zh = lang === "zh" && HELD_ZH[p.held_code];
    return zh ? zh + (cut < 0 ? "" : r.slice(cut)) : r;
  }

  // A destructive action asks first: the first click says what will happen, the second does it, and
  // Cancel puts the button back.
  function confirmButton(label, action, warn, confirmLabel, run) {
    var box = h("span", { class: "row confirm" });
    box.appendChild(h("button", { "data-action": action, text: label, onclick: function () {
      box.textContent = "";
      box.appendChild(h("span", { class: "muted", text: warn }));
      box.appendChild(h("button", { class: "danger", "data-action": action + "-confirm", text: confirmLabel, onclick: run }));
      box.appendChild(h("button", { text: t("cancel"), onclick: function () { box.replaceWith(confirmButton(label, action, warn, confirmLabel, run)); } }));
    } }));
    return box;
  }

  // A role as the reader's language says it, and a choice of roles for a form.
  function roleName(r) { return word("role_", r); }
  // A word from a dictionary group ("pr_high"), or the value itself where the group has no entry for it.
  function word(group, v) { var w = t(group + v); return w === group + v ? v : w; }
  // A small icon drawn in SVG (emoji glyphs are missing from many systems' fonts); `slash` strikes it out.
  var ICONS = {
    bell: "M12 22a2.5 2.5 0 0 0 2.5-2.5h-5A2.5 2.5 0 0 0 12 22zm7-6v-5a7 7 0 0 0-5.5-6.8V3a1.5 1.5 0 0 0-3 0v1.2A7 7 0 0 0 5 11v5l-2 2v1h18v-1z",
    person: "M12 12a5 5 0 1 0 0-10 5 5 0 0 0 0 10zm0 2c-4.4 0-8 2.2-8 5v1h16v-1c0-2.8-3.6-5-8-5z"
  };
  function icon(name, slash) {
    var ns = "http://www.w3.org/2000/svg", svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24"); svg.setAttribute("width", "18"); svg.setAttribute("height", "18"); svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(ns, "path"); path.setAttribute("d", ICONS[name]); path.setAttribute("fill", "currentColor"); svg.appendChild(path);
    if (slash) {
      var line = document.createElementNS(ns, "line");
      [["x1", 3], ["y1", 3], ["x2", 21], ["y2", 21], ["stroke", "currentColor"], ["stroke-width", 2]].forEach(function (a) { line.setAttribute(a[0], a[1]); });
      svg.appendChild(line);
    }
    return svg;
  }
  function channelKind(k) { return word("ch_", k); }
  function roleSelect() {
    return h("select", { "aria-label": t("role") }, h("option", { value: "agent", text: roleName("agent") }), h("option", { value: "admin", text: roleName("admin") }));
  }
  // A date and time as the reader's language writes it.
  function when(ts) { return new Date(ts).toLocaleString(lang === "zh" ? "zh-CN" : "en", { dateStyle: "medium", timeStyle: "short" }); }
  function clock(ts) { return new Date(ts).toLocaleTimeString(lang === "zh" ? "zh-CN" : "en", { hour: "2-digit", minute: "2-digit" }); }
  // A thread's day separator: today, yesterday, or the date.
  function dayLabel(ts) {
    var d = new Date(ts), now = new Date(), day = 864e5;
    var start = new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
    if (d.getTime() >= start) return t("today");
    if (d.getTime() >= start - day) return t("yesterday");
    return d.toLocaleDateString(lang === "zh" ? "zh-CN" : "en", { dateStyle: "medium" });
  }

  // An answer written in place (a knowledge gap's, a correction of the AI): a labelled box with Save and
  // Cancel, instead of the browser's bare prompt.
  function answerForm(label, initial, onSave, onCancel) {
    var box = h("textarea", { "aria-label": label, rows: "3", required: true });
    box.value = initial || "";
    var form = h("form", { class: "answer-form" }, h("label", { class: "muted", text: label }), box,
      h("div", { class: "row" }, h("button", { class: "primary", "data-action": "save-answer", text: t("save") }),
        h("button", { type: "button", text: t("cancel"), onclick: function () { onCancel(form); } })));
    form.addEventListener("submit", function (e) { e.preventDefault(); if (box.value.trim()) onSave(box.value.trim(), form); });
    setTimeout(function () { box.focus(); }, 0);
    return form;
  }

  // A contact without a name (an anonymous web visitor) is called "Visitor" with a short mark of its id,
  // so that two of them can be told apart; its technical identity is said in words.
  function contactLabel(name, id) { return name || t("visitor") + " " + String(id || "").replace(/-/g, "").slice(-4); }
  function identityText(i) {
    if (/^visitor:/.test(i.value)) return t("anonymous");
    if (/^user:/.test(i.value)) return t("siteUser") + " " + i.value.slice(5);
    return i.value;
  }

  var S = {
    me: null, csrf: null, users: [], teams: [], channels: [], presence: {}, tab: "mine", status: "open", q: "", channel: "", team: "", tag: "",
    items: [], cursor: null, current: null, conversation: null, contact: null, messages: [], lastEvent: null, socket: null,
    retry: 0, mode: "reply", view: "inbox", section: "agents", typing: {}
  };
  var app = document.getElementById("app");

  function h(tag, attrs) {
    var e = document.createElement(tag);
    attrs = attrs || {};
    // Every field has a label for assistive technology: its placeholder, where none is given.
    if ((tag === "input" || tag === "textarea") && attrs.placeholder && !attrs["aria-label"]) attrs["aria-label"] = attrs.placeholder;
    Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v == null || v === false) return;
      if (k === "text") e.textContent = v;
      else if (k === "class") e.className = v;
      else if (k.indexOf("on") === 0) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    });
    function add(x) {
      if (x == null || x === false) return;
      if (Array.isArray(x)) x.forEach(add);
      else e.appendChild(typeof x === "string" ? document.createTextNode(x) : x);
    }
    for (var i = 2; i < arguments.length; i++) add(arguments[i]);
    return e;
  }
  // Notices stack in one live region at the bottom, newest last, so two in a row never cover each other.
  function toast(msg) {
    var stack = document.querySelector(".toasts");
    if (!stack) {
      stack = h("div", { class: "toasts", role: "status", "aria-live": "polite" });
      document.body.appendChild(stack);
    }
    var el = h("div", { class: "toast", text: msg });
    stack.appendChild(el);
    setTimeout(function () { el.remove(); }, 4000);
  }
  function api(method, path, body) {
    var headers = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    if (method !== "GET" && S.csrf) headers["x-csrf-token"] = S.csrf;
    return fetch(path, { method: method, headers: headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (r) {
        if (r.status === 204) return null;
        return r.json().catch(function () { return {}; }).then(function (j) {
          if (r.status === 401 && path !== "/api/v1/auth/login") { S.me = null; renderLogin(); }
          if (!r.ok) throw { status: r.status, error: (j && j.error) || {} };
          return j;
        });
      });
  }
  function ago(ts) {
    var s = Math.max(0, (Date.now() - Date.parse(ts)) / 1000);
    if (s < 60) return lang === "zh" ? "刚刚" : "now";
    if (s < 3600) return Math.floor(s / 60) + (lang === "zh" ? "分钟" : "m");
    if (s < 86400) return Math.floor(s / 3600) + (lang === "zh" ? "小时" : "h");
    return Math.floor(s / 86400) + (lang === "zh" ? "天" : "d");
  }
  function userName(id) {
    var u = S.users.filter(function (x) { return x.id === id; })[0];
    return u ? u.name : "";
  }

  /* ---------- Sign-in ---------- */
  function renderLogin() {
    if (S.socket) { S.socket.onclose = null; S.socket.close(); S.socket = null; }
    // Whoever signs in next starts at the inbox.
    S.view = "inbox"; S.current = null;
    var err = h("div", { class: "error", role: "alert" });
    var email = h("input", { type: "email", name: "email", placeholder: t("email"), "aria-label": t("email"), autocomplete: "username", required: true });
    var pw = h("input", { type: "password", name: "password", placeholder: t("password"), "aria-label": t("password"), autocomplete: "current-password", required: true });
    var form = h("form", { "aria-label": t("signin") }, h("h1", { text: "Lianluo 联络" }), email, pw, err,
      h("button", { class: "primary", type: "submit", text: t("signin") }));
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      api("POST", "/api/v1/auth/login", { email: email.value, password: pw.value }).then(function (r) {
        S.csrf = r.csrf_token;
        boot();
      }, function (x) { err.textContent = x.status === 429 ? t("limited") : t("wrong"); });
    });
    app.textContent = "";
    app.appendChild(h("div", { class: "login" }, form));
    email.focus();
  }

  /* ---------- Boot and shell ---------- */
  function boot() {
    api("GET", "/api/v1/auth/me").then(function (me) {
      S.me = me.user; S.me.role = me.role; S.csrf = me.csrf_token || S.csrf;
      return Promise.all([api("GET", "/api/v1/users?limit=100"), api("GET", "/api/v1/teams"), api("GET", "/api/v1/channels"), api("GET", "/api/v1/presence")]);
    }).then(function (r) {
      S.users = r[0].items; S.teams = r[1].items; S.channels = r[2].items;
      r[3].items.forEach(function (p) { S.presence[p.user_id] = p.status; });
      renderShell();
      loadInbox(true);
      connect();
    }, function () { renderLogin(); });
  }
  var els = {};
  function renderShell() {
    app.textContent = "";
    var admin = S.me.role === "admin";
    els.presence = h("span", { class: "presence" });
    var rail = h("nav", { class: "rail", "aria-label": "Lianluo" },
      h("div", { class: "logo", text: "联" }),
      h("button", { title: t("inbox"), "aria-label": t("inbox"), class: S.view === "inbox" ? "active" : "", onclick: function () { S.view = "inbox"; renderShell(); loadInbox(true); } }, "✉"),
      h("button", { title: t("contacts"), "aria-label": t("contacts"), "data-action": "contacts", class: S.view === "contacts" ? "active" : "", onclick: function () { S.view = "contacts"; renderShell(); } }, icon("person")),
      admin ? h("button", { title: t("settings"), "aria-label": t("settings"), class: S.view === "settings" ? "active" : "", onclick: function () { S.view = "settings"; renderShell(); } }, "⚙") : null,
      h("div", { class: "spacer" }),
      h("button", { title: t("profile"), "aria-label": t("profile") + " " + S.me.name, "data-action": "profile", class: "avatar" + (S.view === "profile" ? " active" : ""), "data-initials": initials(S.me.name), onclick: function () { S.view = "profile"; renderShell(); } }),
      h("button", { title: t("away") + " / " + t("online"), "aria-label": t("online"), onclick: toggleAway }, "●", els.presence),
      h("button", { title: t("notify"), "aria-label": t("notify"), "aria-pressed": String(notifying()), "data-action": "notifications", class: notifying() ? "active" : "", onclick: toggleNotifications }, icon("bell", !notifying())),
      h("button", { title: "中文 / English", "aria-label": lang === "zh" ? "EN English" : "中文", "data-action": "language", onclick: function () { lang = lang === "zh" ? "en" : "zh"; localStorage.setItem("lianluo:lang", lang); document.documentElement.lang = lang === "zh" ? "zh-CN" : "en"; renderShell(); if (S.view === "inbox") { renderList(); if (S.current) { renderConversation(); renderSide(); } } } }, lang === "zh" ? "EN" : "中"),
      h("button", { title: t("signout"), "aria-label": t("signout"), onclick: function () { api("POST", "/api/v1/auth/logout", {}).then(renderLogin, renderLogin); } }, "⎋"));
    var shell = h("div", { class: "shell" + (S.current ? " open" : "") });
    shell.appendChild(rail);
    els.shell = shell;
    if (S.view === "settings" || S.view === "contacts" || S.view === "profile") {
      shell.classList.add("no-side");
      els.settings = h("main", { class: "settings " + S.view });
      shell.appendChild(els.settings);
      app.appendChild(shell);
      ({ contacts: renderContacts, profile: renderProfile, settings: renderSettings })[S.view]();
      return;
    }
    els.items = h("div", { class: "items", role: "list" });
    els.bulk = h("div", { class: "bulk hidden", role: "toolbar", "aria-label": t("selected") });
    els.search = h("input", { type: "search", placeholder: t("search"), value: S.q, "aria-label": t("search") });
    var timer;
    els.search.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(function () { S.q = els.search.value.trim(); loadInbox(true); }, 250); });
    var tabs = h("div", { class: "tabs", role: "tablist" }, ["mine", "unassigned", "all"].map(function (k) {
      return h("button", { role: "tab", "aria-selected": String(S.tab === k), class: S.tab === k ? "active" : "", text: t(k), onclick: function () { S.tab = k; renderShell(); loadInbox(true); } });
    }));
    var status = h("select", { "aria-label": t("anyStatus"), onchange: function (e) { S.status = e.target.value; loadInbox(true); } },
      ["open", "pending", "snoozed", "resolved", ""].map(function (s) { return h("option", { value: s, selected: S.status === s, text: s ? t(s) : t("anyStatus") }); }));
    var channel = h("select", { "aria-label": t("anyChannel"), onchange: function (e) { S.channel = e.target.value; loadInbox(true); } },
      [h("option", { value: "", text: t("anyChannel") })].concat(S.channels.map(function (c) { return h("option", { value: c.id, selected: S.channel === c.id, text: c.name }); })));
    var team = h("select", { "aria-label": t("anyTeam"), onchange: function (e) { S.team = e.target.value; loadInbox(true); } },
      [h("option", { value: "", text: t("anyTeam") })].concat(S.teams.map(function (x) { return h("option", { value: x.id, selected: S.team === x.id, text: x.name }); })));
    var tag = h("input", { type: "search", "aria-label": t("tag"), placeholder: t("tag"), value: S.tag });
    tag.addEventListener("change", function () { S.tag = tag.value.trim().toLowerCase(); loadInbox(true); });
    shell.appendChild(h("section", { class: "list", "aria-label": t("inbox") }, h("header", null, tabs, els.search,
      h("div", { class: "filters" }, status, channel), h("div", { class: "filters" }, team, tag)), els.bulk, els.items));
    els.conv = h("main", { class: "conv" });
    els.side = h("aside", { class: "side", "aria-label": t("contact") });
    shell.appendChild(els.conv);
    shell.appendChild(els.side);
    app.appendChild(shell);
    updatePresenceDot();
    if (S.current) renderConversation(); else els.conv.appendChild(h("div", { class: "empty", text: t("pick") }));
  }

  /* ---------- Inbox list ---------- */
  function inboxQuery() {
    var p = ["limit=50"];
    if (S.tab === "mine") p.push("assignee=me");
    if (S.tab === "unassigned") p.push("assignee=none");
    if (S.status) p.push("status=" + S.status);
    if (S.channel) p.push("channel_id=" + S.channel);
    if (S.team) p.push("team_id=" + S.team);
    if (S.tag) p.push("tag=" + encodeURIComponent(S.tag));
    if (S.q) p.push("q=" + encodeURIComponent(S.q));
    return "/api/v1/inbox?" + p.join("&");
  }
  function loadInbox(reset) {
    if (S.view !== "inbox") return;
    var url = inboxQuery() + (!reset && S.cursor ? "&cursor=" + S.cursor : "");
    api("GET", url).then(function (page) {
      page.items.forEach(function (it) { assignees[it.conversation.id] = it.conversation.assignee_id; });
      S.items = reset ? page.items : S.items.concat(page.items);
      S.cursor = page.next_cursor;
      renderList();
    });
  }
  // Bulk actions on the selected rows: assign, resolve, tag; each conversation is changed as one would by hand.
  S.selected = S.selected || {};
  function selectedIds() { return Object.keys(S.selected).filter(function (id) { return S.selected[id]; }); }
  function renderBulk() {
    if (!els.bulk) return;
    var ids = selectedIds();
    els.bulk.textContent = "";
    els.bulk.classList.toggle("hidden", !ids.length);
    if (!ids.length) return;
    var apply = function (change) {
      Promise.all(ids.map(function (id) {
        var it = S.items.filter(function (x) { return x.conversation.id === id; })[0];
        return api("PATCH", "/api/v1/conversations/" + id, change(it ? it.conversation : {}));
      })).then(function () { toast(t("updated") + ": " + ids.length); S.selected = {}; renderBulk(); loadInbox(true); }, fail);
    };
    var assign = h("select", { "aria-label": t("assignTo"), "data-action": "bulk-assign", onchange: function (e) {
      var v = e.target.value; if (v === "-") return; apply(function () { return { assignee_id: v || null }; });
    } }, [h("option", { value: "-", text: t("assignTo") }), h("option", { value: "", text: t("unassign") })].concat(S.users.filter(function (u) { return u.active; }).map(function (u) { return h("option", { value: u.id, text: u.name }); })));
    var tag = h("input", { placeholder: t("addTag"), "data-action": "bulk-tag" });
    tag.addEventListener("change", function () {
      var v = tag.value.trim().toLowerCase(); if (!v) return;
      apply(function (c) { var tags = (c.tags || []).slice(); if (tags.indexOf(v) < 0) tags.push(v); return { tags: tags }; });
    });
    els.bulk.appendChild(h("span", { class: "muted", text: ids.length + " " + t("selected") }));
    els.bulk.appendChild(assign);
    els.bulk.appendChild(h("button", { "data-action": "bulk-resolve", text: t("resolve"), onclick: function () { apply(function () { return { status: "resolved" }; }); } }));
    els.bulk.appendChild(tag);
    els.bulk.appendChild(h("button", { class: "ghost", text: t("clearSel"), onclick: function () { S.selected = {}; renderList(); } }));
  }
  function renderList() {
    if (!els.items) return;
    renderBulk();
    els.items.textContent = "";
    if (!S.items.length) { els.items.appendChild(h("div", { class: "empty", text: t("empty") })); return; }
    S.items.forEach(function (it) {
      var c = it.conversation;
      var ch = S.channels.filter(function (x) { return x.id === c.channel_id; })[0];
      var row = h("div", { class: "item" + (S.current === c.id ? " active" : ""), role: "listitem", tabindex: "0", "data-id": c.id,
        onclick: function () { openConversation(c.id); },
        // Keyboard users open a row with Enter or Space, as with a click.
        onkeydown: function (e) { if (e.target === e.currentTarget && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); openConversation(c.id); } } },
        h("div", { class: "who" }, h("input", { type: "checkbox", class: "pick", "aria-label": t("select") + " " + contactLabel(it.contact_name, c.contact_id), checked: !!S.selected[c.id],
          onclick: function (e) { e.stopPropagation(); S.selected[c.id] = e.target.checked; renderBulk(); } }), contactLabel(it.contact_name, c.contact_id)),
        h("div", { class: "when", text: ago(c.last_activity_at) }),
        h("div", { class: "preview", text: it.last_message ? it.last_message.excerpt || "[" + t("attach") + "]" : "" }),
        it.unread_count ? h("span", { class: "badge", "aria-label": "unread", text: String(it.unread_count) }) : h("span"),
        h("div", { class: "meta" }, ch ? h("span", { class: "chip", text: ch.name }) : null,
          c.priority !== "none" ? h("span", { class: "chip " + c.priority, text: word("pr_", c.priority) }) : null,
          c.assignee_id ? h("span", { class: "chip", text: "→ " + userName(c.assignee_id) }) : null));
      els.items.appendChild(row);
    });
    if (S.cursor) els.items.appendChild(h("div", { class: "empty" }, h("button", { text: "…", onclick: function () { loadInbox(false); } })));
    var total = S.items.reduce(function (n, it) { return n + (it.unread_count || 0); }, 0);
    document.title = (total ? "(" + total + ") " : "") + "Lianluo 联络";
  }

  /* ---------- Conversation ---------- */
  // A thread opens at its newest messages; earlier ones load on demand.
  var THREAD_PAGE = 50;
  function openConversation(id) {
    S.current = id; S.mode = "reply"; S.contact = null; S.csat = null;
    if (els.shell) els.shell.classList.add("open");
    Promise.all([api("GET", "/api/v1/conversations/" + id), api("GET", "/api/v1/conversations/" + id + "/messages?order=desc&limit=" + THREAD_PAGE),
      api("GET", "/api/v1/conversations/" + id + "/csat")]).then(function (r) {
      if (S.current !== id) return;
      S.conversation = r[0]; S.messages = r[1].items.slice().reverse(); S.older = r[1].next_cursor; S.csat = r[2].csat;
      // The thread names the customer, so it waits for this conversation's contact.
      var show = function (c) { if (S.current !== id) return; S.contact = c; renderConversation(); renderSide(); };
      return api("GET", "/api/v1/contacts/" + S.conversation.contact_id).then(show, function () { show(null); });
    });
    api("POST", "/api/v1/conversations/" + id + "/read", {}).then(function () {
      S.items.forEach(function (it) { if (it.conversation.id === id) it.unread_count = 0; });
      renderList();
    });
  }
  // The open conversation's customer, by name once their record is loaded.
  function customerName() {
    var c = S.conversation;
    if (!c) return "";
    if (S.contact && S.contact.id === c.contact_id) return contactLabel(S.contact.name, S.contact.id);
    var listed = S.items.filter(function (it) { return it.conversation.id === c.id; })[0];
    return contactLabel(listed && listed.contact_name, c.contact_id);
  }
  function loadOlder(button) {
    var id = S.current, cursor = S.older;
    if (!cursor) return;
    button.disabled = true;
    api("GET", "/api/v1/conversations/" + id + "/messages?order=desc&limit=" + THREAD_PAGE + "&cursor=" + encodeURIComponent(cursor)).then(function (page) {
      if (S.current !== id) return;
      var known = {}; S.messages.forEach(function (m) { known[m.id] = true; });
      S.messages = page.items.slice().reverse().filter(function (m) { return !known[m.id]; }).concat(S.messages);
      S.older = page.next_cursor;
      // Keep the reader where they were: the new messages go above.
      var fromBottom = els.thread.scrollHeight - els.thread.scrollTop;
      fillThread();
      els.thread.scrollTop = els.thread.scrollHeight - fromBottom;
    }, function (x) { button.disabled = false; fail(x); });
  }
  function dayEl(ts) { return h("div", { class: "day", role: "separator", "data-day": new Date(ts).toDateString(), text: dayLabel(ts) }); }
  function fillThread() {
    els.thread.textContent = "";
    if (S.older) els.thread.appendChild(h("button", { class: "ghost older", "data-action": "older", text: t("earlier"), onclick: function (e) { loadOlder(e.target); } }));
    var last = "";
    S.messages.forEach(function (m) {
      var day = new Date(m.created_at).toDateString();
      if (day !== last) els.thread.appendChild(dayEl(m.created_at));
      last = day;
      els.thread.appendChild(messageEl(m));
    });
  }
  function messageEl(m) {
    var by = m.sender.type === "user" ? (m.sender.id === S.me.id ? t("you") : userName(m.sender.id)) : m.sender.type === "bot" ? t("bot") : m.sender.type === "contact" ? customerName() : "";
    var files = (m.attachments || []).map(function (a) {
      return /^image\//.test(a.content_type) ? h("a", { href: a.url, target: "_blank", rel: "noopener noreferrer" }, h("img", { src: a.url, alt: a.name }))
        : h("a", { href: a.url, target: "_blank", rel: "noopener noreferrer", text: "📄 " + a.name });
    });
    // An AI answer can be corrected in one click: the correction becomes knowledge at once.
    var fix = m.kind === "bot" ? h("button", { class: "ghost fix", "data-action": "correct", text: t("correct"), onclick: function () {
      if (fix.nextSibling) return;
      fix.after(answerForm(t("correctPrompt"), m.content.split("\n\n")[0], function (answer, form) {
        api("POST", "/api/v1/kb/corrections", { message_id: m.id, answer: answer }).then(function () { form.remove(); toast(t("corrected")); }, fail);
      }, function (form) { form.remove(); }));
    } }) : null;
    var at = h("time", { class: "at", datetime: m.created_at, title: when(m.created_at), text: clock(m.created_at) });
    return h("div", { class: "msg " + m.kind, "data-id": m.id }, h("span", { class: "by" }, by ? by + (m.kind === "note" ? " · " + t("note") : "") + " · " : "", at), m.content, files, fix);
  }
  // Agent assist: a reply grounded in the knowledge base, with its sources, to insert and edit.
  function suggestReply(box) {
    api("GET", "/api/v1/conversations/" + S.current + "/suggestion").then(function (a) {
      var old = box.querySelector(".assist"); if (old) old.remove();
      if (!a.answered) { toast(t("noSuggestion")); return; }
      var card = h("div", { class: "assist" }, h("p", { class: "assist-text", text: a.text }),
        h("ul", null, a.citations.map(function (c) { return h("li", { class: "muted", text: c.heading + ": " + c.quote }); })),
        h("div", null, h("button", { class: "primary", "data-action": "insert", text: t("insert"), onclick: function () { els.input.value = a.text; card.remove(); els.input.focus(); } }),
          h("button", { class: "ghost", text: t("close"), onclick: function () { card.remove(); } })));
      box.insertBefore(card, box.firstChild);
    }, fail);
  }
  function renderConversation() {
    var c = S.conversation;
    if (!els.conv || !c || c.id !== S.current) return;
    els.conv.textContent = "";
    var assign = h("select", { "aria-label": t("assignee"), onchange: function (e) { patch({ assignee_id: e.target.value || null }); } },
      [h("option", { value: "", text: t("unassign") })].concat(S.users.filter(function (u) { return u.active; }).map(function (u) {
        var st = S.presence[u.id]; return h("option", { value: u.id, selected: c.assignee_id === u.id, text: u.name + (st === "online" ? " ●" : "") });
      })));
    var team = h("select", { "aria-label": t("teamOf"), onchange: function (e) { patch({ team_id: e.target.value || null }); } },
      [h("option", { value: "", text: t("noTeam") })].concat(S.teams.map(function (x) { return h("option", { value: x.id, selected: c.team_id === x.id, text: x.name }); })));
    var prio = h("select", { "aria-label": t("priority"), onchange: function (e) { patch({ priority: e.target.value }); } },
      ["none", "low", "medium", "high", "urgent"].map(function (p) { return h("option", { value: p, selected: c.priority === p, text: p === "none" ? t("priority") : word("pr_", p) }); }));
    var snooze = h("select", { "aria-label": t("snooze"), onchange: function (e) {
      var v = e.target.value; if (!v) return;
      var until = new Date(); if (v === "1h") until = new Date(Date.now() + 3600e3); else { until.setDate(until.getDate() + 1); until.setHours(9, 0, 0, 0); }
      patch({ status: "snoozed", snoozed_until: until.toISOString() });
    } }, h("option", { value: "", text: t("snooze") }), h("option", { value: "1h", text: t("snooze1h") }), h("option", { value: "tomorrow", text: t("snoozeTomorrow") }));
    var resolved = c.status === "resolved";
    var status = h("button", { class: resolved ? "" : "primary", "data-action": "resolve", text: resolved ? t("reopen") : t("resolve"), onclick: toggleResolved });
    var tags = h("input", { "aria-label": t("tags"), placeholder: t("tagsShort"), value: (c.tags || []).join(", ") });
    tags.addEventListener("change", function () { patch({ tags: tags.value.split(",").map(function (x) { return x.trim(); }).filter(Boolean) }); });
    els.title = h("h2", { text: customerName() });
    // Below 1,200 px the contact panel is not beside the thread: this opens it over the thread.
    var sideToggle = h("button", { class: "ghost side-toggle", "data-action": "contact-panel", "aria-label": t("contact"), title: t("contact"),
      onclick: function () { els.shell.classList.toggle("show-side"); } }, icon("person"));
    // One header: who and where it stands, with resolve at hand; below it, the details each with its name.
    var tool = function (label, control) { return h("label", { class: "tool" }, h("span", { class: "muted", "aria-hidden": "true", text: label }), control); };
    els.conv.appendChild(h("header", null,
      h("div", { class: "title-row" }, h("button", { class: "ghost back", "aria-label": t("back"), text: "←", onclick: function () { S.current = null; els.shell.classList.remove("open"); } }), els.title,
        h("span", { class: "chip status-" + c.status, text: t(c.status) }), status, sideToggle),
      h("div", { class: "tools", role: "group", "aria-label": t("convTools") },
        tool(t("assignee"), assign), tool(t("teamOf"), team), tool(t("priority"), prio), tool(t("snooze"), snooze), tool(t("tagsShort"), tags))));
    // The customer's satisfaction rating, once they gave one in the widget.
    if (S.csat) {
      var stars = "\u2605\u2605\u2605\u2605\u2605".slice(0, S.csat.rating) + "\u2606\u2606\u2606\u2606\u2606".slice(S.csat.rating);
      els.conv.appendChild(h("div", { class: "csat-line csat-" + S.csat.rating, "data-rating": String(S.csat.rating) },
        h("b", { text: t("csat") }), h("span", { class: "stars", "aria-label": S.csat.rating + "/5", text: stars }),
        h("span", { text: word("csat_", S.csat.rating) }), S.csat.comment ? h("q", { text: S.csat.comment }) : null));
    }
    els.thread = h("div", { class: "thread", role: "log" });
    fillThread();
    els.typing = h("div", { class: "typing" });
    els.conv.appendChild(els.thread);
    els.conv.appendChild(els.typing);
    els.conv.appendChild(composer());
    els.thread.scrollTop = els.thread.scrollHeight;
  }
  function patch(body) {
    api("PATCH", "/api/v1/conversations/" + S.current, body).then(function (c) { S.conversation = c; renderConversation(); }, fail);
  }
  function toggleResolved() { if (S.conversation) patch({ status: S.conversation.status === "resolved" ? "open" : "resolved" }); }
  function composer() {
    var box = h("div", { class: "composer" + (S.mode === "note" ? " note" : "") });
    var input = h("textarea", { "aria-label": S.mode === "note" ? t("note") : t("reply"), placeholder: S.mode === "note" ? t("notePh") : t("replyPh") });
    els.input = input;
    var suggest = h("div", { class: "suggest hidden", role: "listbox" });
    var choices = [], active = 0;
    function setMode(m) { S.mode = m; var f = els.input.value; var n = composer(); box.replaceWith(n); els.input.value = f; els.input.focus(); }
    function send() {
      var text = input.value.trim();
      if (!text) return;
      // Sending the same text again after a failure keeps its key: a reply whose response was lost is stored once.
      var failed = S.unsent && S.unsent.conversation === S.current && S.unsent.text === text ? S.unsent : null;
      var key = failed ? failed.key : "ui-" + Date.now() + "-" + Math.random().toString(36).slice(2);
      var conversation = S.current;
      input.value = "";
      api("POST", "/api/v1/conversations/" + conversation + "/messages", { kind: S.mode === "note" ? "note" : "outgoing", content: text, idempotency_key: key })
        .then(function (m) { S.unsent = null; addMessage(m); }, function (x) {
          S.unsent = { conversation: conversation, text: text, key: key };
          input.value = text; toast(errorText(x));
        });
    }
    var asked = 0;
    function typedShortcut() { return /(^|\s)\/([a-z0-9_-]*)$/.exec(input.value.slice(0, input.selectionStart)); }
    function showSuggestions() {
      var m = typedShortcut();
      var ticket = ++asked;
      if (!m) { suggest.classList.add("hidden"); choices = []; return; }
      api("GET", "/api/v1/canned-responses?prefix=" + encodeURIComponent(m[2])).then(function (r) {
        // Answers can arrive out of order: only the latest counts, and only while a /shortcut is still typed.
        var now = typedShortcut();
        if (ticket !== asked || !now || now[2] !== m[2]) return;
        choices = r.items; active = 0; suggest.textContent = "";
        if (!choices.length) { suggest.classList.add("hidden"); return; }
        choices.forEach(function (c, i) {
          suggest.appendChild(h("div", { role: "option", class: i === 0 ? "active" : "", onmousedown: function (e) { e.preventDefault(); pick(i); } }, h("b", { text: "/" + c.shortcut }), c.content));
        });
        suggest.classList.remove("hidden");
      });
    }
    function pick(i) {
      var c = choices[i]; if (!c) return;
      var before = input.value.slice(0, input.selectionStart).replace(/\/[a-z0-9_-]*$/, "");
      input.value = before + c.content + input.value.slice(input.selectionStart);
      suggest.classList.add("hidden"); choices = []; asked++; input.focus();
    }
    var typingTimer;
    input.addEventListener("input", function () {
      showSuggestions();
      if (S.socket && S.socket.readyState === 1 && S.mode === "reply") {
        S.socket.send(JSON.stringify({ type: "typing", conversation_id: S.current, typing: true }));
        clearTimeout(typingTimer);
        typingTimer = setTimeout(function () { if (S.socket && S.socket.readyState === 1) S.socket.send(JSON.stringify({ type: "typing", conversation_id: S.current, typing: false })); }, 3000);
      }
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); suggest.classList.add("hidden"); choices = []; send(); return; }
      if (choices.length) {
        if (e.key === "ArrowDown" || e.key === "ArrowUp") { e.preventDefault(); active = (active + (e.key === "ArrowDown" ? 1 : choices.length - 1)) % choices.length; Array.prototype.forEach.call(suggest.children, function (d, i) { d.className = i === active ? "active" : ""; }); return; }
        if (e.key === "Enter" || e.key === "Tab") { e.preventDefault(); pick(active); return; }
        if (e.key === "Escape") { suggest.classList.add("hidden"); choices = []; return; }
      }
      if (e.key === "Escape") input.blur();
    });
    box.appendChild(suggest);
    box.appendChild(h("div", { class: "mode", role: "tablist" },
      h("button", { role: "tab", class: S.mode === "reply" ? "active" : "", text: t("reply"), onclick: function () { setMode("reply"); } }),
      h("button", { role: "tab", class: S.mode === "note" ? "active" : "", text: t("note"), onclick: function () { setMode("note"); } })));
    box.appendChild(input);
    var picker = h("input", { type: "file", class: "hidden", accept: "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain" });
    picker.addEventListener("change", function () {
      var file = picker.files && picker.files[0];
      picker.value = "";
      if (!file) return;
      fetch("/api/v1/uploads?name=" + encodeURIComponent(file.name), { method: "POST", body: file, credentials: "same-origin",
        headers: { "content-type": file.type || "application/octet-stream", "x-csrf-token": S.csrf } })
        .then(function (r) { return r.json().then(function (j) { if (!r.ok) throw { error: j.error }; return j; }); })
        .then(function (att) {
          return api("POST", "/api/v1/conversations/" + S.current + "/messages", { kind: S.mode === "note" ? "note" : "outgoing", content: input.value.trim(), attachments: [att] })
            .then(function (m) { input.value = ""; addMessage(m); });
        }, function (x) { toast(errorText(x, "badType")); });
    });
    box.appendChild(h("div", { class: "actions" }, h("span", null, h("button", { class: "ghost", "aria-label": t("attach"), title: t("attach"), text: "+", onclick: function () { picker.click(); } }), picker, h("span", { class: "muted", text: " Ctrl+Enter" })),
      h("span", null, h("button", { class: "ghost", "data-action": "suggest", text: t("suggest"), onclick: function () { suggestReply(box); } }),
        h("button", { class: "primary", "data-action": "send", text: t("send"), onclick: send }))));
    return box;
  }
  function addMessage(m) {
    if (m.conversation_id !== S.current || !els.thread) return;
    if (S.messages.some(function (x) { return x.id === m.id; })) return;
    var prev = S.messages[S.messages.length - 1];
    S.messages.push(m);
    if (!prev || new Date(prev.created_at).toDateString() !== new Date(m.created_at).toDateString()) els.thread.appendChild(dayEl(m.created_at));
    els.thread.appendChild(messageEl(m));
    els.thread.scrollTop = els.thread.scrollHeight;
  }
  function channelName(id) { return (S.channels.filter(function (x) { return x.id === id; })[0] || {}).name || ""; }
  // A contact's identities (named by their channel, or their kind) and attributes, as term lists: the
  // conversation's customer panel and the contact card show them alike.
  function identityList(ids) {
    return h("dl", null, ids.map(function (i) { return [h("dt", { text: (i.channel_id && channelName(i.channel_id)) || i.kind }), h("dd", { text: identityText(i), title: i.value })]; }));
  }
  function attributeList(c) {
    return h("dl", null, Object.keys(c.attributes || {}).map(function (k) { return [h("dt", { text: k }), h("dd", { text: String(c.attributes[k]) })]; }));
  }
  function renderSide() {
    var c = S.contact;
    if (!els.side || !c) return;
    els.side.textContent = "";
    var attrs = Object.keys(c.attributes || {});
    els.side.appendChild(h("button", { class: "ghost side-close", "aria-label": t("close"), text: "×", onclick: function () { els.shell.classList.remove("show-side"); } }));
    els.side.appendChild(h("h3", { text: contactLabel(c.name, c.id) }));
    els.side.appendChild(h("button", { class: "ghost", "data-action": "edit-contact", text: t("edit"), onclick: function () { S.view = "contacts"; S.contactId = c.id; renderShell(); } }));
    els.side.appendChild(h("div", { class: "muted" }, (c.tags || []).map(function (x) { return h("span", { class: "chip", text: x }); })));
    els.side.appendChild(h("h4", { text: t("identities") }));
    els.side.appendChild(identityList(c.identities));
    if (attrs.length) {
      els.side.appendChild(h("h4", { text: t("attributes") }));
      els.side.appendChild(attributeList(c));
    }
    var past = h("div", { class: "past" });
    els.side.appendChild(h("h4", { text: t("past") }));
    els.side.appendChild(past);
    api("GET", "/api/v1/inbox?contact_id=" + c.id + "&limit=20").then(function (r) {
      r.items.forEach(function (it) {
        past.appendChild(h("div", { onclick: function () { openConversation(it.conversation.id); } },
          h("div", null, h("span", { class: "chip", text: channelName(it.conversation.channel_id) }), " ", h("span", { class: "muted", text: t(it.conversation.status) + " · " + ago(it.conversation.last_activity_at) })),
          h("div", { text: it.last_message ? it.last_message.excerpt : "" })));
      });
    });
  }

  /* ---------- Live updates ---------- */
  function connect() {
    if (S.socket || !S.me) return;
    var url = location.origin.replace(/^http/, "ws") + "/api/v1/realtime" + (S.lastEvent ? "?after=" + S.lastEvent : "");
    var s = new WebSocket(url);
    S.socket = s;
    s.onmessage = function (e) {
      var f = JSON.parse(e.data);
      if (f.type === "ready") { S.retry = 0; if (f.last_event_id != null) S.lastEvent = Math.max(S.lastEvent || 0, f.last_event_id); return; }
      if (f.type === "reset") { loadInbox(true); return; }
      if (f.type !== "event") return;
      if (f.id) S.lastEvent = f.id;
      onEvent(f);
    };
    s.onclose = function () {
      S.socket = null;
      if (!S.me) return;
      setTimeout(connect, Math.min(30000, 500 * Math.pow(2, S.retry++)));
    };
  }
  var refreshTimer;
  function refreshSoon() { clearTimeout(refreshTimer); refreshTimer = setTimeout(function () { loadInbox(true); }, 150); }
  function onEvent(f) {
    var d = f.data || {};
    watchForNotifications(f, d);
    if (f.kind === "message.created" && d.message) {
      if (d.message.conversation_id === S.current) {
        addMessage(d.message);
        if (d.message.kind === "incoming") api("POST", "/api/v1/conversations/" + S.current + "/read", {});
        if (els.typing) els.typing.textContent = "";
      }
      refreshSoon();
    } else if (f.kind === "conversation.created" || f.kind === "conversation.updated" || f.kind === "conversation.deleted") {
      if (f.conversation_id === S.current && d.conversation) { S.conversation = d.conversation; renderConversation(); }
      refreshSoon();
    } else if (f.kind === "conversation.rated" && f.conversation_id === S.current) {
      S.csat = { rating: d.change.rating, comment: d.change.comment };
      renderConversation();
    } else if (f.kind === "typing" && f.conversation_id === S.current && els.typing) {
      var who = d.bot ? t("bot") : d.user_id ? userName(d.user_id) : (S.contact && S.contact.name) || "";
      els.typing.textContent = d.typing ? who + " " + t("typing") : "";
    } else if (f.kind === "presence" && d.user_id) {
      S.presence[d.user_id] = d.status;
    }
  }
  /* ---------- Notifications: desktop and sound, for the agent's own conversations ---------- */
  function notifying() { return localStorage.getItem("lianluo:notify") === "1" && typeof Notification !== "undefined" && Notification.permission === "granted"; }
  function toggleNotifications() {
    if (notifying()) { localStorage.setItem("lianluo:notify", "0"); toast(t("notifyOff")); renderShell(); if (S.view === "inbox") renderList(); return; }
    if (typeof Notification === "undefined") { toast(t("notifyBlocked")); return; }
    Promise.resolve(Notification.permission === "granted" ? "granted" : Notification.requestPermission()).then(function (p) {
      if (p !== "granted") { toast(t("notifyBlocked")); return; }
      localStorage.setItem("lianluo:notify", "1"); toast(t("notifyOn")); renderShell(); if (S.view === "inbox") { renderList(); if (S.current) { renderConversation(); renderSide(); } }
    });
  }
  var audio = null;
  function chime() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = 880; g.gain.setValueAtTime(0.08, audio.currentTime); g.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.35);
      o.connect(g); g.connect(audio.destination); o.start(); o.stop(audio.currentTime + 0.35);
    } catch (e) { /* no sound where the browser has no audio */ }
  }
  // Shown when the agent is not looking at that conversation: in another tab, or another conversation.
  function notify(title, body, conversationId) {
    if (!notifying() || (!document.hidden && conversationId === S.current)) return;
    var n = new Notification(title, { body: body, tag: "lianluo-" + conversationId });
    n.onclick = function () { window.focus(); S.view = "inbox"; renderShell(); loadInbox(true); openConversation(conversationId); n.close(); };
    chime();
  }
  var assignees = {};
  function watchForNotifications(f, d) {
    if (f.kind === "message.created" && d.message && d.message.kind === "incoming") {
      var owner = assignees[d.message.conversation_id];
      if (owner === S.me.id) notify(t("newMessage"), d.message.content || "[" + t("attach") + "]", d.message.conversation_id);
    } else if ((f.kind === "conversation.updated" || f.kind === "conversation.created") && d.conversation) {
      var c = d.conversation, before = assignees[c.id];
      assignees[c.id] = c.assignee_id;
      if (c.assignee_id === S.me.id && before !== S.me.id) notify(t("assignedToYou"), c.subject || c.id.slice(0, 8), c.id);
    }
  }
  function toggleAway() {
    var away = S.presence[S.me.id] !== "away";
    S.presence[S.me.id] = away ? "away" : "online";
    if (S.socket && S.socket.readyState === 1) S.socket.send(JSON.stringify({ type: "presence", status: away ? "away" : "online" }));
    updatePresenceDot();
  }
  function updatePresenceDot() { if (els.presence) els.presence.className = "presence" + (S.presence[S.me.id] === "away" ? " away" : ""); }

  /* ---------- Settings (admins) ---------- */
  function renderSettings() {
    var el = els.settings;
    // Saving re-reads the section: the reader stays where they were while its rows load again.
    var same = el.getAttribute("data-section") === S.section, y = same ? el.scrollTop : 0;
    el.setAttribute("data-section", S.section);
    var keep = el.scrollHeight;
    el.textContent = "";
    el.appendChild(h("nav", null, ["agents", "teams", "channels", "canned", "knowledge", "tokens", "jobs", "audit"].map(function (k) {
      return h("button", { class: S.section === k ? "primary" : "", text: t(k), onclick: function () { S.section = k; renderSettings(); } });
    })));
    var body = h("div");
    el.appendChild(body);
    if (same) {
      // Room below the rows while they load, so the scroll position holds; gone once they are back.
      // (Set through the style object: the page's content security policy refuses style attributes.)
      var spacer = h("div", { "aria-hidden": "true" });
      spacer.style.height = keep + "px";
      el.appendChild(spacer);
      el.scrollTop = y;
      setTimeout(function () { var top = el.scrollTop; spacer.remove(); el.scrollTop = top; }, 1500);
    }
    ({ agents: settingsAgents, teams: settingsTeams, channels: settingsChannels, canned: settingsCanned, knowledge: settingsKnowledge, tokens: settingsTokens, jobs: settingsJobs, audit: settingsAudit })[S.section](body);
  }
  // The knowledge base: sources with their status and passages, a playground, and the gaps list.
  function settingsKnowledge(body) {
    var title = h("input", { placeholder: t("title"), required: true });
    var kind = h("select", { "aria-label": t("kind") }, ["markdown", "text", "html", "faq_csv"].map(function (k) { return h("option", { value: k, text: word("sk_", k) }); }));
    var url = h("input", { placeholder: t("url"), type: "url" });
    var content = h("textarea", { placeholder: t("content"), required: true, rows: "5" });
    var form = h("form", { class: "row kb-add" }, title, kind, url, content, h("button", { class: "primary", text: t("add") }));
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      api("POST", "/api/v1/kb/sources", { kind: kind.value, title: title.value, content: content.value, url: url.value || null }).then(function () { renderSettings(); }, fail);
    });
    body.appendChild(h("h3", { text: t("sources") }));
    body.appendChild(form);
    // Files are sent as they are; the server reads their text and says why when it cannot.
    var picker = h("input", { type: "file", multiple: true, accept: ".pdf,.docx,.xlsx,.md,.txt,.html,.htm,.csv", class: "hidden", "data-action": "kb-files" });
    picker.addEventListener("change", function () {
      Array.prototype.forEach.call(picker.files, function (file) {
        fetch("/api/v1/kb/files?name=" + encodeURIComponent(file.name), { method: "POST", body: file, credentials: "same-origin",
          headers: { "content-type": "application/octet-stream", "x-csrf-token": S.csrf } })
          .then(function (r) { return r.json().then(function (j) { if (!r.ok) throw { error: j.error }; return j; }); })
          .then(function (src) { toast(t("uploaded") + src.title); sources(); }, fail);
      });
      picker.value = "";
    });
    body.appendChild(h("div", { class: "row" }, h("button", { text: t("upload"), onclick: function () { picker.click(); } }), picker, h("span", { class: "muted", text: t("uploadHint") })));
    var siteTitle = h("input", { placeholder: t("title"), required: true });
    var siteUrl = h("input", { placeholder: t("siteUrl"), type: "url", required: true });
    var pages = h("input", { type: "number", min: "1", max: "500", value: "50", "aria-label": t("pageLimit"), title: t("pageLimit"), class: "narrow" });
    var site = h("form", { class: "row kb-site" }, h("b", { text: t("website") }), siteTitle, siteUrl, pages, h("button", { text: t("crawl") }));
    site.addEventListener("submit", function (e) {
      e.preventDefault();
      api("POST", "/api/v1/kb/sources", { kind: "website", title: siteTitle.value, url: siteUrl.value, page_limit: Number(pages.value) }).then(function () { renderSettings(); }, fail);
    });
    body.appendChild(site);
    var list = h("div");
    body.appendChild(list);
    function sources() {
      api("GET", "/api/v1/kb/sources").then(function (r) {
        list.textContent = "";
        list.appendChild(table([t("title"), t("kind"), t("status"), t("passages"), ""], r.items.map(function (s) {
          var preview = h("td", { colspan: "5", class: "passages hidden" });
          var row = h("tr", null, h("td", { text: s.title }), h("td", { text: word("sk_", s.kind) }),
            h("td", { class: "kb-status " + s.status, text: sourceStatus(s) }), h("td", { text: String(s.chunk_count) }),
            h("td", null, h("button", { text: t("passages"), onclick: function () {
              preview.classList.toggle("hidden");
              api("GET", "/api/v1/kb/sources/" + s.id + "/chunks").then(function (c) {
                preview.textContent = "";
                c.items.forEach(function (p) { preview.appendChild(h("div", { class: "passage" }, h("b", { text: p.heading }), p.url ? h("div", { class: "muted", text: p.url }) : null, h("div", { text: p.text }))); });
              }, fail);
            } }), h("button", { text: t("sync"), onclick: function () { api("POST", "/api/v1/kb/sources/" + s.id + "/sync", {}).then(sources, fail); } }),
            confirmButton(t("remove"), "delete-source", t("deleteWarn"), t("deleteNow"), function () { api("DELETE", "/api/v1/kb/sources/" + s.id).then(sources, fail); })));
          return [row, h("tr", null, preview)];
        }).reduce(function (a, b) { return a.concat(b); }, [])));
        if (r.items.some(function (s) { return s.status === "queued" || s.status === "processing"; })) setTimeout(function () { if (S.section === "knowledge") sources(); }, 1000);
        else heldList();
      }, fail);
    }
    sources();
    // Without its models the knowledge base is off: say so before anything else.
    fetch("/readyz", { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (r) {
      if (r.knowledge === "unavailable") body.insertBefore(h("p", { class: "warning", role: "alert", text: t("modelsOff") }), body.firstChild);
    }, function () {});

    // Passages held for review, with the reason; approving one makes it searchable at once.
    body.appendChild(h("h3", { text: t("held") }));
    body.appendChild(h("p", { class: "muted", text: t("heldHint") }));
    var held = h("div", { class: "held" });
    body.appendChild(held);
    function heldList() {
      api("GET", "/api/v1/kb/held").then(function (r) {
        held.textContent = "";
        if (!r.items.length) { held.appendChild(h("p", { class: "muted", text: t("noHeld") })); return; }
        held.appendChild(table([t("passages"), t("reason"), ""], r.items.map(function (p) {
          return h("tr", null, h("td", null, h("b", { text: p.heading }), h("div", { text: p.text })), h("td", { class: "reason", text: heldReason(p) }),
            h("td", null, h("button", { class: "primary", "data-action": "approve-passage", text: t("approve"), onclick: function () {
              api("POST", "/api/v1/kb/chunks/" + p.id + "/approve", {}).then(function () { toast(t("saved")); heldList(); }, fail);
            } })));
        })));
      }, fail);
    }

    body.appendChild(h("h3", { text: t("playground") }));
    var q = h("input", { placeholder: t("ask") + "…", "aria-label": t("playground"), required: true });
    var out = h("div", { class: "playground" });
    var ask = h("form", { class: "row" }, q, h("button", { class: "primary", text: t("ask") }));
    ask.addEventListener("submit", function (e) {
      e.preventDefault();
      api("POST", "/api/v1/kb/answer", { question: q.value }).then(function (a) {
        out.textContent = "";
        out.appendChild(h("div", { class: "answer " + (a.answered ? "ok" : "no") }, h("b", { text: (a.answered ? t("answer") : t("notFound")) + " · " + t("confidence") + " " + a.confidence.toFixed(2) + " · " + a.method }), h("p", { text: a.text })));
        out.appendChild(table(["#", t("passages"), "BM25", "vector", "score"], a.passages.map(function (p, i) {
          var cited = a.citations.some(function (c) { return c.chunk_id === p.chunk_id; });
          return h("tr", { class: cited ? "cited" : "" }, h("td", { text: String(i + 1) + (cited ? " ✓" : "") }), h("td", null, h("b", { text: p.heading }), h("div", { class: "muted", text: p.text })),
            h("td", { text: p.bm25_rank ? "#" + p.bm25_rank + " · " + p.bm25_score.toFixed(2) : "–" }),
            h("td", { text: p.vector_rank ? "#" + p.vector_rank + " · " + p.similarity.toFixed(2) : "–" }), h("td", { text: p.score.toFixed(4) }));
        })));
      }, fail);
    });
    body.appendChild(ask);
    body.appendChild(out);

    // The workspace's own chat model and answer mode; the key is write-only.
    body.appendChild(h("h3", { text: t("aiModel") }));
    var mode = h("select", { "aria-label": t("answerMode") }, [["", t("nodeDefault")], ["extractive", t("extractive")], ["generative", t("generative")], ["auto", t("auto")]].map(function (o) { return h("option", { value: o[0], text: o[1] }); }));
    var base = h("input", { type: "url", placeholder: "https://api.deepseek.com/v1", "aria-label": t("providerUrl") });
    var model = h("input", { placeholder: t("providerModel"), "aria-label": t("providerModel") });
    var key = h("input", { type: "password", autocomplete: "off", placeholder: t("apiKey"), "aria-label": t("apiKey") });
    var wsTone = h("input", { placeholder: t("tonePh"), "aria-label": t("wsTone"), maxlength: "200" });
    var eBase = h("input", { type: "url", placeholder: "http://127.0.0.1:11434/v1", "aria-label": t("embedUrl") });
    var eModel = h("input", { placeholder: t("providerModel"), "aria-label": t("embedModel") });
    var eKey = h("input", { type: "password", autocomplete: "off", placeholder: t("apiKey"), "aria-label": t("embedKey") });
    var minConf = h("input", { type: "number", min: "0", max: "1", step: "0.05", placeholder: "0.70", title: t("minConf"), "aria-label": t("minConf"), class: "narrow" });
    var check = h("div", { class: "muted model-check" });
    var usage = h("div", { class: "muted" });
    var aiForm = h("form", { class: "ai-settings" }, h("div", { class: "row" }, mode, minConf, wsTone), check, h("div", { class: "row" }, base, model, key),
      h("div", { class: "row" }, h("span", { class: "muted", text: t("embeddings") }), eBase, eModel, eKey, h("button", { text: t("save") })));
    function provider(b, m, k) {
      if (!b.value.trim()) return null;
      var p = { base_url: b.value.trim(), model: m.value.trim() };
      if (k.value) p.api_key = k.value;
      return p;
    }
    function showKey(k, p) { k.value = ""; k.placeholder = p && p.api_key_set ? t("keySaved") : t("apiKey"); }
    aiForm.addEventListener("submit", function (e) {
      e.preventDefault();
      api("PUT", "/api/v1/ai/settings", { answer_mode: mode.value || null, min_confidence: minConf.value === "" ? null : Number(minConf.value), tone: wsTone.value.trim() || null, chat: provider(base, model, key), embeddings: provider(eBase, eModel, eKey) })
        .then(function (v) { showKey(key, v.chat); showKey(eKey, v.embeddings); showCheck(v); toast(t("saved")); }, fail);
    });
    // What the strength check found for the chat model (the auto mode writes answers only when it passed).
    function showCheck(v) {
      var c = v.model_check;
      check.textContent = !c ? "" : c.running ? t("checking") : t(c.strong ? "strong" : "weak").replace("{0}", c.passed).replace("{1}", c.total);
      if (c && c.running) setTimeout(function () { api("GET", "/api/v1/ai/settings").then(showCheck, function () {}); }, 2000);
    }
    api("GET", "/api/v1/ai/settings").then(function (v) {
      mode.value = v.answer_mode || "";
      minConf.value = v.min_confidence == null ? "" : String(v.min_confidence);
      showCheck(v);
      wsTone.value = v.tone || "";
      if (v.chat) { base.value = v.chat.base_url; model.value = v.chat.model; showKey(key, v.chat); }
      if (v.embeddings) { eBase.value = v.embeddings.base_url; eModel.value = v.embeddings.model; showKey(eKey, v.embeddings); }
    }, fail);
    api("GET", "/api/v1/ai/usage?days=30").then(function (r) {
      var sum = r.items.reduce(function (a, u) { return [a[0] + u.requests, a[1] + u.prompt_tokens + u.completion_tokens]; }, [0, 0]);
      usage.textContent = t("usage30") + ": " + sum[0] + " " + t("requests") + ", " + sum[1] + " tokens";
    }, fail);
    body.appendChild(aiForm);
    body.appendChild(usage);

    // Answers agents gave in resolved conversations: they count once an admin approves them.
    body.appendChild(h("h3", { text: t("candidates") }));
    var cands = h("div", { class: "candidates" });
    // Mining runs in the background: its progress shows until it is done.
    var mineButton = h("button", { "data-action": "mine", text: t("mineNow"), onclick: function () {
      api("POST", "/api/v1/kb/candidates/mine", {}).then(mineProgress, fail);
    } });
    var mineStatus = h("span", { class: "muted", role: "status" });
    function mineProgress(run) {
      var going = run.state === "running" || run.state === "queued";
      mineButton.disabled = going;
      mineStatus.textContent = run.state === "running" ? t("mining").replace("{0}", run.conversations_read) : run.state === "queued" ? t("st_queued") : "";
      if (going) setTimeout(function () { if (S.section === "knowledge") api("GET", "/api/v1/kb/candidates/mine").then(mineProgress, fail); }, 1000);
      else if (run.state === "done") { toast(t("mined") + run.report.added.length); candidates(); }
      else if (run.state === "failed") toast(run.error);
    }
    body.appendChild(h("div", { class: "row" }, mineButton, mineStatus));
    body.appendChild(cands);
    function candidates() {
      api("GET", "/api/v1/kb/candidates").then(function (r) {
        cands.textContent = "";
        if (!r.items.length) { cands.appendChild(h("p", { class: "muted", text: t("noCandidates") })); return; }
        cands.appendChild(table([t("question"), t("answer"), t("fit"), ""], r.items.map(function (c) {
          var q = h("textarea", { rows: "2", "aria-label": t("question") }); q.value = c.question;
          var a = h("textarea", { rows: "3", "aria-label": t("answer") }); a.value = c.answer;
          function decide(approve) {
            api("POST", "/api/v1/kb/candidates/" + c.id + "/decision", approve ? { approve: true, question: q.value.trim(), answer: a.value.trim() } : { approve: false })
              .then(function () { toast(t("saved")); candidates(); if (approve) sources(); }, fail);
          }
          // How likely the reply answers the question: the likely ones come first.
          var fit = c.confidence == null ? "–" : Math.round(c.confidence * 100) + "% · " + t(c.recommended ? "likely" : "unlikely");
          return h("tr", { class: "candidate" + (c.recommended ? "" : " unlikely") }, h("td", null, q, c.asked > 1 ? h("div", { class: "muted", text: c.asked + " " + t("asked") }) : null), h("td", null, a),
            h("td", { class: "fit", text: fit }), h("td", null,
            h("button", { class: "primary", "data-action": "approve", text: t("approve"), onclick: function () { decide(true); } }),
            h("button", { "data-action": "reject", text: t("reject"), onclick: function () { decide(false); } })));
        })));
      }, fail);
    }
    candidates();

    body.appendChild(h("h3", { text: t("gaps") }));
    var gaps = h("div", { class: "gaps" });
    body.appendChild(gaps);
    api("GET", "/api/v1/kb/gaps").then(function (r) {
      if (!r.items.length) { gaps.appendChild(h("p", { class: "muted", text: t("noGaps") })); return; }
      gaps.appendChild(table([t("question"), "", ""], r.items.map(function (g) {
        var cell = h("td");
        var write = function () {
          cell.textContent = "";
          cell.appendChild(h("button", { "data-action": "write-answer", text: t("writeAnswer"), onclick: function () {
            cell.textContent = "";
            cell.appendChild(answerForm(t("answerPrompt"), "", function (answer) {
              api("POST", "/api/v1/kb/gaps/answer", { question: g.question, answer: answer, question_ids: g.question_ids }).then(function () { toast(t("saved")); renderSettings(); }, fail);
            }, write));
          } }));
        };
        write();
        return h("tr", null, h("td", null, h("b", { text: g.question }), h("div", { class: "muted", text: g.examples.join(" / ") })), h("td", { text: g.count + " " + t("asked") }), cell);
      })));
    }, fail);
  }
  // A server error in the interface's language: the sentence for its code, with the server's detail (which
  // names the field or the limit) after it; the detail alone where the code has no sentence.
  // What went wrong, from the server's stable code. In Chinese the server's English detail is left out:
  // the field at fault (from the error's field, or the path its message starts with) is named instead.
  function errorText(x, fallback) {
    var e = (x && x.error) || {}, said = e.code ? word("err_", e.code) : "";
    if (lang !== "zh") return said && said !== e.code ? said + (e.message ? ": " + e.message : "") : e.message || t(fallback || "failed");
    if (!said || said === e.code) return t(fallback || "failed");
    var path = e.field || (/^([a-z_]+)(\[\d+\])?(\.[a-z_]+)?:/.exec(e.message || "") || [])[0] || "";
    var field = String(path).replace(/:$/, "").replace(/\[\d+\]/g, "").split(".")[0];
    var named = field ? word("fld_", field) : "";
    return named && named !== field ? said + "：" + named : said;
  }
  function fail(x) { toast(errorText(x)); }
  // A table, or a line saying that there is nothing in it yet.
  function table(head, rows) {
    var body = rows.length ? rows : [h("tr", { class: "empty" }, h("td", { class: "muted", colspan: String(head.length), text: t("emptyTable") }))];
    return h("table", null, h("thead", null, h("tr", null, head.map(function (x) { return h("th", { text: x }); }))), h("tbody", null, body));
  }
  function settingsAgents(body) {
    api("GET", "/api/v1/users?limit=100").then(function (r) {
      S.users = r.items;
      var name = h("input", { placeholder: t("name"), required: true }), email = h("input", { type: "email", placeholder: t("email"), required: true });
      var pw = h("input", { type: "password", placeholder: t("newPassword"), minlength: "10", required: true });
      var role = roleSelect();
      var form = h("form", { class: "row" }, name, email, pw, role, h("button", { class: "primary", text: t("add") }));
      form.addEventListener("submit", function (e) { e.preventDefault(); api("POST", "/api/v1/users", { name: name.value, email: email.value, password: pw.value, role: role.value }).then(function () { toast(t("saved")); renderSettings(); }, fail); });
      body.appendChild(form);
      // The status is shown as a status; the button says what it does, and deactivating asks first.
      body.appendChild(table([t("name"), t("email"), t("role"), t("status"), ""], r.items.map(function (u) {
        var toggle = function () { api("PATCH", "/api/v1/users/" + u.id, { active: !u.active }).then(function () { renderSettings(); }, fail); };
        return h("tr", null, h("td", { text: u.name }), h("td", { text: u.email }), h("td", { text: roleName(u.role) }),
          h("td", { class: u.active ? "" : "muted", text: u.active ? t("active") : t("inactive") }),
          h("td", null, u.id === S.me.id ? null : u.active
            ? confirmButton(t("deactivate"), "deactivate", t("deactivateWarn"), t("deactivateNow"), toggle)
            : h("button", { "data-action": "reactivate", text: t("reactivate"), onclick: toggle })));
      })));
    });
  }
  function settingsTeams(body) {
    api("GET", "/api/v1/teams").then(function (r) {
      S.teams = r.items;
      var name = h("input", { placeholder: t("name"), required: true });
      var form = h("form", { class: "row" }, name, h("button", { class: "primary", text: t("create") }));
      form.addEventListener("submit", function (e) { e.preventDefault(); api("POST", "/api/v1/teams", { name: name.value }).then(function () { renderSettings(); }, fail); });
      body.appendChild(form);
      body.appendChild(table([t("name"), t("members"), ""], r.items.map(function (team) {
        // Ticking a member changes nothing until "Save members": one click never replaces the team.
        var boxes = S.users.map(function (u) { return h("input", { type: "checkbox", value: u.id, checked: team.member_ids.indexOf(u.id) >= 0 }); });
        var ticked = function () { return boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; }); };
        var save = h("button", { class: "primary", "data-action": "save-members", disabled: true, text: t("saveMembers") });
        var pick = h("div", { class: "member-pick", role: "group", "aria-label": t("members") + " · " + team.name },
          h("div", { class: "checks" }, boxes.map(function (b, i) { return h("label", null, b, " " + S.users[i].name + (S.users[i].active ? "" : " (" + t("inactive") + ")")); })), save);
        var changed = function () { return ticked().sort().join() !== team.member_ids.slice().sort().join(); };
        boxes.forEach(function (b) { b.addEventListener("change", function () { save.disabled = !changed(); }); });
        save.addEventListener("click", function () {
          var ids = ticked();
          save.disabled = true;
          api("PATCH", "/api/v1/teams/" + team.id, { member_ids: ids }).then(function () { team.member_ids = ids; toast(t("saved")); }, function (x) { save.disabled = false; fail(x); });
        });
        return h("tr", null, h("td", { text: team.name }), h("td", null, pick), h("td", null, confirmButton(t("remove"), "delete-team", t("deleteWarn"), t("deleteNow"), function () { api("DELETE", "/api/v1/teams/" + team.id).then(function () { renderSettings(); }, fail); })));
      })));
    });
  }
  function settingsChannels(body) {
    api("GET", "/api/v1/channels").then(function (r) {
      S.channels = r.items;
      var name = h("input", { placeholder: t("name"), required: true });
      var kind = h("select", { "aria-label": t("kind") }, ["web_widget", "email", "wechat", "mini_program", "douyin", "xiaohongshu", "kuaishou", "phone", "api"].map(function (k) { return h("option", { value: k, text: channelKind(k) }); }));
      var team = h("select", { "aria-label": t("teams") }, [h("option", { value: "", text: t("noTeam") })].concat(S.teams.map(function (x) { return h("option", { value: x.id, text: x.name }); })));
      var form = h("form", { class: "row" }, name, kind, team, h("button", { class: "primary", text: t("create") }));
      form.addEventListener("submit", function (e) { e.preventDefault(); api("POST", "/api/v1/channels", { name: name.value, kind: kind.value, team_id: team.value || null }).then(function () { renderSettings(); }, fail); });
      body.appendChild(form);
      body.appendChild(table([t("name"), t("kind"), t("aiAgent"), t("snippet")], r.items.map(function (c) {
        var cell = h("td");
        if (c.kind === "web_widget") {
          var show = function (setup) {
            cell.textContent = "";
            cell.appendChild(h("pre", { class: "snippet", text: setup.snippet }));
            cell.appendChild(h("button", { text: t("copy"), onclick: function () {
              (navigator.clipboard ? navigator.clipboard.writeText(setup.snippet) : Promise.reject()).then(function () { toast(t("copied")); }, function () { toast(setup.snippet); });
            } })); cell.appendChild(h("div", { class: "muted", text: t("secret") + ": " + setup.secret })); cell.appendChild(rotateButton()); };
          // Rotating the secret signs out the visitors the site vouched for: the first click says so and asks again.
          var rotateButton = function () {
            return confirmButton(t("rotate"), "rotate", t("rotateWarn"), t("rotateConfirm"), function () { api("POST", "/api/v1/channels/" + c.id + "/widget/secret", {}).then(show, fail); });
          };
          api("GET", "/api/v1/channels/" + c.id + "/widget").then(show, fail);
        }
        // The AI agent: on or off, and how its answers should sound.
        var bot = (c.settings && c.settings.bot) || {};
        var on = h("input", { type: "checkbox", "aria-label": t("aiAgent"), "data-action": "bot-enabled" });
        on.checked = !!bot.enabled;
        var tone = h("input", { placeholder: t("tonePh"), "aria-label": t("tone"), maxlength: "200", value: bot.tone || "" });
        var asks = h("textarea", { placeholder: t("suggestionsPh"), "aria-label": t("suggestions"), rows: "3", "data-action": "bot-suggestions" });
        asks.value = (bot.suggestions || []).join("\n");
        var ai = h("td", { class: "bot-settings" }, h("label", null, on, " " + t("aiAgent")), tone, h("button", { text: t("save"), onclick: function () {
          var settings = Object.assign({}, c.settings || {});
          settings.bot = Object.assign({}, bot, { enabled: on.checked });
          if (tone.value.trim()) settings.bot.tone = tone.value.trim(); else delete settings.bot.tone;
          var questions = asks.value.split("\n").map(function (q) { return q.trim(); }).filter(Boolean);
          if (questions.length) settings.bot.suggestions = questions; else delete settings.bot.suggestions;
          api("PATCH", "/api/v1/channels/" + c.id, { settings: settings }).then(function (u) { c.settings = u.settings; toast(t("saved")); }, fail);
        } }), asks);
        return h("tr", null, h("td", { text: c.name }), h("td", { text: channelKind(c.kind) }), ai, cell);
      })));
    });
  }
  function settingsCanned(body) {
    api("GET", "/api/v1/canned-responses").then(function (r) {
      var sc = h("input", { placeholder: t("shortcut"), required: true }), content = h("input", { placeholder: t("content"), required: true });
      var form = h("form", { class: "row" }, sc, content, h("button", { class: "primary", text: t("add") }));
      form.addEventListener("submit", function (e) { e.preventDefault(); api("POST", "/api/v1/canned-responses", { shortcut: sc.value, content: content.value }).then(function () { renderSettings(); }, fail); });
      body.appendChild(form);
      body.appendChild(table([t("shortcut"), t("content"), ""], r.items.map(function (c) {
        return h("tr", null, h("td", { text: "/" + c.shortcut }), h("td", { text: c.content }), h("td", null, confirmButton(t("remove"), "delete-reply", t("deleteWarn"), t("deleteNow"), function () { api("DELETE", "/api/v1/canned-responses/" + c.id).then(function () { renderSettings(); }, fail); })));
      })));
    });
  }
  function settingsTokens(body) {
    var name = h("input", { placeholder: t("name"), required: true });
    var role = roleSelect();
    var shown = h("div"), list = h("div");
    var form = h("form", { class: "row" }, name, role, h("button", { class: "primary", text: t("create") }));
    // The new token's secret stays shown (once) while the list below gains its row.
    form.addEventListener("submit", function (e) { e.preventDefault(); api("POST", "/api/v1/api-tokens", { name: name.value, role: role.value }).then(function (x) { shown.textContent = ""; shown.appendChild(h("p", { text: t("shown") })); shown.appendChild(h("pre", { text: x.secret })); form.reset(); tokens(); }, fail); });
    body.appendChild(form);
    body.appendChild(shown);
    body.appendChild(list);
    function tokens() {
      api("GET", "/api/v1/api-tokens").then(function (r) {
        list.textContent = "";
        list.appendChild(table([t("name"), t("role"), t("created"), ""], r.items.map(function (k) {
          return h("tr", null, h("td", { text: k.name + " (" + k.prefix + "…)" }), h("td", { text: roleName(k.role) }),
            h("td", { text: when(k.created_at) + (k.revoked_at ? " · " + t("revokedAt") + " " + when(k.revoked_at) : "") }),
            h("td", null, k.revoked_at ? null : confirmButton(t("revoke"), "revoke-token", t("revokeWarn"), t("revokeNow"), function () { api("DELETE", "/api/v1/api-tokens/" + k.id).then(tokens, fail); })));
        })));
      }, fail);
    }
    tokens();
  }


  // The background job queue: what waits, runs, finished or failed (a failed job can be retried).
  function settingsJobs(body) {
    // Indexing jobs name their source: the titles come from the knowledge sources (none without models).
    var sources = api("GET", "/api/v1/kb/sources").then(function (r) { return r.items; }, function () { return []; });
    Promise.all([api("GET", "/api/v1/jobs?lane=background"), sources]).then(function (got) {
      var r = got[0], titles = {};
      got[1].forEach(function (s) { titles[s.id] = s.title; });
      if (!r.items.length) { body.appendChild(h("p", { class: "muted", text: t("noJobs") })); return; }
      body.appendChild(table([t("job"), t("state"), t("attempts"), t("created"), t("detail"), ""], r.items.map(function (j) {
        var res = j.state === "done" ? j.result || {} : {};
        var detail = res.added ? t("jobAdded").replace("{0}", res.added.length)
          : res.status === "indexed" ? (res.passages === 1 ? t("jobPassage") : t("jobPassages").replace("{0}", res.passages))
          : res.status === "failed" ? t("jobUnreadable").replace("{0}", res.reason)
          : res.status === "deleted" ? t("jobSourceGone")
          : j.state === "running" && j.progress && j.progress.conversations_read != null ? t("mining").replace("{0}", j.progress.conversations_read)
          : j.error || "";
        var name = j.kind === "index_source" && titles[j.payload.source]
          ? t("jobOf").replace("{0}", t("job_" + j.kind)).replace("{1}", titles[j.payload.source]) : t("job_" + j.kind);
        return h("tr", { class: "job " + j.state }, h("td", { text: name }), h("td", { text: t("jst_" + j.state) }),
          h("td", { text: j.attempts + " / " + j.max_attempts }), h("td", { text: when(j.created_at) }),
          h("td", { text: detail }),
          // A failed job, or one waiting out its back-off after a failed attempt, can be run again now.
          h("td", null, j.state === "failed" || (j.state === "pending" && j.attempts > 0 && j.error) ? h("button", { "data-action": "retry-job", text: t(j.state === "failed" ? "retryJob" : "retryNow"), onclick: function () { api("POST", "/api/v1/jobs/" + j.id + "/retry", {}).then(function () { renderSettings(); }, fail); } }) : null));
      })));
      if (r.items.some(function (j) { return j.state === "pending" || j.state === "running"; })) setTimeout(function () { if (S.section === "jobs" && S.view === "settings") renderSettings(); }, 2000);
    }, fail);
  }

  // The audit log: who changed what, and when, newest first, by area; older entries load on demand.
  var AREAS = ["people", "channels", "contacts", "conversations", "messages", "knowledge", "saved_replies", "jobs"];
  function settingsAudit(body) {
    var area = h("select", { "aria-label": t("auditArea"), "data-action": "audit-area", onchange: function () { S.auditArea = area.value; load(null); } },
      [h("option", { value: "", text: t("auditAll") })].concat(AREAS.map(function (a) { return h("option", { value: a, selected: S.auditArea === a, text: t("area_" + a) }); })));
    var rows = h("tbody"), more = h("div");
    body.appendChild(h("div", { class: "row" }, area));
    body.appendChild(h("table", { class: "audit" }, h("thead", null, h("tr", null, [t("auditWhen"), t("auditWho"), t("auditWhat"), t("auditChange")].map(function (x) { return h("th", { text: x }); }))), rows));
    body.appendChild(more);
    var who = function (a) {
      return a.type === "user" ? userName(a.id) || roleName("agent") : a.type === "api_token" ? t("actorToken") : a.type === "contact" ? t("actorCustomer") : t("actorSystem");
    };
    // A change as "field: before → after", or the fields given.
    var change = function (d) {
      return Object.keys(d || {}).map(function (k) {
        // Agents are named rather than shown by id.
        var name = function (x) { return typeof x === "string" && userName(x) || x; };
        var v = d[k], show = function (x) { return x == null ? "—" : Array.isArray(x) ? x.map(name).join(", ") : typeof x === "object" ? JSON.stringify(x) : String(name(x)); };
        var field = word("fld_", k);
        return v && typeof v === "object" && ("from" in v || "to" in v) ? field + ": " + show(v.from) + " → " + show(v.to) : field + ": " + show(v);
      }).join("; ").slice(0, 300);
    };
    function load(before) {
      var q = "/api/v1/events?limit=50&before=" + (before || "9223372036854775807") + (S.auditArea ? "&area=" + S.auditArea : "");
      api("GET", q).then(function (r) {
        if (!before) rows.textContent = "";
        r.items.forEach(function (e) {
          rows.appendChild(h("tr", { "data-kind": e.kind }, h("td", { text: when(e.created_at) }), h("td", { text: who(e.actor) }),
            h("td", { title: e.kind }, word("ev_", e.kind.replace(/\./g, "__"))), h("td", { class: "muted", text: change(e.data) })));
        });
        if (!rows.children.length) rows.appendChild(h("tr", { class: "empty" }, h("td", { class: "muted", colspan: "4", text: t("noEvents") })));
        more.textContent = "";
        if (r.items.length === 50) more.appendChild(h("button", { class: "ghost", "data-action": "older-events", text: t("moreRows"), onclick: function () { load(r.items[r.items.length - 1].id); } }));
      }, fail);
    }
    load(null);
  }

  // A person's initials, for their avatar: the first letters of two words, or the first character of a
  // Chinese name.
  function initials(name) {
    var words = String(name || "?").trim().split(/\s+/);
    return /^[A-Za-z]/.test(words[0]) ? (words[0][0] + (words[1] ? words[1][0] : "")).toUpperCase() : words[0].slice(0, 1);
  }
  // The signed-in agent's own settings: name, language, notifications, password.
  function renderProfile() {
    var el = els.settings;
    el.appendChild(h("h2", { text: t("profile") }));
    var name = h("input", { placeholder: t("profileName"), value: S.me.name, required: true, maxlength: "200" });
    var nameForm = h("form", { class: "contact-form profile" }, h("label", null, h("span", { class: "muted", text: t("profileName") }), name),
      h("button", { class: "primary", "data-action": "save-profile", text: t("save") }));
    nameForm.addEventListener("submit", function (e) {
      e.preventDefault();
      api("PATCH", "/api/v1/auth/me", { name: name.value.trim() }).then(function (u) {
        S.me.name = u.name;
        S.users.forEach(function (x) { if (x.id === u.id) x.name = u.name; });
        toast(t("saved"));
        renderShell();
      }, fail);
    });
    var language = h("select", { "aria-label": t("language"), "data-action": "profile-language", onchange: function () {
      lang = language.value; localStorage.setItem("lianluo:lang", lang); document.documentElement.lang = lang === "zh" ? "zh-CN" : "en"; renderShell();
    } }, h("option", { value: "zh", selected: lang === "zh", text: "中文" }), h("option", { value: "en", selected: lang === "en", text: "English" }));
    var notify = h("input", { type: "checkbox", "aria-label": t("notifyLabel"), checked: notifying(), onchange: function () { toggleNotifications(); } });
    var current = h("input", { type: "password", placeholder: t("currentPassword"), autocomplete: "current-password", required: true });
    var next = h("input", { type: "password", placeholder: t("ownNewPassword"), autocomplete: "new-password", minlength: "10", required: true });
    var pwForm = h("form", { class: "contact-form profile" }, h("h3", { text: t("changePassword") }),
      h("label", null, h("span", { class: "muted", text: t("currentPassword") }), current), h("label", null, h("span", { class: "muted", text: t("ownNewPassword") }), next),
      h("button", { "data-action": "change-password", text: t("changePassword") }));
    pwForm.addEventListener("submit", function (e) {
      e.preventDefault();
      // Every session of the user ends, this one too: they sign in again with the new password.
      api("POST", "/api/v1/auth/password", { current_password: current.value, new_password: next.value }).then(function () {
        toast(t("passwordChanged")); renderLogin();
      }, fail);
    });
    el.appendChild(nameForm);
    el.appendChild(h("div", { class: "contact-form profile" }, h("label", null, h("span", { class: "muted", text: t("language") }), language),
      h("label", { class: "check" }, notify, " " + t("notifyLabel"))));
    el.appendChild(pwForm);
  }

  /* ---------- Contacts ---------- */
  // Every customer in one list: search, add and edit, import and export as CSV, and their conversations.
  function renderContacts() {
    var el = els.settings;
    var search = h("input", { type: "search", placeholder: t("contactSearch"), value: S.contactQ || "" });
    var timer;
    search.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(function () { S.contactQ = search.value.trim(); loadContacts(true); }, 250); });
    var picker = h("input", { type: "file", accept: ".csv,text/csv", class: "hidden", "aria-label": t("importCsv") });
    picker.addEventListener("change", function () { var f = picker.files[0]; picker.value = ""; if (f) f.text().then(importContacts); });
    el.appendChild(h("header", { class: "row contacts-head" }, h("h2", { text: t("contacts") }), search,
      h("button", { class: "primary", "data-action": "new-contact", text: t("newContact"), onclick: function () { S.contactId = "new"; renderContactCard(); } }),
      h("button", { "data-action": "import-contacts", text: t("importCsv"), onclick: function () { picker.click(); } }), picker,
      h("button", { "data-action": "export-contacts", text: t("exportCsv"), onclick: exportContacts })));
    els.contactRows = h("div", { class: "contact-list" });
    els.contactCard = h("section", { class: "contact-card", "aria-label": t("contact") });
    el.appendChild(h("div", { class: "contacts-body" }, els.contactRows, els.contactCard));
    loadContacts(true);
    renderContactCard();
  }
  // The contacts the search finds, a page of `limit` from `cursor`.
  function contactsUrl(limit, cursor) {
    return "/api/v1/contacts?limit=" + limit + (S.contactQ ? "&q=" + encodeURIComponent(S.contactQ) : "") + (cursor ? "&cursor=" + cursor : "");
  }
  function identitiesOf(c, kind) { return (c.identities || []).filter(function (i) { return i.kind === kind; }).map(function (i) { return i.value; }); }
  function loadContacts(reset) {
    api("GET", contactsUrl(50, !reset && S.contactCursor)).then(function (page) {
      S.contacts = reset ? page.items : (S.contacts || []).concat(page.items);
      S.contactCursor = page.next_cursor;
      if (!els.contactRows) return;
      els.contactRows.textContent = "";
      els.contactRows.appendChild(table([t("name"), t("email"), t("phone"), t("tagList"), t("created")], S.contacts.map(function (c) {
        var open = function () {
          S.contactId = c.id;
          Array.prototype.forEach.call(els.contactRows.querySelectorAll("tr.contact-row"), function (r) { r.classList.toggle("active", r.getAttribute("data-id") === c.id); });
          renderContactCard();
        };
        return h("tr", { class: "contact-row" + (S.contactId === c.id ? " active" : ""), tabindex: "0", "data-id": c.id, onclick: open,
          onkeydown: function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(); } } },
          h("td", { text: contactLabel(c.name, c.id) }), h("td", { text: identitiesOf(c, "email").join(", ") }), h("td", { text: identitiesOf(c, "phone").join(", ") }),
          h("td", null, (c.tags || []).map(function (x) { return h("span", { class: "chip", text: x }); })), h("td", { text: when(c.created_at) }));
      })));
      if (S.contactCursor) els.contactRows.appendChild(h("button", { class: "ghost", "data-action": "more-contacts", text: t("moreRows"), onclick: function () { loadContacts(false); } }));
    }, fail);
  }
  // Lists typed in one box: commas (and, for emails and tags, spaces) separate them.
  function splitList(v, spaces) { return v.split(spaces ? /[,，;；\s]+/ : /[,，;；]+/).map(function (x) { return x.trim(); }).filter(Boolean); }
  function renderContactCard() {
    var card = els.contactCard;
    if (!card) return;
    card.textContent = "";
    if (!S.contactId) { card.appendChild(h("p", { class: "muted", text: t("pickContact") })); return; }
    var isNew = S.contactId === "new";
    (isNew ? Promise.resolve({ identities: [], tags: [], attributes: {} }) : api("GET", "/api/v1/contacts/" + S.contactId)).then(function (c) {
      if (els.contactCard !== card) return;
      var name = h("input", { placeholder: t("name"), value: c.name || "", maxlength: "200" });
      var emails = h("input", { placeholder: t("emails"), value: identitiesOf(c, "email").join(", ") });
      var phones = h("input", { placeholder: t("phones"), value: identitiesOf(c, "phone").join(", ") });
      var tags = h("input", { placeholder: t("tags"), value: (c.tags || []).join(", ") });
      var others = (c.identities || []).filter(function (i) { return i.kind === "external"; });
      var form = h("form", { class: "contact-form" },
        [[t("name"), name], [t("emails"), emails], [t("phones"), phones], [t("tags"), tags]].map(function (f) { return h("label", null, h("span", { class: "muted", text: f[0] }), f[1]); }),
        h("button", { class: "primary", "data-action": "save-contact", text: isNew ? t("create") : t("save") }));
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        // Identities the form does not show (a site's visitor, a channel's user) are kept as they are.
        var body = { name: name.value.trim() || null, tags: splitList(tags.value, true).map(function (x) { return x.toLowerCase(); }),
          identities: others.concat(splitList(emails.value, true).map(function (v) { return { kind: "email", value: v }; }), splitList(phones.value).map(function (v) { return { kind: "phone", value: v }; })) };
        (isNew ? api("POST", "/api/v1/contacts", body) : api("PATCH", "/api/v1/contacts/" + c.id, body)).then(function (saved) {
          toast(t("saved")); S.contactId = saved.id; loadContacts(true); renderContactCard();
        }, fail);
      });
      card.appendChild(h("h3", { text: isNew ? t("newContact") : contactLabel(c.name, c.id) }));
      card.appendChild(form);
      if (isNew) return;
      if (others.length) {
        card.appendChild(h("h4", { text: t("otherIds") }));
        card.appendChild(identityList(others));
      }
      var attrs = Object.keys(c.attributes || {});
      if (attrs.length) {
        card.appendChild(h("h4", { text: t("attributes") }));
        card.appendChild(attributeList(c));
      }
      var convs = h("div", { class: "past" });
      card.appendChild(h("h4", { text: t("past") }));
      card.appendChild(convs);
      api("GET", "/api/v1/inbox?contact_id=" + c.id + "&limit=20").then(function (r) {
        r.items.forEach(function (it) {
          convs.appendChild(h("div", null, h("span", { class: "chip", text: channelName(it.conversation.channel_id) }), " ", h("span", { class: "muted", text: t(it.conversation.status) + " · " + ago(it.conversation.last_activity_at) }), " ",
            h("button", { class: "ghost", "data-action": "open-conversation", text: t("openConv"), onclick: function () { S.view = "inbox"; S.status = ""; S.tab = "all"; renderShell(); loadInbox(true); openConversation(it.conversation.id); } }),
            h("div", { text: it.last_message ? it.last_message.excerpt : "" })));
        });
        if (!r.items.length) convs.appendChild(h("p", { class: "muted", text: t("emptyTable") }));
      });
      if (S.me.role === "admin") card.appendChild(confirmButton(t("remove"), "delete-contact", t("deleteContactWarn"), t("deleteNow"), function () {
        api("DELETE", "/api/v1/contacts/" + c.id).then(function () { S.contactId = null; loadContacts(true); renderContactCard(); }, fail);
      }));
    }, fail);
  }
  // A CSV cell: quoted when it must be, and never read as a formula by a spreadsheet.
  function csvCell(v) {
    v = String(v == null ? "" : v);
    if (/^[=@\t\r]|^[+-][^0-9]/.test(v)) v = "'" + v;
    return /[",\n\r]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v;
  }
  // Every contact matching the search, page by page, as a CSV file (with a byte-order mark, so that
  // spreadsheets read Chinese names right).
  function exportContacts() {
    var rows = [["id", "name", "email", "phone", "tags", "created_at"]];
    var page = function (cursor) {
      return api("GET", contactsUrl(100, cursor)).then(function (r) {
        r.items.forEach(function (c) { rows.push([c.id, c.name || "", identitiesOf(c, "email").join(", "), identitiesOf(c, "phone").join(", "), (c.tags || []).join(", "), c.created_at]); });
        return r.next_cursor && rows.length < 50000 ? page(r.next_cursor) : null;
      });
    };
    page(null).then(function () {
      var text = "\uFEFF" + rows.map(function (r) { return r.map(csvCell).join(","); }).join("\r\n") + "\r\n";
      var href = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
      var a = h("a", { href: href, download: "contacts.csv" });
      document.body.appendChild(a); a.click(); a.remove();
      // The file is handed over; its copy in memory is let go.
      setTimeout(function () { URL.revokeObjectURL(href); }, 10000);
    }, fail);
  }
  // Rows of a CSV text (quoted cells, doubled quotes, CRLF or LF).
  function parseCsv(text) {
    var rows = [], row = [], cell = "", quoted = false;
    text = text.replace(/^\uFEFF/, "");
    for (var i = 0; i < text.length; i++) {
      var ch = text[i];
      if (quoted) {
        if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (ch === '"') quoted = false; else cell += ch;
      } else if (ch === '"') quoted = true;
      else if (ch === ",") { row.push(cell); cell = ""; }
      else if (ch === "\n" || ch === "\r") { if (ch === "\r" && text[i + 1] === "\n") i++; row.push(cell); rows.push(row); row = []; cell = ""; }
      else cell += ch;
    }
    if (cell || row.length) { row.push(cell); rows.push(row); }
    return rows.filter(function (r) { return r.some(function (c) { return c.trim(); }); });
  }
  // Imports contacts from a CSV with a header row (name, email, phone, tags; English or Chinese column
  // names), one by one through the API; rows that fail are reported with their reason, the rest are kept.
  function importContacts(text) {
    var rows = parseCsv(text), head = (rows.shift() || []).map(function (x) { return x.trim().toLowerCase().replace(/^'/, ""); });
    var col = function (names) { for (var i = 0; i < head.length; i++) if (names.indexOf(head[i]) >= 0) return i; return -1; };
    var at = { name: col(["name", "姓名", "名称"]), email: col(["email", "emails", "邮箱"]), phone: col(["phone", "phones", "电话", "手机"]), tags: col(["tags", "tag", "标签"]) };
    if (at.name < 0 && at.email < 0 && at.phone < 0) { toast(t("noContactCols")); return; }
    var get = function (r, k) { return at[k] < 0 ? "" : (r[at[k]] || "").trim().replace(/^'/, ""); };
    var done = 0, failed = [];
    rows.reduce(function (chain, r, n) {
      return chain.then(function () {
        var body = { name: get(r, "name") || null, tags: splitList(get(r, "tags"), true).map(function (x) { return x.toLowerCase(); }),
          identities: splitList(get(r, "email"), true).map(function (v) { return { kind: "email", value: v }; }).concat(splitList(get(r, "phone")).map(function (v) { return { kind: "phone", value: v }; })) };
        return api("POST", "/api/v1/contacts", body).then(function () { done++; }, function (x) { failed.push((n + 2) + ": " + errorText(x)); });
      });
    }, Promise.resolve()).then(function () {
      toast(t("imported").replace("{0}", done));
      if (failed.length) toast(t("importFailed").replace("{0}", failed.length).replace("{1}", failed.slice(0, 3).join("; ")));
      loadContacts(true);
    });
  }

  /* ---------- Keyboard ---------- */
  // The shortcuts, in a dialog that Esc, its close button or a click outside it closes.
  function showHelp() {
    if (document.querySelector(".help")) return;
    var rows = [["j / k", t("kNext")], ["r", t("kReply")], ["n", t("kNote")], ["e", t("kResolve")], ["/", t("kSearch")], ["?", t("kHelp")], ["Esc", t("close")]];
    var onKey = function (e) { if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); close(); } };
    var close = function () { overlay.remove(); document.removeEventListener("keydown", onKey, true); };
    var shut = h("button", { class: "ghost close", "data-action": "close-help", "aria-label": t("close"), text: "✕", onclick: close });
    var overlay = h("div", { class: "help", role: "dialog", "aria-modal": "true", "aria-label": t("keys"), onclick: function (e) { if (e.target === overlay) close(); } },
      h("div", null, shut, h("h3", { text: t("keys") }), rows.map(function (r) { return h("p", null, h("kbd", { text: r[0] }), " ", r[1]); })));
    document.body.appendChild(overlay);
    document.addEventListener("keydown", onKey, true);
    shut.focus();
  }
  document.addEventListener("keydown", function (e) {
    var tag = (e.target.tagName || "").toLowerCase();
    if (!S.me || tag === "input" || tag === "textarea" || tag === "select" || e.ctrlKey || e.metaKey || e.altKey) return;
    var idx = S.items.map(function (it) { return it.conversation.id; }).indexOf(S.current);
    if (e.key === "j" || e.key === "k") {
      var next = S.items[Math.max(0, Math.min(S.items.length - 1, idx + (e.key === "j" ? 1 : -1)))];
      if (next) { e.preventDefault(); openConversation(next.conversation.id); }
    } else if ((e.key === "r" || e.key === "n") && S.current && els.input) {
      e.preventDefault();
      if ((e.key === "n") !== (S.mode === "note")) { S.mode = e.key === "n" ? "note" : "reply"; renderConversation(); }
      els.input.focus();
    } else if (e.key === "e" && S.current) { e.preventDefault(); toggleResolved(); }
    else if (e.key === "/" && els.search) { e.preventDefault(); els.search.focus(); }
    else if (e.key === "?") { e.preventDefault(); showHelp(); }
  });

  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  boot();
})();
