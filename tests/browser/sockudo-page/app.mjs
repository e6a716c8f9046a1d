// The page side of tests/browser/sockudo_v2.mjs: one @sockudo/client (with-encryption web build)
// on Protocol V2 with connection recovery. The client keeps its protocol version in module
// globals, so this page constructs exactly one client. Everything it sees is recorded on
// window.sockudoTest for the test to read; the test drives it through the functions there.
import Sockudo from '/vendor/sockudo-with-encryption.mjs';

const cfg = await (await fetch('/config.json')).json();
const copy = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));
const logEl = document.getElementById('log');
const stateEl = document.getElementById('state');

const T = {
  config: cfg,
  events: [], // every event of a subscribed channel: {channel, event, data}
  global: [], // every event the client emits globally: {event, data}
  states: [], // connection states in order
  errors: [], // connection errors
};
window.sockudoTest = T;

const client = new Sockudo(cfg.key, {
  wsHost: cfg.wsHost,
  wsPort: cfg.wsPort,
  forceTLS: false,
  enabledTransports: ['ws'],
  cluster: 'mt1',
  disableStats: true,
  protocolVersion: 2,
  connectionRecovery: true,
  // The client's own HTTP authorizer (fetch, form body) against the test server's endpoint.
  channelAuthorization: { endpoint: '/auth', transport: 'fetch' },
});
T.client = client;

client.connection.bind('state_change', ({ current }) => {
  T.states.push(current);
  stateEl.textContent = current;
});
client.connection.bind('error', (e) => T.errors.push(String((e && (e.error?.data?.message || e.type)) || e)));
client.bind_global((event, data) => T.global.push({ event, data: copy(data) }));

T.state = () => client.connection.state;
T.socketId = () => client.connection.socket_id;
T.subscribe = (name) => {
  const channel = client.subscribe(name);
  channel.bind_global((event, data) => {
    T.events.push({ channel: name, event, data: copy(data) });
    const li = document.createElement('li');
    li.textContent = `${name} ${event} ${JSON.stringify(data)}`;
    logEl.appendChild(li);
  });
  return true;
};
T.trigger = (name, event, data) => client.channel(name).trigger(event, data);
T.ready = true;
