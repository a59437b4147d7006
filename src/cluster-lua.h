/*
 * cluster-lua: the Lua scripts the cluster runs in Redis.  Each runs
 * atomically, so a claim, a join or a resynchronisation never sees
 * another node half-way through its own.  What lives in Redis (all keys
 * start with "evchat:"):
 *
 *	node:ID		a node incarnation is alive (expires after --redis-ttl)
 *	nicks:ID	the lower-case nicks that incarnation holds
 *	nick:LOWER	"ID Nick": who holds a nick (expires with its node)
 *	guest		the last guest number handed out
 *	seq		orders joins and room creation
 *	rooms		sorted set of lower-case room names, in creation order
 *	rname		hash: lower-case room name -> its name as first written
 *	members:LOWER	sorted set of "ID Nick", in join order
 *	topic:LOWER	the room's topic
 *	history:LOWER	stream of the room's recent chat lines (field l)
 *
 * Members whose node key has expired are dead: every script that reads a
 * room drops them, and a room whose last member is gone is forgotten
 * (topic and history with it), except #lobby.  Channels: room:LOWER
 * carries a room's lines, node:ID a node's private messages.
 */
#ifndef EVCHAT_CLUSTER_LUA_H
#define EVCHAT_CLUSTER_LUA_H

#define CLUSTER_LUA_PRELUDE						\
"local P = 'evchat:'\n"							\
"local alive = {}\n"							\
"local function live(id)\n"						\
"  if alive[id] == nil then\n"						\
"    alive[id] = redis.call('EXISTS', P .. 'node:' .. id) == 1\n"	\
"  end\n"								\
"  return alive[id]\n"							\
"end\n"									\
"local function owner(v)\n"						\
"  local sp = string.find(v, ' ', 1, true)\n"				\
"  return string.sub(v, 1, sp - 1), string.sub(v, sp + 1)\n"		\
"end\n"									\
"local function same(a, b)\n"						\
"  local x = string.match(a, '^(.+)%.%d+$')\n"				\
"  return a == b or (x ~= nil and x == string.match(b, '^(.+)%.%d+$'))\n"\
"end\n"									\
"local function members(lower)\n"					\
"  local key, out = P .. 'members:' .. lower, {}\n"			\
"  for _, m in ipairs(redis.call('ZRANGE', key, 0, -1)) do\n"		\
"    local id, nick = owner(m)\n"					\
"    if live(id) then out[#out + 1] = nick\n"				\
"    else redis.call('ZREM', key, m) end\n"				\
"  end\n"								\
"  return out\n"							\
"end\n"									\
"local function gc(lower)\n"						\
"  if lower == 'lobby' or #members(lower) > 0 then return end\n"	\
"  redis.call('DEL', P .. 'topic:' .. lower, P .. 'history:' .. lower,\n"\
"    P .. 'members:' .. lower)\n"					\
"  redis.call('ZREM', P .. 'rooms', lower)\n"				\
"  redis.call('HDEL', P .. 'rname', lower)\n"				\
"end\n"									\
"local function enter(id, lower, name, nick)\n"			\
"  local seq = redis.call('INCR', P .. 'seq')\n"			\
"  if redis.call('HSETNX', P .. 'rname', lower, name) == 1 then\n"	\
"    redis.call('ZADD', P .. 'rooms', lower == 'lobby' and 0 or seq,\n"	\
"      lower)\n"							\
"  end\n"								\
"  redis.call('ZADD', P .. 'members:' .. lower, seq, id .. ' ' .. nick)\n"\
"  return seq\n"							\
"end\n"									\
"local function claim(id, lower, nick, ttl)\n"				\
"  local key = P .. 'nick:' .. lower\n"					\
"  local cur = redis.call('GET', key)\n"				\
"  if cur and not same(owner(cur), id) then return false end\n"	\
"  redis.call('SET', key, id .. ' ' .. nick, 'EX', ttl)\n"		\
"  redis.call('SADD', P .. 'nicks:' .. id, lower)\n"			\
"  redis.call('EXPIRE', P .. 'nicks:' .. id, ttl)\n"			\
"  return true\n"							\
"end\n"									\
"local function guest(id, ttl)\n"					\
"  for i = 1, 10000 do\n"						\
"    local n = redis.call('INCR', P .. 'guest')\n"			\
"    local g = 'guest-' .. n\n"						\
"    if redis.call('SET', P .. 'nick:' .. g, id .. ' ' .. g, 'NX',\n"	\
"        'EX', ttl) then\n"						\
"      redis.call('SADD', P .. 'nicks:' .. id, g)\n"			\
"      redis.call('EXPIRE', P .. 'nicks:' .. id, ttl)\n"			\
"      return n\n"							\
"    end\n"								\
"  end\n"								\
"  return redis.error_reply('no free guest number')\n"		\
"end\n"									\
"local function release(id, lower)\n"					\
"  local key = P .. 'nick:' .. lower\n"					\
"  local cur = redis.call('GET', key)\n"				\
"  if cur and same(owner(cur), id) then redis.call('DEL', key) end\n"\
"  redis.call('SREM', P .. 'nicks:' .. id, lower)\n"			\
"end\n"

/* ARGV: id ttl.  Returns the guest number now held. */
#define CLUSTER_LUA_GUEST						\
CLUSTER_LUA_PRELUDE							\
"return guest(ARGV[1], ARGV[2])\n"

/*
 * ARGV: id ttl newlower newnick oldlower oldnick roomlower ("" for none).
 * Returns 1, or 0 when someone else holds the nick: another node, or
 * another user of this one (only the holder may change its case).
 */
#define CLUSTER_LUA_NICK						\
CLUSTER_LUA_PRELUDE							\
"local id = ARGV[1]\n"							\
"local cur = redis.call('GET', P .. 'nick:' .. ARGV[3])\n"		\
"if cur and not (ARGV[3] == ARGV[5] and same(owner(cur), id)) then\n"	\
"  return 0\n"								\
"end\n"									\
"claim(id, ARGV[3], ARGV[4], ARGV[2])\n"				\
"if ARGV[5] ~= ARGV[3] then release(id, ARGV[5]) end\n"		\
"if ARGV[7] ~= '' then\n"						\
"  local key = P .. 'members:' .. ARGV[7]\n"				\
"  local s = redis.call('ZSCORE', key, id .. ' ' .. ARGV[6])\n"		\
"  if s then\n"								\
"    redis.call('ZREM', key, id .. ' ' .. ARGV[6])\n"			\
"    redis.call('ZADD', key, s, id .. ' ' .. ARGV[4])\n"		\
"  end\n"								\
"end\n"									\
"return 1\n"

/*
 * ARGV: id lower name nick history notice.  Enters the room and, in the
 * same step, tells the room's other nodes (notice, then the room's name
 * and CRLF).  Returns the room's name, its live member count (the joiner
 * included), its topic ("" for none), its last history lines, oldest
 * first, and the join's place in the order of everything said in rooms:
 * lines published with a greater one came after it.
 */
#define CLUSTER_LUA_JOIN						\
CLUSTER_LUA_PRELUDE							\
"local lower = ARGV[2]\n"						\
"local seq = enter(ARGV[1], lower, ARGV[3], ARGV[4])\n"			\
"local name = redis.call('HGET', P .. 'rname', lower)\n"		\
"redis.call('PUBLISH', P .. 'room:' .. lower, ARGV[1] .. '\\nJ\\n' ..\n"	\
"  string.format('%d', seq) .. '\\n\\n' .. ARGV[6] .. name .. '\\r\\n')\n"\
"local n = #members(lower)\n"						\
"local h = {}\n"							\
"if tonumber(ARGV[5]) > 0 then\n"					\
"  local rows = redis.call('XREVRANGE', P .. 'history:' .. lower,\n"	\
"    '+', '-', 'COUNT', ARGV[5])\n"					\
"  for i = #rows, 1, -1 do h[#h + 1] = rows[i][2][2] end\n"		\
"end\n"									\
"return { name, n, redis.call('GET', P .. 'topic:' .. lower) or '', h,\n"\
"  seq }\n"

/* ARGV: id lower nick.  The member leaves the room. */
#define CLUSTER_LUA_PART						\
CLUSTER_LUA_PRELUDE							\
"redis.call('ZREM', P .. 'members:' .. ARGV[2], ARGV[1] .. ' ' .. ARGV[3])\n"\
"gc(ARGV[2])\n"								\
"return 1\n"

/* ARGV: id nicklower nick roomlower ("" for none).  The user is gone. */
#define CLUSTER_LUA_LEAVE						\
CLUSTER_LUA_PRELUDE							\
"release(ARGV[1], ARGV[2])\n"						\
"if ARGV[4] ~= '' then\n"						\
"  redis.call('ZREM', P .. 'members:' .. ARGV[4],\n"			\
"    ARGV[1] .. ' ' .. ARGV[3])\n"					\
"  gc(ARGV[4])\n"							\
"end\n"									\
"return 1\n"

/* ARGV: lower.  Returns the room's name ("" if there is none) and nicks. */
#define CLUSTER_LUA_WHO							\
CLUSTER_LUA_PRELUDE							\
"local lower = ARGV[1]\n"						\
"local m = members(lower)\n"						\
"local name = redis.call('HGET', P .. 'rname', lower)\n"		\
"if not name or (#m == 0 and lower ~= 'lobby') then\n"		\
"  gc(lower)\n"								\
"  return { '', {} }\n"							\
"end\n"									\
"return { name, m }\n"

/* Returns every room as a flat list of name, live count, topic. */
#define CLUSTER_LUA_ROOMS						\
CLUSTER_LUA_PRELUDE							\
"local out = {}\n"							\
"for _, lower in ipairs(redis.call('ZRANGE', P .. 'rooms', 0, -1)) do\n"\
"  local n = #members(lower)\n"						\
"  if n == 0 and lower ~= 'lobby' then gc(lower)\n"			\
"  else\n"								\
"    out[#out + 1] = redis.call('HGET', P .. 'rname', lower) or lower\n"\
"    out[#out + 1] = n\n"						\
"    out[#out + 1] = redis.call('GET', P .. 'topic:' .. lower) or ''\n"	\
"  end\n"								\
"end\n"									\
"return out\n"

/*
 * ARGV: id lower line.  Publishes a private message to the node holding
 * the nick; returns the nick as its holder wrote it, or nil.
 */
#define CLUSTER_LUA_MSG							\
CLUSTER_LUA_PRELUDE							\
"local cur = redis.call('GET', P .. 'nick:' .. ARGV[2])\n"		\
"if not cur then return false end\n"					\
"local id, nick = owner(cur)\n"						\
"if same(id, ARGV[1]) or not live(id) then return false end\n"		\
"if redis.call('PUBLISH', P .. 'node:' .. id,\n"			\
"    ARGV[2] .. '\\n' .. ARGV[3]) == 0 then return false end\n"		\
"return nick\n"

/*
 * ARGV: id ttl.  Keeps the node and its nicks alive; -1 when the node
 * key was gone (Redis lost it, or the node stalled past the ttl).
 */
#define CLUSTER_LUA_REFRESH						\
CLUSTER_LUA_PRELUDE							\
"local id, ttl = ARGV[1], ARGV[2]\n"					\
"if not redis.call('SET', P .. 'node:' .. id, '1', 'EX', ttl, 'XX') then\n"\
"  return -1\n"								\
"end\n"									\
"redis.call('EXPIRE', P .. 'nicks:' .. id, ttl)\n"			\
"for _, n in ipairs(redis.call('SMEMBERS', P .. 'nicks:' .. id)) do\n"	\
"  redis.call('EXPIRE', P .. 'nick:' .. n, ttl)\n"			\
"end\n"									\
"return 0\n"

/*
 * ARGV: id base from ttl nrooms, then nrooms of (lower topic), then per
 * user (nicklower nick roomlower roomname).  Registers incarnation id
 * (base.N) with everything this node holds, after forgetting incarnations
 * base.from to base.N-1, which may have registered before their links
 * died.  An incarnation owns the nicks of every other of its node.  A nick
 * another node took meanwhile is not taken back: the user gets a fresh
 * guest number, handed out once every other nick is claimed, so it is
 * none of this node's either.  Returns a flat list of (user index from 1,
 * guest number).
 */
#define CLUSTER_LUA_SYNC						\
CLUSTER_LUA_PRELUDE							\
"local id, ttl = ARGV[1], ARGV[4]\n"					\
"for k = tonumber(ARGV[3]), tonumber(string.match(id, '(%d+)$')) - 1 do\n"\
"  local old = ARGV[2] .. '.' .. k\n"					\
"  for _, n in ipairs(redis.call('SMEMBERS', P .. 'nicks:' .. old)) do\n"\
"    release(old, n)\n"							\
"  end\n"								\
"  redis.call('DEL', P .. 'node:' .. old, P .. 'nicks:' .. old)\n"	\
"end\n"									\
"redis.call('SET', P .. 'node:' .. id, '1', 'EX', ttl)\n"		\
"redis.call('HSETNX', P .. 'rname', 'lobby', 'lobby')\n"		\
"redis.call('ZADD', P .. 'rooms', 'NX', 0, 'lobby')\n"			\
"local i = 6\n"								\
"for r = 1, tonumber(ARGV[5]) do\n"					\
"  redis.call('SET', P .. 'topic:' .. ARGV[i], ARGV[i + 1], 'NX')\n"	\
"  i = i + 2\n"								\
"end\n"									\
"local out, lost = {}, {}\n"						\
"while i <= #ARGV do\n"							\
"  if claim(id, ARGV[i], ARGV[i + 1], ttl) then\n"			\
"    if ARGV[i + 2] ~= '' then\n"						\
"      enter(id, ARGV[i + 2], ARGV[i + 3], ARGV[i + 1])\n"		\
"    end\n"								\
"  else lost[#lost + 1] = i end\n"					\
"  i = i + 4\n"							\
"end\n"									\
"for _, j in ipairs(lost) do\n"						\
"  local n = guest(id, ttl)\n"						\
"  out[#out + 1] = (j - 6 - 2 * tonumber(ARGV[5])) / 4 + 1\n"		\
"  out[#out + 1] = n\n"							\
"  if ARGV[j + 2] ~= '' then\n"						\
"    enter(id, ARGV[j + 2], ARGV[j + 3], 'guest-' .. n)\n"		\
"  end\n"								\
"end\n"									\
"redis.call('EXPIRE', P .. 'nicks:' .. id, ttl)\n"			\
"return out\n"

/*
 * ARGV: lower id kind history topic line.  A line for a room's other
 * nodes, numbered in the order of everything said in rooms (the number
 * is returned); a chat line (kind S) also goes into the room's history,
 * a topic (kind T) is stored.  Small on purpose (no prelude): it runs for
 * every line said.
 */
#define CLUSTER_LUA_LINE						\
"local s = redis.call('INCR', 'evchat:seq')\n"				\
"if ARGV[3] == 'S' and tonumber(ARGV[4]) > 0 then\n"			\
"  redis.call('XADD', 'evchat:history:' .. ARGV[1], 'MAXLEN', ARGV[4],\n"\
"    '*', 'l', ARGV[6])\n"						\
"elseif ARGV[3] == 'T' then\n"						\
"  redis.call('SET', 'evchat:topic:' .. ARGV[1], ARGV[5])\n"		\
"end\n"									\
"redis.call('PUBLISH', 'evchat:room:' .. ARGV[1], ARGV[2] .. '\\n' ..\n"	\
"  ARGV[3] .. '\\n' .. string.format('%d', s) .. '\\n' .. ARGV[5] ..\n"	\
"  '\\n' .. ARGV[6])\n"							\
"return s\n"

/* ARGV: id.  The node shuts down: forget it now, not after the ttl. */
#define CLUSTER_LUA_BYE							\
CLUSTER_LUA_PRELUDE							\
"for _, n in ipairs(redis.call('SMEMBERS', P .. 'nicks:' .. ARGV[1])) do\n"\
"  release(ARGV[1], n)\n"						\
"end\n"									\
"redis.call('DEL', P .. 'node:' .. ARGV[1], P .. 'nicks:' .. ARGV[1])\n"\
"return 1\n"

#endif
