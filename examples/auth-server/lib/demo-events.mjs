// One "round" of demo events: one event on each demo channel plus one server-to-user event per
// demo user. The encrypted channel's event is encrypted by the SDK (the server only relays
// ciphertext). Used by the ticker and POST /demo/publish in server.mjs, and by publish-demo.mjs.

import Pusher from 'pusher';
import { DEMO_CHANNELS, USERS } from './policy.mjs';

export function makeSdk(cfg) {
  return new Pusher({
    appId: cfg.app.appId,
    key: cfg.app.key,
    secret: cfg.app.secret,
    host: cfg.app.host,
    port: String(cfg.app.port),
    useTLS: cfg.app.useTLS,
    timeout: cfg.requestTimeoutMs,
    encryptionMasterKeyBase64: cfg.masterKey,
  });
}

let round = 0;

export async function publishDemoRound(sdk, { source = 'ticker' } = {}) {
  const n = ++round;
  const at = new Date().toISOString();
  const batch = [
    { channel: DEMO_CHANNELS.public, name: 'demo-event', data: { n, at, source, text: `public hello #${n}` } },
    { channel: DEMO_CHANNELS.private, name: 'order-created', data: { n, at, source, order_id: `A-${1000 + n}`, total: 10 + n } },
    { channel: DEMO_CHANNELS.restricted, name: 'admin-alert', data: { n, at, source, level: 'info', text: `admins only #${n}` } },
    { channel: DEMO_CHANNELS.presence, name: 'announcement', data: { n, at, source, text: `lobby announcement #${n}` } },
    { channel: DEMO_CHANNELS.encrypted, name: 'secret-message', data: { n, at, source, text: `end-to-end encrypted #${n}` } },
  ];
  await sdk.triggerBatch(batch); // the SDK encrypts the private-encrypted-* item
  await Promise.all(USERS.map((u) => sdk.sendToUser(u.id, 'notice', { n, at, source, text: `hi ${u.name}, this is only for you (#${n})` })));
  return { round: n, events: batch.map((e) => ({ channel: e.channel, event: e.name })).concat(USERS.map((u) => ({ channel: `#server-to-user-${u.id}`, event: 'notice' }))) };
}

// The SDK's RequestError wraps the cause (`error`) and the HTTP answer (`status`, `body`).
export function errText(e) {
  if (!e) return String(e);
  let s = e.message || String(e);
  if (e.error && e.error.message) s += `: ${e.error.message}${e.error.code ? ` (${e.error.code})` : ''}`;
  if (e.status) s += ` (HTTP ${e.status}${e.body ? `: ${String(e.body).slice(0, 200)}` : ''})`;
  return s;
}
