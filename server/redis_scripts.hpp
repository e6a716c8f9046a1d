#pragma once
// The Lua scripts of the Redis adapter (redis_adapter.cpp: resync, heartbeat, reap;
// redis_membership.cpp: the membership changes and the queries), atomic in Redis; every script
// but the prelude is sent as prelude + body. Moved verbatim out of redis_adapter.cpp.

#include <string>
#include <string_view>

namespace server::redis_scripts {

// ---- Presence member values --------------------------------------------------------------------
// The value of a user in {prefix}:p:{app}:{channel}:{node} is its user_info JSON, prefixed with
// '#' when the user id was signed as a JSON number (protocol §5.1). JSON text never starts with
// '#', so a value without it is a string id (also what nodes before this marker wrote). The
// scripts that build frames from stored members (lua_reap) and list users (lua_query_users)
// read the same marker.

/// The stored value of a member.
inline std::string member_value(std::string_view user_info, bool user_id_numeric) {
  std::string out;
  out.reserve(user_info.size() + 1);
  if (user_id_numeric) out.push_back('#');
  out += user_info;
  return out;
}

/// Strips the marker off a stored value (leaving its user_info); true when the id is numeric.
inline bool take_member_value(std::string& value) {
  if (value.empty() || value.front() != '#') return false;
  value.erase(0, 1);
  return true;
}

// ---- Lua scripts (atomic in Redis; see docs/CLUSTER.md for the key layout) -------------------
// ARGV[1] = prefix, ARGV[2] = this node's id in every script.
inline constexpr std::string_view lua_prelude = R"lua(
local P, NODE = ARGV[1], ARGV[2]
local function live()
  local out = {NODE}
  for _, n in ipairs(redis.call('SMEMBERS', P .. ':nodes')) do
    if n ~= NODE and redis.call('EXISTS', P .. ':alive:' .. n) == 1 then out[#out + 1] = n end
  end
  return out
end
local function f(s) return #s .. ':' .. s end
local function env(t, app, target, payload, except)
  return 'pc1' .. f(t) .. f(NODE) .. f(app) .. f(target) .. f(payload) .. f(except)
end
local function sckey(app, n) return P .. ':sc:' .. app .. ':' .. n end
local function pkey(app, ch, n) return P .. ':p:' .. app .. ':' .. ch .. ':' .. n end
local function total(nodes, app, ch)
  local s = 0
  for _, n in ipairs(nodes) do s = s + (tonumber(redis.call('HGET', sckey(app, n), ch)) or 0) end
  return s
end
local function has_user(nodes, app, ch, user, skip)
  for _, n in ipairs(nodes) do
    if n ~= skip and redis.call('HEXISTS', pkey(app, ch, n), user) == 1 then return true end
  end
  return false
end
local function numeric_value(v) return string.sub(v, 1, 1) == '#' end
-- The value of `user` on another live node than `skip`, or nil.
local function held_value(nodes, app, ch, user, skip)
  for _, n in ipairs(nodes) do
    if n ~= skip then
      local v = redis.call('HGET', pkey(app, ch, n), user)
      if v then return v end
    end
  end
  return nil
end
local function distinct_users(nodes, app, ch)
  local seen, out = {}, {}
  for _, n in ipairs(nodes) do
    for _, u in ipairs(redis.call('HKEYS', pkey(app, ch, n))) do
      if not seen[u] then seen[u] = true; out[#out + 1] = u end
    end
  end
  return out
end
)lua";

// This node's subscription count of a channel: ARGV app, channel, count -> {before, after}
// (cluster totals), from which exactly one node sees each occupied/vacated transition.
inline constexpr std::string_view lua_sub = R"lua(
local app, ch, cnt = ARGV[3], ARGV[4], tonumber(ARGV[5])
local nodes = live()
local before = total(nodes, app, ch)
local key = sckey(app, NODE)
if cnt == 0 then
  redis.call('HDEL', key, ch)
else
  redis.call('HSET', key, ch, cnt)
  redis.call('HSET', P .. ':keys:' .. NODE, key, 'sc\n' .. app .. '\n')
end
return {before, total(nodes, app, ch)}
)lua";

// Presence join: ARGV app, channel, user, value (member_value), write, bus, member_added frame,
// joiner socket. Returns {first, user1, value1, ...}: first = 1 when no other live node has the
// user (then member_added is published from inside the script, so it is ordered with every
// other decision), followed by the cluster's members (each user once, the value of the first
// live node that has it, this one first). A user another node holds already keeps that node's
// id type in this node's value (protocol §5.1: the first join's type wins, cluster-wide).
inline constexpr std::string_view lua_pjoin = R"lua(
local app, ch, user = ARGV[3], ARGV[4], ARGV[5]
local nodes = live()
local first = 0
if ARGV[7] == '1' then
  local value = ARGV[6]
  local held = held_value(nodes, app, ch, user, NODE)
  if not held then
    first = 1
  elseif numeric_value(held) ~= numeric_value(value) then
    -- Same text, the other type (42 vs "42"): adopt the held type, keep this join's info.
    if numeric_value(value) then value = string.sub(value, 2) else value = '#' .. value end
  end
  local key = pkey(app, ch, NODE)
  redis.call('HSET', key, user, value)
  redis.call('HSET', P .. ':keys:' .. NODE, key, 'p\n' .. app .. '\n' .. ch)
  if first == 1 then redis.call('PUBLISH', ARGV[8], env('M', app, ch, ARGV[9], ARGV[10])) end
end
local out = {first}
local seen = {}
for _, n in ipairs(nodes) do
  local kv = redis.call('HGETALL', pkey(app, ch, n))
  for i = 1, #kv, 2 do
    if not seen[kv[i]] then
      seen[kv[i]] = true
      out[#out + 1] = kv[i]
      out[#out + 1] = kv[i + 1]
    end
  end
end
return out
)lua";

// Presence leave: ARGV app, channel, user, bus, member_removed frame with a string id, the same
// with a numeric id ('' when the id is no number token), this node's type ('1' numeric) ->
// 0 while another live node has the user; else member_removed is published from inside the
// script, typed as this node's stored value (its type, see lua_pjoin), and the answer is 1
// (string id) or 2 (numeric id).
inline constexpr std::string_view lua_pleave = R"lua(
local app, ch, user = ARGV[3], ARGV[4], ARGV[5]
local nodes = live()
local key = pkey(app, ch, NODE)
local v = redis.call('HGET', key, user)
redis.call('HDEL', key, user)
if has_user(nodes, app, ch, user, NODE) then return 0 end
local numeric = ARGV[9] == '1'
if v then numeric = numeric_value(v) end
if numeric and ARGV[8] ~= '' then
  redis.call('PUBLISH', ARGV[6], env('M', app, ch, ARGV[8], ''))
  return 2
end
redis.call('PUBLISH', ARGV[6], env('M', app, ch, ARGV[7], ''))
return 1
)lua";

// Heartbeat: ARGV ttl_ms -> 1 when this node was registered already (0: it had been reaped).
inline constexpr std::string_view lua_heartbeat = R"lua(
local added = redis.call('SADD', P .. ':nodes', NODE)
redis.call('SET', P .. ':alive:' .. NODE, '1', 'PX', ARGV[3])
if added == 1 then return 0 end
return 1
)lua";

// Connection counts of the apps with a quota (app max_connections, cluster-wide).
// ARGV[3..] = app id, this node's count, app id, count, ... Replaces this node's
// {P}:conns:{node} hash (indexed, so reaper and resync delete it) and returns, per app in
// order, the sum over the other live nodes.
inline constexpr std::string_view lua_conn_counts = R"lua(
local key = P .. ':conns:' .. NODE
redis.call('DEL', key)
for i = 3, #ARGV, 2 do
  if tonumber(ARGV[i + 1]) > 0 then redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end
end
redis.call('HSET', P .. ':keys:' .. NODE, key, 'cc\n\n')
local out = {}
local nodes = live()
for i = 3, #ARGV, 2 do
  local s = 0
  for _, n in ipairs(nodes) do
    if n ~= NODE then s = s + (tonumber(redis.call('HGET', P .. ':conns:' .. n, ARGV[i])) or 0) end
  end
  out[#out + 1] = s
end
return out
)lua";

// Reaper: removes every registered node whose alive key expired (atomically, so one reaper
// wins), deletes its contributions and announces member_removed for users it was the last
// holder of. ARGV bus -> flat {kind, app, channel, user} quads: 'r' member removed ('R' when
// its id is numeric), 'v' channel vacated, 'n' node reaped (in `app`).
inline constexpr std::string_view lua_reap = R"lua(
local out = {}
for _, n in ipairs(redis.call('SMEMBERS', P .. ':nodes')) do
  if n ~= NODE and redis.call('EXISTS', P .. ':alive:' .. n) == 0 then
    redis.call('SREM', P .. ':nodes', n)
    local idx = P .. ':keys:' .. n
    local entries = redis.call('HGETALL', idx)
    local nodes = live()
    for i = 1, #entries, 2 do
      local key, meta = entries[i], entries[i + 1]
      local kind, app, ch = string.match(meta, '^(%a+)\n([^\n]*)\n(.*)$')
      if kind == 'sc' then
        local kv = redis.call('HGETALL', key)
        redis.call('DEL', key)
        for j = 1, #kv, 2 do
          if total(nodes, app, kv[j]) == 0 then
            out[#out + 1] = 'v'; out[#out + 1] = app; out[#out + 1] = kv[j]; out[#out + 1] = ''
          end
        end
      elseif kind == 'on' then
        local users = redis.call('SMEMBERS', key)
        redis.call('DEL', key)
        for _, u in ipairs(users) do
          local elsewhere = false
          for _, m in ipairs(nodes) do
            if redis.call('SISMEMBER', P .. ':on:' .. app .. ':' .. m, u) == 1 then elsewhere = true end
          end
          if not elsewhere then
            local frame = '{"event":"pusher_internal:watchlist_events","data":{"events":[' ..
              '{"name":"offline","user_ids":[' .. cjson.encode(u) .. ']}]}}'
            redis.call('PUBLISH', ARGV[3], env('W', app, u, frame, ''))
          end
        end
      elseif kind == 'cc' then
        redis.call('DEL', key)
      elseif kind == 'p' then
        local kv = redis.call('HGETALL', key)
        redis.call('DEL', key)
        for j = 1, #kv, 2 do
          local u = kv[j]
          if not has_user(nodes, app, ch, u, '') then
            -- A numeric id is a JSON number token (validated when it joined): written as is.
            local numeric = numeric_value(kv[j + 1])
            local id = numeric and u or cjson.encode(u)
            local frame = '{"event":"pusher_internal:member_removed","channel":' ..
              cjson.encode(ch) .. ',"data":' .. cjson.encode('{"user_id":' .. id .. '}') .. '}'
            redis.call('PUBLISH', ARGV[3], env('M', app, ch, frame, ''))
            out[#out + 1] = numeric and 'R' or 'r'
            out[#out + 1] = app; out[#out + 1] = ch; out[#out + 1] = u
          end
        end
      end
    end
    redis.call('DEL', idx)
    out[#out + 1] = 'n'; out[#out + 1] = n; out[#out + 1] = ''; out[#out + 1] = ''
  end
end
return out
)lua";

// Resync: replaces this node's whole contribution with the records that follow ARGV ttl_ms:
// quintuples {'sc', app, channel, channel, count} / {'p', app, channel, user, member_value} /
// {'on', app, '', user, ''}.
inline constexpr std::string_view lua_resync = R"lua(
local idx = P .. ':keys:' .. NODE
local entries = redis.call('HGETALL', idx)
for i = 1, #entries, 2 do redis.call('DEL', entries[i]) end
redis.call('DEL', idx)
redis.call('SADD', P .. ':nodes', NODE)
redis.call('SET', P .. ':alive:' .. NODE, '1', 'PX', ARGV[3])
local i = 4
while i + 4 <= #ARGV do
  local kind, app, ch = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local key, meta
  if kind == 'sc' then
    key, meta = sckey(app, NODE), 'sc\n' .. app .. '\n'
  elseif kind == 'on' then
    key, meta = P .. ':on:' .. app .. ':' .. NODE, 'on\n' .. app .. '\n'
  else
    key, meta = pkey(app, ch, NODE), 'p\n' .. app .. '\n' .. ch
  end
  if kind == 'on' then
    redis.call('SADD', key, ARGV[i + 3])
  else
    redis.call('HSET', key, ARGV[i + 3], ARGV[i + 4])
  end
  redis.call('HSET', idx, key, meta)
  i = i + 5
end
return 1
)lua";

// Watchlists: ARGV app, user, online ('1'/'0'), bus, watchlist_events frame. Publishes the
// frame (watchers on every node) when this was the user's first / last signed-in node.
inline constexpr std::string_view lua_online = R"lua(
local app, user = ARGV[3], ARGV[4]
local key = P .. ':on:' .. app .. ':' .. NODE
local elsewhere = false
for _, n in ipairs(live()) do
  if n ~= NODE and redis.call('SISMEMBER', P .. ':on:' .. app .. ':' .. n, user) == 1 then
    elsewhere = true
  end
end
if ARGV[5] == '1' then
  redis.call('SADD', key, user)
  redis.call('HSET', P .. ':keys:' .. NODE, key, 'on\n' .. app .. '\n')
else
  redis.call('SREM', key, user)
end
if elsewhere then return 0 end
redis.call('PUBLISH', ARGV[6], env('W', app, user, ARGV[7], ''))
return 1
)lua";

// Which users are signed in anywhere: ARGV app, ids... -> {0|1...}.
inline constexpr std::string_view lua_online_query = R"lua(
local nodes = live()
local out = {}
for i = 4, #ARGV do
  local on = 0
  for _, n in ipairs(nodes) do
    if redis.call('SISMEMBER', P .. ':on:' .. ARGV[3] .. ':' .. n, ARGV[i]) == 1 then on = 1 end
  end
  out[#out + 1] = on
end
return out
)lua";

// One channel: ARGV app, channel -> {subscription_count, user_count}.
inline constexpr std::string_view lua_query_channel = R"lua(
local nodes = live()
return {total(nodes, ARGV[3], ARGV[4]), #distinct_users(nodes, ARGV[3], ARGV[4])}
)lua";

// Presence user ids: ARGV app, channel -> flat {id, numeric ('1'/'0')} pairs, each user once
// (typed as on the first live node that has it).
inline constexpr std::string_view lua_query_users = R"lua(
local seen, out = {}, {}
for _, n in ipairs(live()) do
  local kv = redis.call('HGETALL', pkey(ARGV[3], ARGV[4], n))
  for i = 1, #kv, 2 do
    if not seen[kv[i]] then
      seen[kv[i]] = true
      out[#out + 1] = kv[i]
      out[#out + 1] = numeric_value(kv[i + 1]) and '1' or '0'
    end
  end
end
return out
)lua";

// Occupied channels: ARGV app, name prefix -> flat {name, subscription_count, user_count}.
inline constexpr std::string_view lua_query_channels = R"lua(
local app, pfx = ARGV[3], ARGV[4]
local nodes = live()
local sums, order = {}, {}
for _, n in ipairs(nodes) do
  local kv = redis.call('HGETALL', sckey(app, n))
  for j = 1, #kv, 2 do
    local ch = kv[j]
    if string.sub(ch, 1, #pfx) == pfx then
      if not sums[ch] then sums[ch] = 0; order[#order + 1] = ch end
      sums[ch] = sums[ch] + (tonumber(kv[j + 1]) or 0)
    end
  end
end
local out = {}
for _, ch in ipairs(order) do
  if sums[ch] > 0 then
    local users = 0
    if string.sub(ch, 1, 9) == 'presence-' then users = #distinct_users(nodes, app, ch) end
    out[#out + 1] = ch; out[#out + 1] = sums[ch]; out[#out + 1] = users
  end
end
return out
)lua";

// ---- Protocol V2 across the cluster (server/redis_sequence.cpp) -------------------------------
// Standalone scripts (no prelude). {P}:seq:{app}:{channel} is a hash {s = stream id, n = newest
// serial}; {P}:hist:{app}:{channel} a stream capped at max_buffer_size whose entry ids are
// "<serial>-0" with fields m (message id), t (ms, Redis clock), j (the frame's JSON).

/// Numbers one channel message and publishes it. ARGV: prefix, node, app, channel, json,
/// except socket, a fresh stream id (used if the channel has none), message id, max kept,
/// history ttl ms, stream keep ms, bus channel. Returns the serial.
inline constexpr std::string_view lua_seq_publish = R"lua(
local P, NODE, app, ch = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local k, h = P .. ':seq:' .. app .. ':' .. ch, P .. ':hist:' .. app .. ':' .. ch
local sid = redis.call('HGET', k, 's')
if not sid then
  sid = ARGV[7]
  redis.call('HSET', k, 's', sid, 'n', 0)
  redis.call('DEL', h)
end
local n = redis.call('HINCRBY', k, 'n', 1)
redis.call('PEXPIRE', k, ARGV[11])
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('XADD', h, 'MAXLEN', ARGV[9], n .. '-0', 'm', ARGV[8], 't', ms, 'j', ARGV[5])
redis.call('PEXPIRE', h, ARGV[10])
local function f(s) return #s .. ':' .. s end
local payload = sid .. ' ' .. n .. ' ' .. ARGV[8] .. '\n' .. ARGV[5]
redis.call('PUBLISH', ARGV[12],
  'pc1' .. f('S') .. f(NODE) .. f(app) .. f(ch) .. f(payload) .. f(ARGV[6]))
return n
)lua";

/// The position of a channel, starting its stream if it has none, published on the bus (in
/// order with the channel's messages). ARGV: prefix, node, app, channel, a fresh stream id,
/// stream keep ms, bus channel. Returns the serial.
inline constexpr std::string_view lua_seq_position = R"lua(
local P, NODE, app, ch = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local k = P .. ':seq:' .. app .. ':' .. ch
local sid = redis.call('HGET', k, 's')
if not sid then
  sid = ARGV[5]
  redis.call('HSET', k, 's', sid, 'n', 0)
  redis.call('DEL', P .. ':hist:' .. app .. ':' .. ch)
end
local n = redis.call('HGET', k, 'n')
redis.call('PEXPIRE', k, ARGV[6])
local function f(s) return #s .. ':' .. s end
redis.call('PUBLISH', ARGV[7],
  'pc1' .. f('P') .. f(NODE) .. f(app) .. f(ch) .. f(sid .. ' ' .. n) .. f(''))
return n
)lua";

/// A channel's kept history within the ttl. ARGV: prefix, node, app, channel, mode ('a': after
/// ARGV[6]; 'l': the newest ARGV[7]), serial, count, ttl ms. Returns {} without a stream, else
/// {stream id, newest serial, oldest kept serial or '', then per message: serial, age ms,
/// message id, json} oldest first.
inline constexpr std::string_view lua_seq_history = R"lua(
local P, app, ch = ARGV[1], ARGV[3], ARGV[4]
local k, h = P .. ':seq:' .. app .. ':' .. ch, P .. ':hist:' .. app .. ':' .. ch
local sid = redis.call('HGET', k, 's')
if not sid then return {} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local since, after, count = now - tonumber(ARGV[8]), tonumber(ARGV[6]), tonumber(ARGV[7])
local out = {sid, redis.call('HGET', k, 'n'), ''}
local kept = {}
for _, e in ipairs(redis.call('XRANGE', h, '-', '+')) do
  local fields = {}
  for i = 1, #e[2], 2 do fields[e[2][i]] = e[2][i + 1] end
  local at = tonumber(fields.t)
  if at >= since then
    local serial = tonumber(string.match(e[1], '^(%d+)'))
    if out[3] == '' then out[3] = serial end
    if ARGV[5] == 'l' or serial > after then
      kept[#kept + 1] = {serial, now - at, fields.m, fields.j}
    end
  end
end
local first = 1
if ARGV[5] == 'l' and #kept > count then first = #kept - count + 1 end
local last = #kept
if ARGV[5] == 'a' and last > count then last = count end
for i = first, last do
  for _, v in ipairs(kept[i]) do out[#out + 1] = v end
end
return out
)lua";

/// Claims an idempotency key (value '' while in progress). ARGV: key, claim ttl ms. Returns
/// {'fresh'}, {'busy'} or {'done', first answer}.
inline constexpr std::string_view lua_idem_claim = R"lua(
if redis.call('SET', ARGV[1], '', 'NX', 'PX', ARGV[2]) then return {'fresh'} end
local v = redis.call('GET', ARGV[1])
if not v or v == '' then return {'busy'} end
return {'done', v}
)lua";

}  // namespace server::redis_scripts
