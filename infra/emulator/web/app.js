// Chat page of the WeCom emulator: polls /emulator/api/state and posts actions.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const STATES = { "-1": "无会话", 0: "0 未处理", 1: "1 智能助手接待", 2: "2 排队中", 3: "3 人工接待", 4: "4 已结束" };
  let lastKey = "";
  let state = -1;

  function user() { return $("user-id").value.trim(); }
  function servicer() { return $("servicer-id").value.trim(); }

  function toast(msg) {
    const t = $("toast");
    t.textContent = msg;
    t.classList.add("show");
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => t.classList.remove("show"), 2600);
  }

  async function act(name, body) {
    const res = await fetch("api/" + name, {
      method: "POST",
      headers: { "Content-Type": "application/json; charset=utf-8" },
      body: JSON.stringify(Object.assign({ user: user() }, body)),
    });
    if (!res.ok) {
      const j = await res.json().catch(() => ({}));
      toast(j.error || ("HTTP " + res.status));
      return false;
    }
    poll();
    return true;
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function hhmm(t) {
    const d = new Date(t);
    return d.toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit" });
  }

  function label(line) {
    if (line.from === "customer") return "客户";
    if (line.from === "bot") return "智能助手";
    return "接待人员 " + (line.servicer_userid || "");
  }

  // bubble renders one line; interactive menus only on the customer side.
  function bubble(line, side) {
    const mine = side === "customer" ? line.from === "customer" : line.from !== "customer";
    const row = el("div", "row " + (mine ? "me" : "them") + (line.from === "agent" ? " agent-msg" : ""));
    row.dataset.from = line.from;
    const who = el("div", "who", label(line) + " · " + hhmm(line.time));
    if (line.from === "bot") who.appendChild(el("span", "tag bot", "API"));
    if (line.menu_id) who.appendChild(el("span", "tag menu", "menu_id " + line.menu_id));
    row.appendChild(who);
    const b = el("div", "bubble");
    if (line.menu) {
      if (line.menu.head) b.appendChild(el("div", "", line.menu.head));
      const list = el("div", "menu");
      for (const it of line.menu.items || []) {
        if (it.type === "click" && side === "customer") {
          const btn = el("button", "menu-item", it.content);
          btn.type = "button";
          btn.dataset.menuId = it.id;
          btn.onclick = () => act("click", { menu_id: it.id, text: it.content });
          list.appendChild(btn);
        } else if (it.type === "view" && /^https?:/.test(it.url)) {
          const a = el("a", "menu-item", it.content);
          a.href = it.url; a.target = "_blank"; a.rel = "noopener";
          list.appendChild(a);
        } else {
          list.appendChild(el("button", "menu-item", it.content)).disabled = true;
        }
      }
      b.appendChild(list);
      if (line.menu.tail) b.appendChild(el("div", "tail", line.menu.tail));
    } else {
      b.textContent = line.text;
    }
    row.appendChild(b);
    return row;
  }

  function render(logId, side, lines) {
    const log = $(logId);
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    log.replaceChildren();
    if (lines.length === 0) {
      log.appendChild(el("div", "empty", side === "customer" ? "发一条消息，开始和微信客服对话" : "暂无会话消息"));
    }
    for (const l of lines) log.appendChild(bubble(l, side));
    if (atBottom || lines.length) log.scrollTop = log.scrollHeight;
  }

  async function poll() {
    const u = user();
    if (!u) return;
    let s;
    try {
      const res = await fetch("api/state?user=" + encodeURIComponent(u));
      s = await res.json();
    } catch (e) {
      return;
    }
    state = s.state;
    $("open-kfid").textContent = s.open_kfid;
    $("status-state").textContent = (STATES[s.state] || s.state) + (s.state === 3 && s.servicer ? " · " + s.servicer : "");
    $("stat-tokens").textContent = s.stats.tokens_issued;
    $("stat-sync").textContent = s.stats.sync_msg_calls;
    $("stat-send").textContent = s.stats.send_msg_calls;
    $("stat-callbacks").textContent = s.stats.callbacks_sent;
    $("stat-retried").textContent = s.stats.callbacks_retried;
    $("stat-failed").textContent = s.stats.callbacks_failed;
    $("agent-takeover").disabled = s.state === -1 || s.state === 4 || (s.state === 3 && s.servicer === servicer());
    $("agent-end").disabled = s.state === -1 || s.state === 4;
    $("agent-send").disabled = !(s.state === 3 && s.servicer === servicer());
    const key = u + "|" + s.lines.length + "|" + (s.lines.length ? s.lines[s.lines.length - 1].msgid : "");
    if (key !== lastKey) {
      lastKey = key;
      render("customer-log", "customer", s.lines);
      render("agent-log", "agent", s.lines);
    }
  }

  $("customer-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = $("customer-input").value.trim();
    if (!text) return;
    if (await act("say", { text })) $("customer-input").value = "";
  });
  $("agent-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = $("agent-input").value.trim();
    if (!text) return;
    if (await act("agent_say", { servicer: servicer(), text })) $("agent-input").value = "";
  });
  $("customer-enter").onclick = () => act("enter", { scene: "emulator" });
  $("agent-takeover").onclick = () => act("takeover", { servicer: servicer() });
  $("agent-end").onclick = () => act("end", {});
  $("user-id").addEventListener("change", () => { lastKey = ""; poll(); });
  $("servicer-id").addEventListener("change", poll);

  poll();
  setInterval(poll, 700);
})();
