// Configuration from environment variables only. Secrets (app secret, encryption master key)
// stay in this process: nothing here is ever sent to a browser except `publicConfig()`.

import { randomBytes } from 'node:crypto';

function str(name, def) {
  const v = process.env[name];
  return v === undefined || v === '' ? def : v;
}

function int(name, def, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}) {
  const raw = str(name, undefined);
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(raw)}`);
  }
  return n;
}

function bool(name, def) {
  const raw = str(name, undefined);
  if (raw === undefined) return def;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new Error(`${name} must be true or false, got ${JSON.stringify(raw)}`);
}

export function loadConfig() {
  const pusherHost = str('PUSHER_HOST', '127.0.0.1');
  const pusherPort = int('PUSHER_PORT', 6001, { min: 1, max: 65535 });
  const useTLS = bool('PUSHER_USE_TLS', false);

  let masterKey = str('PUSHER_ENCRYPTION_MASTER_KEY_BASE64', undefined);
  let masterKeyGenerated = false;
  if (masterKey === undefined) {
    // Demo convenience: a random key for this process. Publishers outside this process
    // (publish-demo.mjs, your backend) need the same key, so set it explicitly in real use.
    masterKey = randomBytes(32).toString('base64');
    masterKeyGenerated = true;
  } else if (Buffer.from(masterKey, 'base64').length !== 32) {
    throw new Error('PUSHER_ENCRYPTION_MASTER_KEY_BASE64 must be base64 of exactly 32 bytes');
  }

  return {
    // Where this example listens (names distinct from pushcore's HOST / PORT overrides).
    host: str('AUTH_SERVER_HOST', '127.0.0.1'),
    port: int('AUTH_SERVER_PORT', 3000, { min: 0, max: 65535 }),
    // The pushcore app, as the server SDK sees it (HTTP API).
    app: {
      appId: str('PUSHER_APP_ID', 'app-id'),
      key: str('PUSHER_APP_KEY', 'app-key'),
      secret: str('PUSHER_APP_SECRET', 'app-secret'),
      host: pusherHost,
      port: pusherPort,
      useTLS,
    },
    masterKey,
    masterKeyGenerated,
    // What the browser connects to (defaults to the same host/port as the HTTP API).
    ws: {
      host: str('PUSHER_WS_HOST', pusherHost),
      port: int('PUSHER_WS_PORT', pusherPort, { min: 1, max: 65535 }),
      forceTLS: useTLS,
    },
    requestTimeoutMs: int('REQUEST_TIMEOUT_MS', 5000, { min: 100, max: 120_000 }),
    sessionTtlSeconds: int('SESSION_TTL_SECONDS', 3600, { min: 1 }),
    // Demo ticker: publish one round of demo events every N ms (0 = off).
    demoPublishIntervalMs: int('DEMO_PUBLISH_INTERVAL_MS', 5000, { min: 0 }),
    // Allow the logged-in page to trigger a round through POST /demo/publish.
    demoPublishEndpoint: bool('DEMO_PUBLISH_ENDPOINT', true),
  };
}

// The only configuration the page gets: no secret, no master key.
export function publicConfig(cfg, channels) {
  return {
    key: cfg.app.key,
    wsHost: cfg.ws.host,
    wsPort: cfg.ws.port,
    forceTLS: cfg.ws.forceTLS,
    channelAuthEndpoint: '/sockudo/auth',
    userAuthEndpoint: '/sockudo/user-auth',
    channels,
  };
}
