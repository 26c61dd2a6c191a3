/**
 * The approval page: static HTML plus one script, served by the host on localhost. The script
 * follows /ui/api/events (server-sent events) and re-renders the queue on every change; it
 * builds the DOM with textContent only, so peer-supplied names and previews can't inject markup.
 */

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>p2p-comm approvals</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 52rem; padding: 0 1rem; color: #1d1d1f; }
h1 { font-size: 1.3rem; } h2 { font-size: 1.05rem; margin-top: 2rem; }
.card { border: 1px solid #ccc; border-radius: 8px; padding: .8rem 1rem; margin: .6rem 0; }
.prompt { font-weight: 600; }
.fp { font-family: ui-monospace, monospace; font-size: .85rem; word-break: break-all; color: #444; }
.preview { white-space: pre-wrap; background: #f5f5f7; padding: .5rem; border-radius: 4px; font-family: ui-monospace, monospace; font-size: .85rem; max-height: 10rem; overflow: auto; }
.reasons { color: #b00020; font-size: .85rem; }
button { font-size: 1rem; margin-right: .5rem; padding: .3rem 1rem; cursor: pointer; }
.accept { background: #0a7d32; color: #fff; border: 0; border-radius: 4px; }
.deny { background: #b00020; color: #fff; border: 0; border-radius: 4px; }
.state { font-size: .85rem; color: #555; }
#conn { font-size: .8rem; color: #777; }
</style>
</head>
<body>
<h1>p2p-comm: requests waiting for you</h1>
<div id="conn" data-state="connecting">connecting…</div>
<h2>Pending</h2>
<div id="pending"><p class="empty">Nothing is waiting.</p></div>
<h2>Decided</h2>
<div id="decided"></div>
<script src="/ui/app.js"></script>
</body>
</html>
`;

export const PAGE_JS = `'use strict';
(function () {
  var conn = document.getElementById('conn');
  var pendingEl = document.getElementById('pending');
  var decidedEl = document.getElementById('decided');

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function decide(id, decision, buttons) {
    buttons.forEach(function (b) { b.disabled = true; });
    fetch('/ui/api/approvals/' + encodeURIComponent(id), {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-p2p-comm-ui': '1' },
      body: JSON.stringify({ decision: decision })
    }).then(function (r) {
      if (!r.ok) buttons.forEach(function (b) { b.disabled = false; });
    });
  }

  function card(a, pending) {
    var c = el('div', 'card');
    c.setAttribute('data-approval-id', a.id);
    c.setAttribute('data-kind', a.kind);
    c.setAttribute('data-state', a.state);
    c.appendChild(el('div', 'prompt', a.prompt));
    var who = (a.peer.name ? a.peer.name + ' — ' : '') + 'fingerprint ' + a.peer.fingerprint;
    c.appendChild(el('div', 'fp', who));
    if (a.plugin) c.appendChild(el('div', 'state', 'plugin: ' + a.plugin.name + ' (' + a.plugin.id + ')'));
    if (a.reasons && a.reasons.length) c.appendChild(el('div', 'reasons', 'flagged: ' + a.reasons.join(', ')));
    if (a.preview) c.appendChild(el('div', 'preview', a.preview));
    if (pending) {
      var left = Math.max(0, Math.round((a.expiresAt - Date.now()) / 1000));
      c.appendChild(el('div', 'state', 'denied automatically in ' + left + ' s if unanswered'));
      var row = el('div');
      var ok = el('button', 'accept', 'Accept');
      var no = el('button', 'deny', 'Deny');
      ok.setAttribute('data-action', 'accept');
      no.setAttribute('data-action', 'deny');
      ok.onclick = function () { decide(a.id, 'accept', [ok, no]); };
      no.onclick = function () { decide(a.id, 'deny', [ok, no]); };
      row.appendChild(ok);
      row.appendChild(no);
      c.appendChild(row);
    } else {
      c.appendChild(el('div', 'state', a.state));
    }
    return c;
  }

  function render(state) {
    pendingEl.replaceChildren();
    decidedEl.replaceChildren();
    if (!state.pending.length) pendingEl.appendChild(el('p', 'empty', 'Nothing is waiting.'));
    state.pending.forEach(function (a) { pendingEl.appendChild(card(a, true)); });
    state.decided.forEach(function (a) { decidedEl.appendChild(card(a, false)); });
  }

  var es = new EventSource('/ui/api/events');
  es.addEventListener('state', function (ev) {
    conn.textContent = 'live';
    conn.setAttribute('data-state', 'live');
    render(JSON.parse(ev.data));
  });
  es.onerror = function () {
    conn.textContent = 'reconnecting…';
    conn.setAttribute('data-state', 'reconnecting');
  };
})();
`;

/**
 * What a person sees at /ui without a valid token (a bookmark after a restart with a new
 * token, a link with the token cut off): what happened and where the right link is. Static:
 * nothing from the request is echoed into it.
 */
export const UI_AUTH_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>p2p-comm approvals: token needed</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 40rem; padding: 0 1rem; color: #1d1d1f; }
h1 { font-size: 1.3rem; }
code { font-family: ui-monospace, monospace; background: #f5f5f7; padding: 0 .25rem; border-radius: 3px; }
</style>
</head>
<body>
<h1>This approval page needs its token</h1>
<p>The link you opened has no token, or not the one this host was started with (HOST_ERR_UI_AUTH).</p>
<p>Open the link the host printed in its terminal when it started: it looks like
<code>http://127.0.0.1:7600/ui?token=…</code>. The token is the <code>uiToken</code> of the host
config file (or <code>HOST_UI_TOKEN</code>); once the page opens, it is kept in a cookie and
removed from the address.</p>
</body>
</html>
`;
