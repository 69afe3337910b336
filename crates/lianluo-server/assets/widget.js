/* Lianluo web chat widget. Paste on any page:
 *   <script src="https://HOST/widget.js" data-channel="wc_…" async></script>
 * Optional: data-locale="zh|en"; for signed-in users set window.LianluoSettings =
 *   { user: { id: "42", hash: "<HMAC-SHA256(channel secret, id) in hex>", name: "…", email: "…" } }
 * before this script. Everything renders inside a shadow root; message text is never parsed as HTML. */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-channel]");
  if (!script || window.__lianluoWidget) return;
  window.__lianluoWidget = true;
  var channel = script.getAttribute("data-channel");
  var base = new URL(script.src, location.href).origin;
  var wsBase = base.replace(/^http/, "ws");
  var settings = window.LianluoSettings || {};
  var lang = (script.getAttribute("data-locale") || navigator.language || "en").toLowerCase().indexOf("zh") === 0 ? "zh" : "en";
  var T = {
    en: { title: "Chat with us", greeting: "Hi there! How can we help? Tell us who you are, or just start.", online: "We typically reply in a few minutes", offline: "We're away right now. Leave a message and we'll get back to you.",
      placeholder: "Type your message…", send: "Send", name: "Your name (optional)", email: "Email (optional)", start: "Start chat",
      resolved: "This conversation was resolved. Write again any time.", typing: "Agent is typing…", botTyping: "The AI assistant is writing…", failed: "Not sent. Tap to retry.", busy: "We are busy right now. Please try again in a moment; a person will answer you.",
      unavailable: "Chat is unavailable right now.", open: "Open chat", close: "Close chat", you: "You",
      attach: "Attach a picture or file", tooBig: "That file is too large (10 MB at most).", badFile: "That kind of file cannot be sent.",
      hello: "Hi! What can we help you with?", suggested: "Suggested questions", bot: "AI assistant", helpful: "Helpful", notHelpful: "Not helpful", thanks: "Thanks for the feedback", botOnline: "Our AI assistant answers right away; a person can take over any time",
      csatAsk: "How would you rate this conversation?", csatScale: ["Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"], csatComment: "Tell us more (optional)", csatSend: "Send rating", csatThanks: "Thank you for rating us!", csatFailed: "Your rating could not be sent. Please try again." },
    zh: { title: "在线咨询", greeting: "您好！有什么可以帮您？可以留下称呼和邮箱，也可以直接开始。", online: "我们通常几分钟内回复", offline: "客服暂时不在线，请留言，我们会尽快回复您。",
      placeholder: "请输入消息…", send: "发送", name: "您的称呼（选填）", email: "邮箱（选填）", start: "开始咨询",
      resolved: "本次会话已结束，如有需要可随时再次留言。", typing: "客服正在输入…", botTyping: "AI 助手正在输入…", failed: "发送失败，点击重试。", busy: "当前咨询较多，请稍后再试，客服会尽快回复您。",
      unavailable: "在线咨询暂不可用。", open: "打开聊天", close: "关闭聊天", you: "我",
      attach: "发送图片或文件", tooBig: "文件太大（最大 10 MB）。", badFile: "不支持发送该类型的文件。",
      hello: "您好！请问有什么可以帮您？", suggested: "常见问题", bot: "AI 助手", helpful: "有帮助", notHelpful: "没帮助", thanks: "感谢反馈", botOnline: "AI 助手即时回复，随时可转人工",
      csatAsk: "请为本次服务评分", csatScale: ["非常不满意", "不满意", "一般", "满意", "非常满意"], csatComment: "还有什么想告诉我们的？（选填）", csatSend: "提交评价", csatThanks: "感谢您的评价！", csatFailed: "评价提交失败，请重试。" }
  }[lang];
  var storeKey = "lianluo:" + channel;
  var state = { token: localStorage.getItem(storeKey), seen: {}, pending: {}, socket: null, retry: 0, started: false, online: true };

  var host = document.createElement("div");
  host.setAttribute("data-lianluo", "widget");
  document.body.appendChild(host);
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var style = document.createElement("style");
  style.textContent = [
    ":host{all:initial}",
    "*{box-sizing:border-box;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI','PingFang SC','Hiragino Sans GB','Microsoft YaHei',sans-serif}",
    ".bubble{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;background:#2563eb;color:#fff;",
    "box-shadow:0 6px 20px rgba(37,99,235,.4);cursor:pointer;font-size:26px;z-index:2147483000;display:flex;align-items:center;justify-content:center}",
    ".panel{position:fixed;right:20px;bottom:88px;width:360px;max-width:calc(100vw - 24px);height:520px;max-height:calc(100vh - 110px);",
    "background:#fff;border-radius:14px;box-shadow:0 12px 40px rgba(15,23,42,.25);display:none;flex-direction:column;overflow:hidden;z-index:2147483000}",
    ".panel.open{display:flex}",
    ".head{background:#2563eb;color:#fff;padding:14px 16px}.head b{display:block;font-size:16px}.head span{font-size:12px}",
    ".list{flex:1;overflow-y:auto;padding:12px;background:#f8fafc;display:flex;flex-direction:column;gap:8px}",
    ".msg{max-width:80%;padding:8px 12px;border-radius:12px;font-size:14px;line-height:1.45;white-space:pre-wrap;word-wrap:break-word}",
    ".msg.incoming{align-self:flex-end;background:#2563eb;color:#fff;border-bottom-right-radius:4px}",
    ".msg.outgoing,.msg.bot{align-self:flex-start;background:#fff;color:#0f172a;border:1px solid #e2e8f0;border-bottom-left-radius:4px}",
    ".msg small{display:block;font-size:11px;color:#566477;margin-bottom:2px}.msg.incoming small{color:#eff6ff}",
    ".rate{margin-top:4px;font-size:11px;color:#566477}.rate button{border:0;background:transparent;cursor:pointer;font-size:14px;padding:0 6px 0 0;color:#566477}.rate button:hover{color:#2563eb}.msg a.file svg{vertical-align:-2px}",
    ".suggestions{display:flex;flex-wrap:wrap;gap:6px;justify-content:flex-end}.suggestions button{border:1px solid #2563eb;color:#2563eb;background:#fff;border-radius:999px;padding:5px 11px;font-size:13px;cursor:pointer}",
    ".msg.failed{opacity:.75;cursor:pointer}.msg .unsent{display:block;margin-top:3px;font-size:11px;font-weight:600}.msg .unsent:before{content:\"\\26A0  \"}.note{align-self:center;font-size:12px;color:#566477;text-align:center;padding:4px 8px}",
    ".typing{font-size:12px;color:#566477;padding:0 14px 6px;min-height:18px;background:#f8fafc}",
    "form.compose{display:flex;border-top:1px solid #e2e8f0}",
    "textarea{flex:1;border:0;resize:none;padding:12px;font-size:14px;height:56px;outline:none}",
    "button.send{border:0;background:transparent;color:#2563eb;font-weight:600;padding:0 16px;cursor:pointer}",
    "button.attach{border:0;background:transparent;font-size:18px;padding:0 4px 0 10px;cursor:pointer;color:#566477}",
    ".msg img{display:block;max-width:220px;max-height:220px;border-radius:8px;margin-top:4px}.msg a{color:inherit}",
    ".csat{align-self:stretch;background:#fff;border:1px solid #e2e8f0;border-radius:12px;padding:10px 12px;font-size:13px;color:#0f172a;display:flex;flex-direction:column;gap:6px}",
    ".csat p{margin:0}.csat .stars{display:flex;align-items:center;gap:2px}.csat .stars button{border:0;background:transparent;cursor:pointer;font-size:24px;line-height:1;padding:2px;color:#566477}",
    ".csat .stars button.on{color:#b45309}.csat .stars span{margin-left:6px;font-size:12px;color:#475569}.csat textarea{height:56px;border:1px solid #cbd5e1;border-radius:8px;padding:6px 8px;font-size:13px}",
    ".csat button.csat-send{align-self:flex-end;border:0;border-radius:8px;background:#2563eb;color:#fff;padding:6px 12px;font-size:13px;cursor:pointer}.csat button.csat-send:disabled{opacity:.5;cursor:default}",
    "form.prechat{padding:16px;display:flex;flex-direction:column;gap:10px;background:#f8fafc}",
    "form.prechat input{padding:10px;border:1px solid #cbd5e1;border-radius:8px;font-size:14px}",
    "form.prechat button{padding:10px;border:0;border-radius:8px;background:#2563eb;color:#fff;font-size:14px;cursor:pointer}"
  ].join("");
  root.appendChild(style);

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  // Icons drawn in SVG: emoji glyphs are missing from many systems' fonts (they showed as empty boxes).
  var ICONS = {
    chat: "M20 2H4c-1.1 0-2 .9-2 2v18l4-4h14c1.1 0 2-.9 2-2V4c0-1.1-.9-2-2-2z",
    close: "M19 6.41 17.59 5 12 10.59 6.41 5 5 6.41 10.59 12 5 17.59 6.41 19 12 13.41 17.59 19 19 17.59 13.41 12z",
    up: "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z",
    down: "M15 3H6c-.83 0-1.54.5-1.84 1.22l-3.02 7.05c-.09.23-.14.47-.14.73v2c0 1.1.9 2 2 2h6.31l-.95 4.57-.03.32c0 .41.17.79.44 1.06L9.83 23l6.59-6.59c.36-.36.58-.86.58-1.41V5c0-1.1-.9-2-2-2zm4 0v12h4V3h-4z",
    file: "M14 2H6c-1.1 0-2 .9-2 2v16c0 1.1.9 2 2 2h12c1.1 0 2-.9 2-2V8l-6-6zm-1 7V3.5L18.5 9H13z"
  };
  function icon(name, size) {
    var ns = "http://www.w3.org/2000/svg", svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24"); svg.setAttribute("width", size); svg.setAttribute("height", size); svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(ns, "path"); path.setAttribute("d", ICONS[name]); path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }
  var bubble = el("button", "bubble");
  bubble.appendChild(icon("chat", 26));
  bubble.setAttribute("aria-label", T.open);
  var panel = el("div", "panel");
  panel.setAttribute("role", "dialog");
  var head = el("div", "head");
  head.appendChild(el("b", null, T.title));
  var sub = el("span", null, T.online);
  head.appendChild(sub);
  var list = el("div", "list");
  list.setAttribute("aria-live", "polite");
  var typing = el("div", "typing");
  var compose = el("form", "compose");
  var input = el("textarea");
  input.placeholder = T.placeholder;
  input.setAttribute("aria-label", T.placeholder);
  var send = el("button", "send", T.send);
  send.type = "submit";
  var attach = el("button", "attach", "+");
  attach.type = "button";
  attach.setAttribute("aria-label", T.attach);
  attach.title = T.attach;
  var picker = el("input");
  picker.type = "file";
  picker.accept = "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain";
  picker.style.display = "none";
  compose.appendChild(attach);
  compose.appendChild(picker);
  compose.appendChild(input);
  compose.appendChild(send);
  panel.appendChild(head);
  panel.appendChild(list);
  panel.appendChild(typing);
  root.appendChild(panel);
  root.appendChild(bubble);

  function api(method, path, body, extra) {
    var headers = { "content-type": "application/json" };
    if (state.token) headers.authorization = "Bearer " + state.token;
    for (var k in extra || {}) headers[k] = extra[k];
    return fetch(base + path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined, credentials: "omit" })
      .then(function (r) {
        if (r.status === 204) return null;
        return r.json().then(function (j) { if (!r.ok) throw j; return j; });
      });
  }
  function scroll() { list.scrollTop = list.scrollHeight; }
  function note(text) { list.appendChild(el("div", "note", text)); scroll(); }
  function show(m) {
    if (m.idempotency_key && state.pending[m.idempotency_key]) {
      state.seen[m.id] = true;
      return state.pending[m.idempotency_key];
    }
    if (m.id && state.seen[m.id]) return;
    if (m.id) state.seen[m.id] = true;
    var b = el("div", "msg " + m.kind);
    b.setAttribute("data-kind", m.kind);
    var author = m.kind === "bot" ? T.bot : m.author;
    // Who wrote it (the team's side) and when, in the visitor's own clock.
    var at = m.created_at ? new Date(m.created_at) : new Date();
    var time = at.toLocaleTimeString(lang === "zh" ? "zh-CN" : "en", { hour: "2-digit", minute: "2-digit" });
    var meta = el("small", null, (m.kind !== "incoming" && author ? author + " · " : "") + time);
    meta.title = at.toLocaleString(lang === "zh" ? "zh-CN" : "en");
    b.appendChild(meta);
    if (m.content) linkify(b, m.content);
    (m.attachments || []).forEach(function (a) {
      var href = /^https?:/.test(a.url) ? a.url : base + a.url;
      if (/^image\//.test(a.content_type)) { var img = el("img"); img.src = href; img.alt = a.name; b.appendChild(img); }
      else { var link = el("a", "file"); link.appendChild(icon("file", 14)); link.appendChild(document.createTextNode(" " + a.name)); link.href = href; link.target = "_blank"; link.rel = "noopener noreferrer"; b.appendChild(link); }
    });
    if (m.kind === "bot" && m.id) rating(b, m.id);
    // Once a person answers, the header no longer promises the AI assistant.
    if (m.kind === "outgoing") sub.textContent = T.online;
    list.appendChild(b);
    scroll();
    return b;
  }
  // Thumbs up / down under the AI agent's answers; "not helpful" also tells the bot to try again or get a person.
  function rating(b, id) {
    var row = el("div", "rate");
    [[true, "up", T.helpful], [false, "down", T.notHelpful]].forEach(function (r) {
      var btn = el("button"); btn.appendChild(icon(r[1], 14)); btn.type = "button"; btn.title = r[2]; btn.setAttribute("aria-label", r[2]);
      btn.onclick = function () {
        api("POST", "/widget/v1/messages/" + id + "/feedback", { helpful: r[0] }).then(function () {
          row.textContent = T.thanks;
        }, function () { row.remove(); });
      };
      row.appendChild(btn);
    });
    b.appendChild(row);
  }
  // Once the conversation is resolved the visitor rates it: five stars, then an optional comment. One survey
  // on screen at a time; a rating already given shows as thanks.
  function survey(id, given) {
    var old = list.querySelector(".csat");
    if (old) old.remove();
    if (!id) return;
    var box = el("div", "csat");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", T.csatAsk);
    list.appendChild(box);
    scroll();
    if (given) { box.appendChild(el("p", null, T.csatThanks)); return; }
    box.appendChild(el("p", null, T.csatAsk));
    var stars = el("div", "stars"), label = el("span"), chosen = 0;
    var comment = el("textarea"); comment.placeholder = T.csatComment; comment.maxLength = 1000; comment.hidden = true;
    comment.setAttribute("aria-label", T.csatComment);
    var submit = el("button", "csat-send", T.csatSend); submit.type = "button"; submit.disabled = true;
    T.csatScale.forEach(function (word, i) {
      var b = el("button", null, "\u2605"); b.type = "button";
      b.setAttribute("aria-label", (i + 1) + "/5 " + word); b.setAttribute("aria-pressed", "false"); b.title = word;
      b.onclick = function () {
        chosen = i + 1;
        Array.prototype.forEach.call(stars.querySelectorAll("button"), function (s, j) {
          s.classList.toggle("on", j <= i); s.setAttribute("aria-pressed", String(j === i));
        });
        label.textContent = word; comment.hidden = false; submit.disabled = false; scroll();
      };
      stars.appendChild(b);
    });
    stars.appendChild(label);
    submit.onclick = function () {
      submit.disabled = true;
      api("POST", "/widget/v1/conversations/" + id + "/csat", { rating: chosen, comment: comment.value.trim() || null }).then(function () {
        box.textContent = ""; box.appendChild(el("p", null, T.csatThanks)); scroll();
      }, function () { submit.disabled = false; note(T.csatFailed); });
    };
    box.appendChild(stars); box.appendChild(comment); box.appendChild(submit);
  }
  // Text with its web addresses as links (text nodes only: message content is never parsed as HTML).
  function linkify(b, text) {
    text.split(/(https?:\/\/[^\s]+)/).forEach(function (part, i) {
      if (i % 2 === 1) { var a = el("a", null, part); a.href = part; a.target = "_blank"; a.rel = "noopener noreferrer"; b.appendChild(a); }
      else if (part) b.appendChild(document.createTextNode(part));
    });
  }
  // The AI agent's answer while it is written: one bubble that grows, replaced by the final message.
  var streaming = null;
  function delta(text) {
    if (!streaming) {
      streaming = el("div", "msg bot streaming");
      streaming.appendChild(el("small", null, T.bot));
      streaming.appendChild(document.createTextNode(""));
      list.appendChild(streaming);
    }
    streaming.lastChild.nodeValue += text;
    scroll();
  }
  function render(session) {
    list.textContent = "";
    streaming = null;
    state.seen = {};
    state.online = session.agents_online || session.bot;
    sub.textContent = session.bot ? T.botOnline : session.agents_online ? T.online : T.offline;
    (session.messages || []).forEach(show);
    if (session.conversation && session.conversation.status === "resolved") {
      note(T.resolved);
      survey(session.conversation.id, session.conversation.rating);
    }
    if (!state.online && !(session.messages || []).length) note(T.offline);
    // A new conversation starts with a greeting and, where the AI agent answers, questions to ask in one tap.
    if (state.online && !(session.messages || []).length) {
      note(T.hello);
      var asks = session.suggestions || [];
      if (asks.length) {
        var chips = el("div", "suggestions");
        chips.setAttribute("role", "group");
        chips.setAttribute("aria-label", T.suggested);
        asks.forEach(function (q) {
          var b = el("button", null, q); b.type = "button";
          b.onclick = function () { chips.remove(); deliver(q); };
          chips.appendChild(b);
        });
        list.appendChild(chips);
      }
    }
  }
  function connect() {
    if (!state.token || state.socket) return;
    var s = new WebSocket(wsBase + "/widget/v1/realtime?token=" + encodeURIComponent(state.token));
    state.socket = s;
    s.onmessage = function (e) {
      var f = JSON.parse(e.data);
      if (f.type === "ready") state.retry = 0;
      else if (f.type === "bot_delta") delta(f.text);
      else if (f.type === "message") {
        if (f.message.kind === "bot" && streaming) { streaming.remove(); streaming = null; }
        show(f.message); typing.textContent = "";
      }
      else if (f.type === "status" && f.status === "resolved") { note(T.resolved); survey(f.conversation_id, null); }
      // Reopened: the survey is for a resolved conversation.
      else if (f.type === "status") survey(null);
      else if (f.type === "typing") typing.textContent = f.typing ? (f.bot ? T.botTyping : T.typing) : "";
    };
    s.onclose = function () {
      state.socket = null;
      var wait = Math.min(30000, 1000 * Math.pow(2, state.retry++));
      setTimeout(function () { refresh().then(connect, connect); }, wait);
    };
  }
  function refresh() {
    return api("GET", "/widget/v1/messages").then(function (h) {
      (h.messages || []).forEach(show);
    });
  }
  function start(extra) {
    var body = { channel: channel };
    if (state.token) body.visitor_token = state.token;
    if (settings.user && settings.user.id) body.identity = { id: String(settings.user.id), hash: String(settings.user.hash || "") };
    var name = (extra && extra.name) || (settings.user && settings.user.name);
    var email = (extra && extra.email) || (settings.user && settings.user.email);
    if (name) body.name = name;
    if (email) body.email = email;
    return api("POST", "/widget/v1/sessions", body).then(function (session) {
      state.token = session.visitor_token;
      localStorage.setItem(storeKey, state.token);
      state.started = true;
      render(session);
      if (!panel.contains(compose)) panel.appendChild(compose);
      connect();
    }, function (err) {
      list.textContent = "";
      sub.textContent = "";
      note(T.unavailable);
      // The site's developer learns why in the console; the visitor only that chat is unavailable.
      var e = (err && err.error) || {};
      var why = e.code === "identity_invalid"
        ? "the signed-in user's hash does not match: compute HMAC-SHA256 of LianluoSettings.user.id with the channel's identity secret (Settings > Channels) on your server, as hex, and pass it as LianluoSettings.user.hash"
        : (e.message || "the server refused the session");
      if (window.console) console.error("Lianluo widget: chat is unavailable: " + why + (e.code ? " (" + e.code + ")" : ""));
    });
  }
  function prechat() {
    var form = el("form", "prechat");
    var name = el("input"); name.placeholder = T.name; name.name = "name"; name.maxLength = 200; name.setAttribute("aria-label", T.name);
    var email = el("input"); email.placeholder = T.email; email.type = "email"; email.name = "email"; email.setAttribute("aria-label", T.email);
    var go = el("button", null, T.start); go.type = "submit";
    form.appendChild(name); form.appendChild(email); form.appendChild(go);
    form.onsubmit = function (e) {
      e.preventDefault();
      form.remove();
      start({ name: name.value.trim() || undefined, email: email.value.trim() || undefined });
    };
    list.textContent = "";
    note(T.greeting);
    panel.insertBefore(form, typing);
  }
  // A message keeps its idempotency key across retries: a retry after a lost response is stored once.
  function deliver(text, bubbleEl, attachments, key) {
    key = key || "w-" + Date.now() + "-" + Math.random().toString(36).slice(2);
    var pending = bubbleEl || show({ kind: "incoming", content: text, attachments: attachments });
    state.pending[key] = pending;
    pending.classList.remove("failed");
    var unsent = pending.querySelector(".unsent");
    if (unsent) unsent.remove();
    pending.onclick = null;
    api("POST", "/widget/v1/messages", { content: text, attachments: attachments || [] }, { "idempotency-key": key }).then(function (r) {
      state.seen[r.message.id] = true;
    }, function (err) {
      pending.classList.add("failed");
      pending.title = T.failed;
      if (!pending.querySelector(".unsent")) pending.appendChild(el("span", "unsent", T.failed));
      pending.onclick = function () { deliver(text, pending, attachments, key); };
      // Too many at once: said politely, and the message can be sent again in a moment.
      if (err && err.error && (err.error.code === "rate_limited" || err.error.code === "queue_full")) note(T.busy);
    });
  }
  attach.onclick = function () { picker.click(); };
  picker.onchange = function () {
    var file = picker.files && picker.files[0];
    picker.value = "";
    if (!file) return;
    if (file.size > 10 * 1024 * 1024) { note(T.tooBig); return; }
    fetch(base + "/widget/v1/uploads?name=" + encodeURIComponent(file.name), {
      method: "POST", body: file, credentials: "omit",
      headers: { authorization: "Bearer " + state.token, "content-type": file.type || "application/octet-stream" }
    }).then(function (r) { return r.json().then(function (j) { if (!r.ok) throw j; return j; }); })
      .then(function (att) { deliver("", null, [att]); }, function () { note(T.badFile); });
  };
  compose.onsubmit = function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    deliver(text);
  };
  input.onkeydown = function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); compose.requestSubmit ? compose.requestSubmit() : compose.onsubmit(e); }
  };
  var typingTimer = null;
  input.oninput = function () {
    if (!state.socket || state.socket.readyState !== 1) return;
    state.socket.send(JSON.stringify({ type: "typing", typing: true }));
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () {
      if (state.socket && state.socket.readyState === 1) state.socket.send(JSON.stringify({ type: "typing", typing: false }));
    }, 3000);
  };
  // Esc closes the open chat, from anywhere on the page.
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && panel.classList.contains("open")) { bubble.click(); bubble.focus(); }
  });
  bubble.onclick = function () {
    var open = panel.classList.toggle("open");
    bubble.setAttribute("aria-label", open ? T.close : T.open);
    bubble.textContent = "";
    bubble.appendChild(icon(open ? "close" : "chat", open ? 24 : 26));
    if (open && !state.started) {
      if (state.token || (settings.user && settings.user.id)) start();
      else prechat();
    }
    if (open) input.focus();
  };
  window.Lianluo = { open: function () { if (!panel.classList.contains("open")) bubble.click(); } };
})();
