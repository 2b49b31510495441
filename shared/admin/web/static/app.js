// Admin console: plain JavaScript, charts drawn as inline SVG.
(function () {
  'use strict';
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var SVG = 'http://www.w3.org/2000/svg';
  var COLORS = { in: '#2563eb', out: '#34d399', start: '#7c3aed', end: '#f59e0b', value: '#2563eb' };
  var state = { kb: null };

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function svgEl(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function api(method, path, body) {
    var opts = { method: method, credentials: 'same-origin', headers: { 'Accept': 'application/json' } };
    if (method !== 'GET') opts.headers['X-CSRF-Token'] = csrf;
    if (body !== undefined) { opts.headers['Content-Type'] = 'application/json'; opts.body = JSON.stringify(body); }
    return fetch(path, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { j._status = r.status; return j; });
    });
  }
  function query() {
    var p = new URLSearchParams();
    if ($('f-from').value) p.set('from', $('f-from').value);
    if ($('f-to').value) p.set('to', $('f-to').value);
    if ($('f-channel').value) p.set('channel', $('f-channel').value);
    return p.toString();
  }
  function iso(d) { return d.toISOString().slice(0, 10); }

  // Grouped vertical bars: days × series.
  function barChart(box, labels, series) {
    box.textContent = '';
    var W = 420, H = 180, pad = 24, max = 1;
    series.forEach(function (s) { s.values.forEach(function (v) { if (v > max) max = v; }); });
    var svg = svgEl('svg', { width: W, height: H + 34, viewBox: '0 0 ' + W + ' ' + (H + 34), role: 'img' });
    var gw = (W - pad) / Math.max(labels.length, 1), bw = Math.max(2, (gw - 6) / series.length);
    labels.forEach(function (lab, i) {
      series.forEach(function (s, j) {
        var v = s.values[i] || 0, h = Math.round((H - 20) * v / max);
        var x = pad + i * gw + j * bw, y = H - h;
        svg.appendChild(svgEl('rect', { 'class': 'bar', x: x, y: y, width: bw - 1, height: h, fill: s.color,
          'data-series': s.name, 'data-label': lab, 'data-value': v }));
        if (v > 0) svg.appendChild(svgEl('text', { x: x + bw / 2, y: y - 2, 'text-anchor': 'middle' }, String(v)));
      });
      svg.appendChild(svgEl('text', { x: pad + i * gw + gw / 2, y: H + 14, 'text-anchor': 'middle' }, lab.slice(5)));
    });
    svg.appendChild(svgEl('line', { x1: pad, y1: H, x2: W, y2: H, stroke: '#9ca3af' }));
    var lx = pad;
    series.forEach(function (s) {
      svg.appendChild(svgEl('rect', { x: lx, y: H + 22, width: 10, height: 10, fill: s.color }));
      svg.appendChild(svgEl('text', { x: lx + 14, y: H + 31 }, s.name));
      lx += 80;
    });
    box.appendChild(svg);
  }

  // Horizontal bars for named counts.
  function hbarChart(box, items, color) {
    box.textContent = '';
    if (!items || !items.length) { box.appendChild(el('p', { 'class': 'legend empty' }, 'no data')); return; }
    var W = 420, row = 22, lw = 150, max = 1;
    items.forEach(function (it) { if (it.count > max) max = it.count; });
    var svg = svgEl('svg', { width: W, height: items.length * row + 4, role: 'img' });
    items.forEach(function (it, i) {
      var w = Math.round((W - lw - 40) * it.count / max), y = i * row + 2;
      var name = it.name.length > 20 ? it.name.slice(0, 19) + '…' : it.name;
      svg.appendChild(svgEl('text', { x: lw - 6, y: y + 14, 'text-anchor': 'end' }, name));
      svg.appendChild(svgEl('rect', { 'class': 'bar', x: lw, y: y + 2, width: Math.max(w, 1), height: row - 6, fill: color || COLORS.value,
        'data-label': it.name, 'data-value': it.count }));
      svg.appendChild(svgEl('text', { x: lw + w + 4, y: y + 14 }, String(it.count)));
    });
    box.appendChild(svg);
  }

  // Points joined by a line (null values are gaps).
  function lineChart(box, labels, values, maxV) {
    box.textContent = '';
    var W = 420, H = 140, pad = 24;
    var svg = svgEl('svg', { width: W, height: H + 20, role: 'img' });
    var step = (W - pad * 2) / Math.max(labels.length - 1, 1), pts = [];
    labels.forEach(function (lab, i) {
      var x = pad + i * step;
      svg.appendChild(svgEl('text', { x: x, y: H + 14, 'text-anchor': 'middle' }, lab.slice(5)));
      var v = values[i];
      if (v === null) return;
      var y = H - (H - 16) * v / maxV;
      pts.push(x + ',' + y);
      svg.appendChild(svgEl('circle', { 'class': 'point', cx: x, cy: y, r: 4, fill: COLORS.in, 'data-label': lab, 'data-value': v }));
      svg.appendChild(svgEl('text', { x: x, y: y - 7, 'text-anchor': 'middle' }, String(v)));
    });
    if (pts.length > 1) svg.insertBefore(svgEl('polyline', { points: pts.join(' '), fill: 'none', stroke: COLORS.in }), svg.firstChild);
    svg.appendChild(svgEl('line', { x1: pad, y1: H, x2: W - pad, y2: H, stroke: '#9ca3af' }));
    box.appendChild(svg);
  }

  function kpi(id, label, value) {
    var d = el('div', { 'class': 'kpi', id: 'kpi-' + id, 'data-value': value });
    d.appendChild(el('div', { 'class': 'v' }, String(value)));
    d.appendChild(el('div', { 'class': 'l' }, label));
    $('kpis').appendChild(d);
  }

  function loadDashboard() {
    var q = query();
    return Promise.all([api('GET', '/admin/api/report?' + q), api('GET', '/admin/api/unanswered?' + q)]).then(function (res) {
      var rep = res[0], un = res[1];
      if (rep._status !== 200) { $('kpis').textContent = rep.error || 'error'; return; }
      var t = rep.totals, days = rep.days.map(function (d) { return d.day; });
      $('kpis').textContent = '';
      kpi('messages_in', 'messages in', t.messages_in);
      kpi('messages_out', 'messages out', t.messages_out);
      kpi('conversations', 'conversations', t.conversations);
      kpi('unanswered', 'unanswered', t.unanswered);
      kpi('handoff_rate', 'handoff rate', Math.round(rep.handoff_rate * 100) + '%');
      kpi('csat_avg', 'CSAT average', t.csat_count ? t.csat_avg : '–');
      kpi('latency_p50', 'reply p50 (ms, ≤)', rep.latency_p50_ms < 0 ? '–' : rep.latency_p50_ms);
      kpi('latency_p95', 'reply p95 (ms, ≤)', rep.latency_p95_ms < 0 ? '–' : rep.latency_p95_ms);
      barChart($('chart-messages'), days, [
        { name: 'in', color: COLORS.in, values: rep.days.map(function (d) { return d.messages_in; }) },
        { name: 'out', color: COLORS.out, values: rep.days.map(function (d) { return d.messages_out; }) }]);
      barChart($('chart-conversations'), days, [
        { name: 'started', color: COLORS.start, values: rep.days.map(function (d) { return d.conversations; }) },
        { name: 'ended', color: COLORS.end, values: rep.days.map(function (d) { return d.ended; }) }]);
      hbarChart($('chart-intents'), rep.top_intents);
      hbarChart($('chart-faq'), rep.faq_hits, COLORS.out);
      hbarChart($('chart-handoff'), rep.handoff_reasons, COLORS.end);
      hbarChart($('chart-csat'), rep.csat, COLORS.start);
      hbarChart($('chart-latency'), rep.latency_buckets.filter(function (b) { return b.count > 0; }), COLORS.value);
      lineChart($('chart-csat-trend'), days, rep.days.map(function (d) { return d.csat_count ? d.csat_avg : null; }), 5);
      var groups = (un.groups || []).slice(0, 10).map(function (g) { return { name: g.text, count: g.count }; });
      hbarChart($('chart-unanswered'), groups, '#ef4444');
    });
  }

  function loadUnanswered() {
    return api('GET', '/admin/api/unanswered?' + query()).then(function (res) {
      var tb = $('unanswered-table').querySelector('tbody');
      tb.textContent = '';
      (res.groups || []).forEach(function (g, i) {
        var tr = el('tr', { 'data-text': g.text });
        tr.appendChild(el('td', { 'class': 'q' }, g.text));
        tr.appendChild(el('td', { 'class': 'count' }, String(g.count)));
        tr.appendChild(el('td', {}, (g.examples || []).join(' · ')));
        var td = el('td');
        var sel = el('select', { 'class': 'faq-select', id: 'faq-select-' + i });
        (res.faqs || []).forEach(function (f) { sel.appendChild(el('option', { value: f.id }, f.id + ' — ' + f.question)); });
        var b = el('button', { type: 'button', 'class': 'add-variant', id: 'add-variant-' + i }, 'Add as FAQ variant');
        b.addEventListener('click', function () { addFAQ({ question: g.text, faq_id: sel.value }); });
        td.appendChild(sel); td.appendChild(b); tr.appendChild(td);
        var td2 = el('td');
        var id = el('input', { placeholder: 'new id', 'class': 'new-id' });
        var ans = el('input', { placeholder: 'answer', 'class': 'new-answer' });
        var b2 = el('button', { type: 'button', 'class': 'new-entry' }, 'New FAQ entry');
        b2.addEventListener('click', function () { addFAQ({ question: g.text, new_id: id.value, answer: ans.value }); });
        td2.appendChild(id); td2.appendChild(ans); td2.appendChild(b2); tr.appendChild(td2);
        tb.appendChild(tr);
      });
    });
  }

  function addFAQ(body) {
    var st = $('unanswered-status');
    api('POST', '/admin/api/unanswered/faq', body).then(function (r) {
      if (r._status === 200) { st.className = 'status'; st.textContent = 'Published knowledge version ' + r.version + '.'; st.setAttribute('data-version', r.version); }
      else { st.className = 'status bad'; st.textContent = r.error || ('error ' + r._status); }
    });
  }

  function showErrors(errs) {
    var ul = $('kb-errors');
    ul.textContent = '';
    (errs || []).forEach(function (e) {
      ul.appendChild(el('li', { 'data-line': e.line }, (e.line ? 'line ' + e.line + ': ' : '') + e.message));
    });
  }

  function loadKnowledge() {
    return api('GET', '/admin/api/knowledge').then(function (r) {
      state.kb = r.version;
      $('kb-version').textContent = r.version === 0 ? '0 (bundled default)' : r.version;
      $('kb-yaml').value = r.yaml;
      showErrors([]);
    });
  }

  function loadDead() {
    return api('GET', '/admin/api/deadletters').then(function (r) {
      var tb = $('dl-table').querySelector('tbody');
      tb.textContent = '';
      (r.items || []).forEach(function (it) {
        var tr = el('tr');
        [it.topic, it.id, String(it.attempts), it.last_error, it.created].forEach(function (c) { tr.appendChild(el('td', {}, c)); });
        var b = el('button', { type: 'button' }, 'Replay');
        b.addEventListener('click', function () { replay(it.topic, [it.id]); });
        var td = el('td'); td.appendChild(b); tr.appendChild(td);
        tb.appendChild(tr);
      });
      var all = $('dl-all');
      all.textContent = '';
      (r.topics || []).forEach(function (t) {
        var b = el('button', { type: 'button' }, 'Replay all ' + t);
        b.addEventListener('click', function () { replay(t, []); });
        all.appendChild(b);
      });
    });
  }

  function replay(topic, ids) {
    api('POST', '/admin/api/deadletters/replay', { topic: topic, ids: ids }).then(function (r) {
      $('dl-status').textContent = r._status === 200 ? ('Replayed ' + r.replayed + '.') : (r.error || 'error');
      loadDead();
    });
  }

  function loadAudit() {
    return api('GET', '/admin/api/audit?days=30').then(function (r) {
      var tb = $('audit-table').querySelector('tbody');
      tb.textContent = '';
      (r.entries || []).forEach(function (e) {
        var tr = el('tr');
        [e.at, e.who, e.action, e.detail || ''].forEach(function (c) { tr.appendChild(el('td', {}, c)); });
        tb.appendChild(tr);
      });
    });
  }

  function updateExports() {
    var q = query();
    $('exp-metrics').href = '/admin/api/export/metrics.csv?' + q;
    $('exp-conversations').href = '/admin/api/export/conversations.csv?' + q;
    $('exp-unanswered').href = '/admin/api/export/unanswered.csv?' + q;
  }

  var loaders = { dashboard: loadDashboard, unanswered: loadUnanswered, knowledge: loadKnowledge, deadletters: loadDead, exports: function () { updateExports(); return Promise.resolve(); }, audit: loadAudit };

  function show(tab) {
    if (!loaders[tab]) tab = 'dashboard';
    document.querySelectorAll('.tab').forEach(function (s) { s.hidden = s.id !== 'tab-' + tab; });
    document.querySelectorAll('nav a').forEach(function (a) { a.classList.toggle('active', a.getAttribute('data-tab') === tab); });
    document.body.setAttribute('data-loading', tab);
    loaders[tab]().then(function () { document.body.setAttribute('data-loaded', tab); document.body.removeAttribute('data-loading'); });
  }

  document.addEventListener('DOMContentLoaded', function () {
    var now = new Date();
    $('f-to').value = iso(now);
    $('f-from').value = iso(new Date(now.getTime() - 6 * 86400000));
    $('f-apply').addEventListener('click', function () { show((location.hash || '#dashboard').slice(1)); });
    window.addEventListener('hashchange', function () { show(location.hash.slice(1)); });
    $('kb-validate').addEventListener('click', function () {
      api('POST', '/admin/api/knowledge/validate', { yaml: $('kb-yaml').value }).then(function (r) {
        $('kb-status').className = r.ok ? 'status' : 'status bad';
        $('kb-status').textContent = r.ok ? ('Valid: ' + r.faqs + ' FAQ entries, ' + r.rules + ' rules.') : 'Invalid.';
        showErrors(r.errors);
      });
    });
    $('kb-publish').addEventListener('click', function () {
      api('PUT', '/admin/api/knowledge', { yaml: $('kb-yaml').value, base_version: state.kb }).then(function (r) {
        if (r._status === 200) { $('kb-status').className = 'status'; $('kb-status').textContent = 'Published version ' + r.version + '.'; loadKnowledge(); }
        else { $('kb-status').className = 'status bad'; $('kb-status').textContent = r.error || ('error ' + r._status); showErrors(r.errors); }
      });
    });
    $('pv-run').addEventListener('click', function () {
      api('POST', '/admin/api/preview', { yaml: $('kb-yaml').value, text: $('pv-text').value, channel: $('f-channel').value }).then(function (r) {
        if (!r.ok) { $('pv-result').textContent = r.error || 'invalid knowledge'; showErrors(r.errors); return; }
        $('pv-result').textContent = (r.replies || []).join('\n---\n') + '\n\nintent: ' + r.intent + ' · confidence ' + (r.confidence || 0).toFixed(2) +
          (r.handoff ? ' · handoff: ' + r.handoff : '');
      });
    });
    show((location.hash || '#dashboard').slice(1));
  });
})();
