#!/usr/bin/env node
// Publishes demo events through pushcore's HTTP API with the `pusher` server SDK, using the same
// env vars as server.mjs (PUSHER_APP_*, PUSHER_HOST/PORT, PUSHER_ENCRYPTION_MASTER_KEY_BASE64).
//
//   node publish-demo.mjs              one round: public, private, admin, presence, encrypted, per-user
//   node publish-demo.mjs --every 2    a round every 2 s until Ctrl-C
//   node publish-demo.mjs --count 5    five rounds, one per second
//
// The page decrypts the encrypted channel's event only if it got its shared_secret from an auth
// server that uses the same master key: set PUSHER_ENCRYPTION_MASTER_KEY_BASE64 for both.

import { loadConfig } from './lib/config.mjs';
import { makeSdk, publishDemoRound, errText } from './lib/demo-events.mjs';

const args = process.argv.slice(2);
let every = 0;
let count = 1;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--every') { every = Number(args[++i]); count = Infinity; }
  else if (args[i] === '--count') { count = Number(args[++i]); every = every || 1; }
  else { console.error('usage: node publish-demo.mjs [--every SECONDS] [--count N]'); process.exit(2); }
}
if (!(every >= 0) || !(count >= 1)) { console.error('bad --every / --count'); process.exit(2); }

const cfg = loadConfig();
if (cfg.masterKeyGenerated) {
  console.error('note: PUSHER_ENCRYPTION_MASTER_KEY_BASE64 is unset; the encrypted event uses a random key and the page cannot decrypt it');
}
const sdk = makeSdk(cfg);
for (let i = 0; i < count; i++) {
  try {
    const r = await publishDemoRound(sdk, { source: 'publish-demo.mjs' });
    console.log(`round ${r.round}: ${r.events.map((e) => `${e.channel}/${e.event}`).join(', ')}`);
  } catch (e) {
    console.error(`publish failed: ${errText(e)}`);
    process.exitCode = 1;
    break;
  }
  if (i + 1 < count) await new Promise((r) => setTimeout(r, every * 1000));
}
