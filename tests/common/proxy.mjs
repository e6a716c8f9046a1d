// A TCP proxy for recovery tests (Node): `cut()` destroys every proxied connection and holds new
// ones (not forwarded) until `release()`, so a client's reconnect waits while the test publishes.
// `retarget(port)` sends later connections (and the held ones, on release) to another upstream
// port: a client cut from one cluster node reconnects to another. Loopback only.
import net from 'node:net';

export class Proxy {
  constructor(target) {
    this.target = target;
    this.pairs = new Set();
    this.waiting = [];
    this.hold = false;
    this.accepted = 0;
    this.server = net.createServer((client) => {
      this.accepted += 1;
      client.on('error', () => client.destroy());
      if (this.hold) this.waiting.push(client);
      else this.forward(client);
    });
  }
  async listen() {
    await new Promise((r) => this.server.listen(0, '127.0.0.1', r));
    return this.server.address().port;
  }
  forward(client) {
    const upstream = net.connect(this.target, '127.0.0.1');
    const pair = { client, upstream };
    this.pairs.add(pair);
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  }
  cut() {
    this.hold = true;
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
  }
  retarget(port) {
    this.target = port;
  }
  release() {
    this.hold = false;
    for (const c of this.waiting.splice(0)) {
      if (!c.destroyed) this.forward(c);
    }
  }
  close() {
    this.cut();
    for (const c of this.waiting.splice(0)) c.destroy();
    this.server.close();
  }
}
