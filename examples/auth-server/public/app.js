// Demo page: logs in against the example auth server, connects pusher-js (with encryption) to
// pushcore, subscribes to a public, private, admin-only private, presence and encrypted channel,
// signs in for server-to-user events, and prints everything that arrives.
// Only the app key and the WebSocket address come from the server (/config.json): the app secret
// and the encryption master key never reach the page. Text is inserted with textContent only.
'use strict';

(function () {
  const $ = (sel) => document.querySelector(sel);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const show = (node, on) => { node.hidden = !on; };
  const json = (v) => (typeof v === 'string' ? v : JSON.stringify(v));

  // State exposed for curious humans (devtools) and for the browser tests.
  const demo = {
    pusher: null,
    user: null,
    config: null,
    events: [], // { channel, event, data, user_id, at }
    status: {}, // channel -> 'pending' | 'subscribed' | 'denied' ; statusDetail has the error
    statusDetail: {},
    wire: {}, // channel -> last raw frame data as received on the socket (before decryption)
    signedIn: false, // pusher:signin_success received
    userChannelReady: false, // #server-to-user-<id> subscribed
    members(channel) {
      const ch = demo.pusher && demo.pusher.channel(channel);
      const out = [];
      if (ch && ch.members) ch.members.each((m) => out.push({ id: m.id, info: m.info }));
      return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    },
    trigger(channel, event, data) {
      const ch = demo.pusher && demo.pusher.channel(channel);
      return !!(ch && ch.subscribed && ch.trigger(event, data));
    },
  };
  window.demo = demo;

  async function api(method, path, body) {
    const res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body ? { 'Content-Type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    let data = null;
    try { data = await res.json(); } catch (_) { /* empty */ }
    return { status: res.status, data };
  }

  // ------------------------------------------------------------ event log
  function addEvent(channel, event, data, userId) {
    const rec = { channel, event, data, user_id: userId, at: new Date().toISOString() };
    demo.events.push(rec);
    const li = el('li');
    li.dataset.channel = channel;
    li.dataset.event = event;
    li.append(el('span', 'time', rec.at.slice(11, 23) + ' '), el('span', 'ch', channel), ' ',
      el('span', 'ev', event), ' ', el('span', 'data', json(data)));
    if (userId) li.append(el('span', 'muted', ` (from user ${userId})`));
    const log = $('#log');
    log.prepend(li);
    while (log.children.length > 200) log.lastChild.remove();
    const card = document.querySelector(`.channel[data-channel="${CSS.escape(channel)}"] .last`);
    if (card) card.textContent = `${event}: ${json(data)}`;
  }

  // ------------------------------------------------------------ channel cards
  const KIND_LABEL = {
    public: 'public', private: 'private', restricted: 'private (admins only)',
    presence: 'presence', encrypted: 'private-encrypted (end-to-end)',
  };

  function card(kind, name) {
    const c = el('div', 'channel');
    c.dataset.channel = name;
    c.dataset.kind = kind;
    c.append(el('div', 'kind', KIND_LABEL[kind] || kind), el('h3', null, name));
    const st = el('div', 'status status-pending', 'pending');
    c.append(st, el('div', 'last muted', 'no events yet'));
    if (kind === 'presence') c.append(el('div', 'members-label muted', 'members:'), el('ul', 'members'));
    if (kind === 'encrypted') c.append(el('div', 'wire', 'on the wire: (nothing yet)'));
    $('#channels').append(c);
    return c;
  }

  function setStatus(name, status, detail) {
    demo.status[name] = status;
    demo.statusDetail[name] = detail || null;
    const st = document.querySelector(`.channel[data-channel="${CSS.escape(name)}"] .status`);
    if (st) {
      st.className = `status status-${status}`;
      st.textContent = detail ? `${status} (${detail})` : status;
    }
  }

  function renderMembers(name) {
    const ul = document.querySelector(`.channel[data-channel="${CSS.escape(name)}"] .members`);
    if (!ul) return;
    ul.replaceChildren(...demo.members(name).map((m) => {
      const li = el('li', null, `${m.info && m.info.name ? m.info.name : '?'} (${m.info && m.info.role ? m.info.role : '-'}, id ${m.id})`);
      li.dataset.userId = m.id;
      return li;
    }));
  }

  // ------------------------------------------------------------ pusher
  function connect(cfg, user) {
    const pusher = new Pusher(cfg.key, {
      wsHost: cfg.wsHost,
      wsPort: cfg.wsPort,
      wssPort: cfg.wsPort,
      forceTLS: cfg.forceTLS,
      enabledTransports: cfg.forceTLS ? ['wss'] : ['ws'],
      disableStats: true,
      cluster: 'mt1',
      channelAuthorization: { endpoint: cfg.channelAuthEndpoint, transport: 'ajax' },
      userAuthentication: { endpoint: cfg.userAuthEndpoint, transport: 'ajax' },
    });
    demo.pusher = pusher;

    pusher.connection.bind('state_change', ({ current }) => {
      const s = $('#state');
      s.textContent = current;
      s.className = `state state-${current}`;
      $('#socket-id').textContent = pusher.connection.socket_id || '-';
    });
    pusher.connection.bind('error', (err) => {
      const d = err && err.data ? err.data : err;
      addEvent('(connection)', 'error', d);
    });
    // Raw frames as the socket delivered them, before pusher-js decrypts encrypted channels.
    pusher.connection.bind('message', (msg) => {
      if (msg.event === 'pusher:signin_success') {
        demo.signedIn = true;
        $('#signin').textContent = 'signed in';
      } else if (msg.event === 'pusher_internal:subscription_succeeded' && msg.channel === `#server-to-user-${user.id}`) {
        demo.userChannelReady = true;
      } else if (msg.event === 'pusher:error') {
        addEvent('(connection)', 'pusher:error', msg.data);
      }
      if (msg.channel === cfg.channels.encrypted && !msg.event.startsWith('pusher')) {
        demo.wire[msg.channel] = msg.data;
        const w = document.querySelector(`.channel[data-channel="${CSS.escape(msg.channel)}"] .wire`);
        if (w) w.textContent = `on the wire: ${json(msg.data).slice(0, 140)}`;
      }
    });

    for (const [kind, name] of Object.entries(cfg.channels)) {
      card(kind, name);
      setStatus(name, 'pending');
      const ch = pusher.subscribe(name);
      ch.bind('pusher:subscription_succeeded', () => {
        setStatus(name, 'subscribed');
        if (kind === 'presence') renderMembers(name);
      });
      ch.bind('pusher:subscription_error', (err) => {
        const status = err && err.status ? `HTTP ${err.status}` : (err && err.type) || 'error';
        setStatus(name, 'denied', status);
        addEvent(name, 'pusher:subscription_error', { type: err && err.type, status: err && err.status });
      });
      if (kind === 'presence') {
        ch.bind('pusher:member_added', (m) => { renderMembers(name); addEvent(name, 'pusher:member_added', { id: m.id, info: m.info }); });
        ch.bind('pusher:member_removed', (m) => { renderMembers(name); addEvent(name, 'pusher:member_removed', { id: m.id }); });
      }
      // Global callbacks get no metadata, so the page's own client event is bound by name to
      // show the sender's user_id (the server adds it on presence channels).
      ch.bind('client-message', (data, meta) => addEvent(name, 'client-message', data, meta && meta.user_id));
      ch.bind_global((event, data) => {
        if (event.startsWith('pusher:') || event === 'client-message') return; // handled above
        addEvent(name, event, data);
      });
    }

    // Sign in (pusher:signin) so that server-to-user events (sendToUser) reach this page.
    $('#signin').textContent = 'pending';
    pusher.signin();
    pusher.user.bind('pusher:signin_error', (err) => {
      $('#signin').textContent = `failed (${err && err.status ? `HTTP ${err.status}` : 'error'})`;
      addEvent('(user)', 'pusher:signin_error', err);
    });
    pusher.user.bind_global((event, data) => {
      if (event.startsWith('pusher')) return;
      addEvent(`#server-to-user-${user.id}`, event, data);
    });

    const sel = $('#client-channel');
    for (const kind of ['private', 'presence', 'restricted']) {
      const o = el('option', null, cfg.channels[kind]);
      o.value = cfg.channels[kind];
      sel.append(o);
    }
  }

  // ------------------------------------------------------------ wiring
  async function main() {
    const [cfgRes, meRes] = await Promise.all([api('GET', '/config.json'), api('GET', '/me')]);
    demo.config = cfgRes.data;
    if (meRes.status !== 200) {
      show($('#login-panel'), true);
      $('#user').textContent = 'not logged in';
      $('#state').textContent = 'not connected';
      return;
    }
    demo.user = meRes.data.user;
    $('#user').textContent = `${demo.user.name} (${demo.user.role}, id ${demo.user.id})`;
    show($('#app-panel'), true);
    connect(demo.config, demo.user);
  }

  async function login(username, password) {
    const r = await api('POST', '/login', { username, password });
    if (r.status === 200) {
      location.reload();
    } else {
      const e = $('#login-error');
      e.textContent = (r.data && r.data.error) || `login failed (HTTP ${r.status})`;
      show(e, true);
    }
  }

  $('#login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    login($('#username').value, $('#password').value);
  });
  for (const b of document.querySelectorAll('.quick-login')) {
    b.addEventListener('click', () => login(b.dataset.username, b.dataset.password));
  }
  $('#logout').addEventListener('click', async () => {
    if (demo.pusher) demo.pusher.disconnect();
    await api('POST', '/logout');
    location.reload();
  });
  $('#publish').addEventListener('click', async () => {
    const r = await api('POST', '/demo/publish');
    $('#action-status').textContent = r.status === 200 ? `published round ${r.data.round}` : `publish failed (HTTP ${r.status})`;
  });
  $('#client-event-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const channel = $('#client-channel').value;
    const text = $('#client-text').value || 'hello';
    const ok = demo.trigger(channel, 'client-message', { text, from: demo.user && demo.user.name });
    $('#action-status').textContent = ok ? `sent client-message on ${channel}` : `not subscribed to ${channel}`;
  });

  main().catch((e) => addEvent('(page)', 'error', String(e && e.message ? e.message : e)));
})();
