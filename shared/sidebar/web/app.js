// Chat-toolbar sidebar: sign the JS-SDK, find the current client, show and edit their CRM record.
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var state = { csrf: '', ext: '' };

  function status(text, error) { var s = $('status'); s.textContent = text; s.className = error ? 'error' : ''; }
  function el(tag, text, cls) { var e = document.createElement(tag); if (text != null) e.textContent = text; if (cls) e.className = cls; return e; }
  function fill(list, items, render, empty) {
    list.replaceChildren();
    if (!items || !items.length) { list.appendChild(el('li', empty, 'muted')); return; }
    items.forEach(function (x) { list.appendChild(render(x)); });
  }
  function api(path, body) {
    var opts = { credentials: 'same-origin', headers: {} };
    if (body) { opts.method = 'POST'; opts.headers['Content-Type'] = 'application/json'; opts.headers['X-CSRF-Token'] = state.csrf; opts.body = JSON.stringify(body); }
    return fetch(path, opts).then(function (r) {
      return r.json().then(function (j) { if (!r.ok) throw new Error(j.error || ('HTTP ' + r.status)); return j; });
    });
  }
  function money(n, cur) { return (cur && cur !== 'CNY' ? cur + ' ' : '¥') + Math.round(n).toLocaleString('en-US'); }

  function render(v) {
    $('main').hidden = false;
    if (!v.found) {
      $('name').textContent = v.wecom_name || '新客户';
      status('CRM 中还没有这位客户；首次对话后会自动建档。');
      $('facts').replaceChildren();
      fill($('deals'), [], null, '—'); fill($('notes'), [], null, '—'); fill($('tasks'), [], null, '—');
      return;
    }
    var c = v.contact;
    $('name').textContent = c.name;
    if (c.vip) $('name').appendChild(el('span', 'VIP', 'vip'));
    status('已关联 CRM');
    var facts = $('facts'); facts.replaceChildren();
    [['公司', c.company], ['阶段', c.stage], ['负责人', c.owner_name || c.owner_userid], ['电话', c.phone], ['邮箱', c.email]].forEach(function (p) {
      if (!p[1]) return; facts.appendChild(el('dt', p[0])); facts.appendChild(el('dd', p[1]));
    });
    fill($('deals'), v.deals, function (d) { return el('li', d.name + ' · ' + d.stage + ' · ' + money(d.amount, d.currency) + (d.next_step ? '（下一步：' + d.next_step + '）' : '')); }, '暂无商机');
    fill($('notes'), v.notes, function (n) { return el('li', n.at + ' ' + n.title + '：' + n.body); }, '暂无备注');
    fill($('tasks'), v.tasks, function (t) { return el('li', t.due + ' ' + t.subject, t.overdue ? 'overdue' : ''); }, '暂无待办');
  }
  function load() {
    return api('api/contact?external_userid=' + encodeURIComponent(state.ext)).then(render).catch(function (e) { status(e.message, true); });
  }

  $('note-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    api('api/note', { external_userid: state.ext, text: $('note-text').value }).then(function () {
      $('note-text').value = ''; status('备注已保存'); return load();
    }).catch(function (e) { status(e.message, true); });
  });
  $('task-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    api('api/task', { external_userid: state.ext, subject: $('task-subject').value, due: $('task-due').value }).then(function () {
      $('task-subject').value = ''; status('任务已创建'); return load();
    }).catch(function (e) { status(e.message, true); });
  });

  function start() {
    var pageURL = location.href.split('#')[0];
    api('api/config?url=' + encodeURIComponent(pageURL)).then(function (cfg) {
      state.csrf = cfg.csrf;
      wx.config({ beta: true, debug: false, appId: cfg.corpid, timestamp: +cfg.timestamp, nonceStr: cfg.nonceStr, signature: cfg.signature,
        jsApiList: ['agentConfig', 'getCurExternalContact', 'getContext'] });
      wx.error(function (e) { status('企业微信签名失败：' + (e && e.errMsg || ''), true); });
      wx.ready(function () {
        wx.agentConfig({ corpid: cfg.corpid, agentid: cfg.agentid, timestamp: +cfg.timestamp, nonceStr: cfg.nonceStr, signature: cfg.agentSignature,
          jsApiList: ['getCurExternalContact', 'getContext'],
          success: function () {
            wx.invoke('getCurExternalContact', {}, function (res) {
              if (res.err_msg !== 'getCurExternalContact:ok') { status('请在与客户的单聊中打开侧边栏。', true); return; }
              state.ext = res.userId; load();
            });
          },
          fail: function (e) { status('应用签名失败：' + (e && e.errMsg || ''), true); }
        });
      });
    }).catch(function (e) { status(e.message, true); });
  }

  if (window.wx) { start(); return; }
  // Inside WeCom: load WeCom's own JS-SDK (served by WeCom, not by us).
  var s = document.createElement('script');
  s.src = 'https://res.wx.qq.com/open/js/jweixin-1.2.0.js';
  s.onload = start;
  s.onerror = function () { status('无法加载企业微信 JS-SDK，请在企业微信中打开。', true); };
  document.head.appendChild(s);
})();
