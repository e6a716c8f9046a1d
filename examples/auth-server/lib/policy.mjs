// Demo users and the channel access policy (tenant and ownership rules).
//
// Channel naming scheme used by this example:
//   private-user-<user id>                 only that user (ownership)
//   private-<tenant>-admin[-...]           users of <tenant> with role "admin"
//   private-<tenant>-<rest>                users of <tenant>
//   presence-<tenant>-<rest>               users of <tenant>
//   private-encrypted-<tenant>-<rest>      users of <tenant>
// Anything else that needs auth is denied (default deny).

import { timingSafeEqual, createHash } from 'node:crypto';

// Demo accounts. In a real backend these come from your user store; passwords are never kept
// in clear text. `email` and `tenant` are private: they never go into presence user_info.
export const USERS = [
  { id: '1', username: 'alice', password: 'alice-demo', name: 'Alice', role: 'admin', tenant: 'acme', email: 'alice@acme.example' },
  { id: '2', username: 'bob', password: 'bob-demo', name: 'Bob', role: 'member', tenant: 'acme', email: 'bob@acme.example' },
];

const byId = new Map(USERS.map((u) => [u.id, u]));
const byUsername = new Map(USERS.map((u) => [u.username, u]));

function digest(s) {
  return createHash('sha256').update(String(s)).digest();
}

// Constant-time credential check (compares fixed-length digests).
export function checkCredentials(username, password) {
  if (typeof username !== 'string' || typeof password !== 'string') return null;
  const u = byUsername.get(username);
  const ok = timingSafeEqual(digest(password), digest(u ? u.password : 'x'.repeat(16)));
  return u && ok ? u : null;
}

export function userById(id) {
  return byId.get(id) ?? null;
}

// What a user may show about themselves: to the page (/me) and, for presence, to every member.
export function publicProfile(u) {
  return { id: u.id, name: u.name, role: u.role };
}

// Presence user_info: only fields that are safe for every member of the channel to see.
export function presenceUserInfo(u) {
  return { name: u.name, role: u.role };
}

// The channels the demo page subscribes to.
export const DEMO_CHANNELS = {
  public: 'demo-public',
  private: 'private-acme-orders',
  restricted: 'private-acme-admin',
  presence: 'presence-acme-lobby',
  encrypted: 'private-encrypted-acme-secrets',
};

export const SOCKET_ID_RE = /^\d{1,20}\.\d{1,20}$/;
// Pusher's channel-name alphabet; at most 200 bytes (pushcore's default limit).
export const CHANNEL_NAME_RE = /^[A-Za-z0-9_\-=@,.;]{1,200}$/;

const PREFIXES = ['private-encrypted-', 'presence-', 'private-'];

// Returns { allow: true } or { allow: false, reason }.
export function authorizeChannelAccess(user, channel) {
  const prefix = PREFIXES.find((p) => channel.startsWith(p));
  if (!prefix) return { allow: false, reason: 'not an authorized channel type' };
  const rest = channel.slice(prefix.length);

  if (prefix === 'private-' && rest.startsWith('user-')) {
    const owner = rest.slice('user-'.length);
    return owner === user.id ? { allow: true } : { allow: false, reason: 'not the channel owner' };
  }

  const dash = rest.indexOf('-');
  if (dash <= 0 || dash === rest.length - 1) return { allow: false, reason: 'unknown channel' };
  const tenant = rest.slice(0, dash);
  const topic = rest.slice(dash + 1);
  if (tenant !== user.tenant) return { allow: false, reason: 'tenant mismatch' };
  if ((topic === 'admin' || topic.startsWith('admin-')) && user.role !== 'admin') {
    return { allow: false, reason: 'role admin required' };
  }
  return { allow: true };
}
