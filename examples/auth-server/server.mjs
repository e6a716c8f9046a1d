#!/usr/bin/env node
// Example auth server for pushcore: channel authorization (/sockudo/auth), user authentication
// (/sockudo/user-auth), a tiny login session, and a demo page. Configured from env vars only
// (see README.md). Logs are JSON lines on stdout: one "listening" line at start, one
// "auth_denied" audit line per refused auth attempt.

import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';

import { loadConfig, publicConfig } from './lib/config.mjs';
import {
  DEMO_CHANNELS, SOCKET_ID_RE, CHANNEL_NAME_RE,
  authorizeChannelAccess, checkCredentials, presenceUserInfo, publicProfile, userById,
} from './lib/policy.mjs';
import { makeSdk, publishDemoRound, errText } from './lib/demo-events.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

// ---------------------------------------------------------------- logging

function log(level, msg, fields = {}) {
  process.stdout.write(`${JSON.stringify({ ts: new Date().toISOString(), level, msg, ...fields })}\n`);
}

// Attacker-controlled strings are bounded before they reach the log (JSON encoding escapes them).
function clip(v, n = 200) {
  if (typeof v !== 'string') return v === undefined ? null : typeof v;
  return v.length > n ? `${v.slice(0, n)}...` : v;
}

// Exactly one line per refused attempt on an auth endpoint (401, 400 or 403). Never the
// signature, the session token or a cookie.
function audit(req, status, reason, fields = {}) {
  log('warn', 'auth_denied', {
    endpoint: req.path,
    status,
    reason,
    user_id: req.user ? req.user.id : null,
    ip: req.socket.remoteAddress,
    ...fields,
  });
}

// ---------------------------------------------------------------- sessions

const SESSION_COOKIE = 'demo_session';

class Sessions {
  constructor(ttlSeconds) {
    this.ttlMs = ttlSeconds * 1000;
    this.map = new Map(); // token -> { userId, expires }
  }
  create(userId) {
    const token = randomBytes(32).toString('base64url');
    this.map.set(token, { userId, expires: Date.now() + this.ttlMs });
    return token;
  }
  get(token) {
    if (typeof token !== 'string' || token.length === 0 || token.length > 100) return null;
    const s = this.map.get(token);
    if (!s) return null;
    if (s.expires < Date.now()) {
      this.map.delete(token);
      return null;
    }
    return s;
  }
  destroy(token) {
    this.map.delete(token);
  }
  sweep() {
    const now = Date.now();
    for (const [t, s] of this.map) if (s.expires < now) this.map.delete(t);
  }
}

function parseCookies(header) {
  const out = {};
  if (typeof header !== 'string') return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (!(k in out)) out[k] = v;
  }
  return out;
}

// The session token comes from the HttpOnly cookie (browsers) or an `Authorization: Bearer`
// header (API clients such as Laravel Echo's `bearerToken` option).
function sessionToken(req) {
  const authz = req.get('authorization');
  if (authz && /^Bearer\s+/i.test(authz)) return authz.replace(/^Bearer\s+/i, '').trim();
  return parseCookies(req.get('cookie'))[SESSION_COOKIE] ?? null;
}

// ---------------------------------------------------------------- app

export function createServer(cfg) {
  const sdk = makeSdk(cfg);
  const sessions = new Sessions(cfg.sessionTtlSeconds);
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  const wsOrigin = `${cfg.ws.forceTLS ? 'wss' : 'ws'}://${cfg.ws.host}:${cfg.ws.port}`;
  app.use((req, res, next) => {
    res.set({
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
      'Content-Security-Policy':
        `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; ` +
        `connect-src 'self' ${wsOrigin}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'`,
    });
    next();
  });

  // Short per-request deadline for handlers (socket-level timeouts are set on the http.Server).
  app.use((req, res, next) => {
    const t = setTimeout(() => {
      if (!res.headersSent) res.status(503).json({ error: 'Timeout' });
    }, cfg.requestTimeoutMs);
    res.once('finish', () => clearTimeout(t));
    res.once('close', () => clearTimeout(t));
    next();
  });

  // Small bodies only: pusher-js posts form-encoded `socket_id` / `channel_name`.
  const bodies = [express.urlencoded({ extended: false, limit: '2kb' }), express.json({ limit: '2kb' })];

  function loadUser(req, _res, next) {
    const s = sessions.get(sessionToken(req));
    req.user = s ? userById(s.userId) : null;
    next();
  }

  // Body only, never the query string: a value must be a string in the parsed body.
  function fromBody(req, name) {
    const b = req.body;
    if (!b || typeof b !== 'object') return undefined;
    const v = Object.prototype.hasOwnProperty.call(b, name) ? b[name] : undefined;
    return typeof v === 'string' ? v : undefined;
  }

  // Anonymous callers are refused before their body is even parsed, let alone signed.
  function requireUser(req, res, next) {
    if (req.user) return next();
    audit(req, 401, 'not logged in');
    return res.status(401).json({ error: 'Unauthorized' });
  }

  const noStore = (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  };

  // ---- session
  app.post('/login', noStore, bodies, (req, res) => {
    const u = checkCredentials(fromBody(req, 'username'), fromBody(req, 'password'));
    if (!u) {
      log('warn', 'login_failed', { username: clip(fromBody(req, 'username'), 50), ip: req.socket.remoteAddress });
      return res.status(401).json({ error: 'Invalid credentials' });
    }
    const token = sessions.create(u.id);
    res.cookie(SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: 'strict',
      secure: false, // set true behind HTTPS
      path: '/',
      maxAge: cfg.sessionTtlSeconds * 1000,
    });
    // The token is also returned for non-browser clients (Authorization: Bearer).
    res.json({ user: publicProfile(u), token });
  });

  app.post('/logout', noStore, (req, res) => {
    const t = sessionToken(req);
    if (t) sessions.destroy(t);
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    res.json({ ok: true });
  });

  app.get('/me', noStore, loadUser, (req, res) => {
    if (!req.user) return res.status(401).json({ error: 'Unauthorized' });
    res.json({ user: publicProfile(req.user) });
  });

  // ---- channel authorization (pusher-js channelAuthorization endpoint)
  // 1. Who is asking? (requireUser: 401 for anonymous callers, before anything else.)
  app.post('/sockudo/auth', noStore, loadUser, requireUser, bodies, (req, res) => {
    const socketId = fromBody(req, 'socket_id');
    const channel = fromBody(req, 'channel_name');
    // 2. Well-formed request (values from the body only).
    if (!socketId || !SOCKET_ID_RE.test(socketId) || !channel || !CHANNEL_NAME_RE.test(channel)) {
      audit(req, 400, 'missing or invalid socket_id / channel_name', { channel_name: clip(channel), socket_id: clip(socketId, 50) });
      return res.status(400).json({ error: 'Bad Request' });
    }
    // 3. May this user use this channel?
    const decision = authorizeChannelAccess(req.user, channel);
    if (!decision.allow) {
      audit(req, 403, decision.reason, { channel_name: channel, socket_id: socketId });
      return res.status(403).json({ error: 'Forbidden' });
    }
    // 4. Sign. Presence: user_id plus only the fields every member may see.
    const presenceData = channel.startsWith('presence-')
      ? { user_id: req.user.id, user_info: presenceUserInfo(req.user) }
      : undefined;
    // For private-encrypted-* the SDK adds `shared_secret` (derived per channel from the master
    // key, which itself never leaves this process).
    res.json(sdk.authorizeChannel(socketId, channel, presenceData));
  });

  // ---- user authentication (pusher-js userAuthentication endpoint, for signin())
  app.post('/sockudo/user-auth', noStore, loadUser, requireUser, bodies, (req, res) => {
    const socketId = fromBody(req, 'socket_id');
    if (!socketId || !SOCKET_ID_RE.test(socketId)) {
      audit(req, 400, 'missing or invalid socket_id', { socket_id: clip(socketId, 50) });
      return res.status(400).json({ error: 'Bad Request' });
    }
    res.json(sdk.authenticateUser(socketId, { id: req.user.id, user_info: presenceUserInfo(req.user) }));
  });

  // ---- demo page
  app.get('/config.json', noStore, (_req, res) => res.json(publicConfig(cfg, DEMO_CHANNELS)));

  app.post('/demo/publish', noStore, loadUser, async (req, res) => {
    if (!cfg.demoPublishEndpoint) return res.status(404).json({ error: 'Not Found' });
    if (!req.user) return res.status(401).json({ error: 'Unauthorized' }); // not an auth endpoint: no audit line
    try {
      res.json(await publishDemoRound(sdk, { source: `button (${req.user.name})` }));
    } catch (e) {
      log('error', 'publish_failed', { error: errText(e) });
      if (!res.headersSent) res.status(502).json({ error: 'Publish failed' });
    }
  });

  const pusherJsWeb = join(dirname(require.resolve('pusher-js/package.json')), 'dist', 'web');
  app.get('/vendor/pusher-with-encryption.min.js', (_req, res) =>
    res.sendFile(join(pusherJsWeb, 'pusher-with-encryption.min.js')));
  app.use(express.static(join(here, 'public'), { index: 'index.html', dotfiles: 'ignore' }));

  app.use((_req, res) => res.status(404).json({ error: 'Not Found' }));
  // Body parser errors (too large, malformed JSON) and anything unexpected: no stack traces.
  app.use((err, req, res, _next) => {
    const status = Number.isInteger(err.status) && err.status >= 400 && err.status < 500 ? err.status : 500;
    if (req.path.startsWith('/sockudo/')) audit(req, status, `bad request body: ${clip(err.type || err.message, 80)}`);
    else if (status === 500) log('error', 'request_failed', { path: req.path, error: String(err.message) });
    if (!res.headersSent) res.status(status).json({ error: status === 500 ? 'Internal Server Error' : 'Bad Request' });
  });

  const server = http.createServer(
    {
      requestTimeout: cfg.requestTimeoutMs, // whole request (headers + body)
      headersTimeout: Math.min(cfg.requestTimeoutMs, 5000),
      connectionsCheckingInterval: Math.min(1000, cfg.requestTimeoutMs),
    },
    app,
  );
  server.keepAliveTimeout = 5000;
  server.setTimeout(cfg.requestTimeoutMs * 2); // idle sockets

  const sweeper = setInterval(() => sessions.sweep(), 60_000);
  sweeper.unref();

  let ticker = null;
  if (cfg.demoPublishIntervalMs > 0) {
    ticker = setInterval(() => {
      publishDemoRound(sdk).catch((e) =>
        log('warn', 'demo_publish_failed', { error: errText(e) }));
    }, cfg.demoPublishIntervalMs);
    ticker.unref();
  }

  return { server, app, sdk, stop: () => { if (ticker) clearInterval(ticker); clearInterval(sweeper); } };
}

// ---------------------------------------------------------------- main

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  let cfg;
  try {
    cfg = loadConfig();
  } catch (e) {
    log('error', 'bad_config', { error: e.message });
    process.exit(2);
  }
  if (cfg.masterKeyGenerated) {
    log('warn', 'encryption_master_key_generated',
      { note: 'PUSHER_ENCRYPTION_MASTER_KEY_BASE64 is unset: using a random key for this process only' });
  }
  const { server, stop } = createServer(cfg);
  server.listen(cfg.port, cfg.host, () => {
    const { port } = server.address();
    log('info', 'listening', {
      url: `http://${cfg.host}:${port}/`,
      port,
      pushcore: `${cfg.app.useTLS ? 'https' : 'http'}://${cfg.app.host}:${cfg.app.port}`,
      app_id: cfg.app.appId,
      demo_publish_interval_ms: cfg.demoPublishIntervalMs,
    });
  });
  const shutdown = () => {
    stop();
    server.close(() => process.exit(0));
    server.closeAllConnections?.();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
