// Shared by sockudo_v2.mjs and sockudo_v2_cluster.mjs: Sockudo's own client (@sockudo/client
// 2.2.0, tests/vendor) made ready for Node, and the few helpers both suites drive it with.
//
// The client's Node build uses the global WebSocket, so importing this module sets it to `ws`.
// The client keeps its protocol version in module globals: one process speaks one protocol
// (every client made here with another protocolVersion would change it for all).

import WebSocket from 'ws';
import PusherServer from 'pusher';

import { APP, Inbox, withTimeout } from './harness.mjs';

export { APP };

Inbox.prototype.next = function next(pred = () => true, ms = undefined) {
  return this.waitFor(pred, 'event', ms);
};
globalThis.WebSocket = WebSocket; // the client's Node build uses the global WebSocket
export const { default: Sockudo } = await import('@sockudo/client');

export const sdkFor = (port) =>
  new PusherServer({ appId: APP.id, key: APP.key, secret: APP.secret, host: '127.0.0.1', port: String(port), useTLS: false, timeout: 5_000 });

// The data of every event named `name` in `inbox`, in arrival order.
export const events = (inbox, name) => inbox.items.filter((m) => m.event === name).map((m) => m.data);

// Client helpers for one protocol (2: Sockudo V2, 1: Pusher protocol 7). `P` is the client's
// event prefix for protocol events.
export function sockudoClients(protocol) {
  const P = protocol === 2 ? 'sockudo:' : 'pusher:';

  // A client connecting to `port`. `sdk` signs private/presence subscriptions (the app's
  // backend). `client.global` gets every event the client emits (after its message_id
  // deduplication); `client.frames` every decoded frame off the wire, duplicates included.
  // `user` ({id, watchlist?, user_info?}): the user a signin() signs in as (signed by `sdk`).
  function connect(port, sdk, { userId, echo, recovery = true, user } = {}) {
    const client = new Sockudo(APP.key, {
      wsHost: '127.0.0.1',
      wsPort: port,
      forceTLS: false,
      enabledTransports: ['ws'],
      cluster: 'mt1',
      disableStats: true,
      protocolVersion: protocol,
      connectionRecovery: recovery,
      echoMessages: echo,
      channelAuthorization: {
        customHandler: ({ socketId, channelName }, callback) => {
          const presence = channelName.startsWith('presence-')
            ? { user_id: userId ?? 'u-' + socketId, user_info: { name: 'n' } }
            : undefined;
          callback(null, sdk.authorizeChannel(socketId, channelName, presence));
        },
      },
      userAuthentication: {
        customHandler: ({ socketId }, callback) => {
          if (!user) callback(new Error('no user for this client'), null);
          else callback(null, sdk.authenticateUser(socketId, user));
        },
      },
    });
    client.global = new Inbox('global');
    client.bind_global((event, data) => client.global.push({ event, data }));
    client.frames = new Inbox('frames');
    client.connection.bind('message', (ev) => client.frames.push(ev));
    return client;
  }

  async function connected(client, ms = 8_000) {
    if (client.connection.state === 'connected') return;
    await withTimeout(
      new Promise((resolve, reject) => {
        client.connection.bind('connected', resolve);
        client.connection.bind('failed', () => reject(new Error('connection failed')));
      }),
      ms,
      'connected',
    );
  }

  // Subscribes and waits for subscription_succeeded; `inbox` gets every event of the channel.
  async function subscribe(client, name, options) {
    const channel = client.subscribe(name, options);
    channel.inbox = new Inbox(name);
    channel.bind_global((event, data) => channel.inbox.push({ event, data }));
    await channel.inbox.next((m) => m.event === `${P}subscription_succeeded` || m.event === 'pusher:subscription_succeeded', 8_000);
    return channel;
  }

  return { P, connect, connected, subscribe };
}
