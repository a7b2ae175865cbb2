-- Claims an idempotency key for (user, route, key), or returns who holds it. The record keeps the hash
-- of the request body and a reference to the result (the reservation id), and expires after `ttl_ms`.
--
-- KEYS[1] record     the key's record hash
-- ARGV: body_hash, ref, ttl_ms
--
-- Returns {1, ref}               claimed now with `ref`
--         {0, body_hash, ref}    claimed before (compare body_hash; reuse ref)
local existing = redis.call('HMGET', KEYS[1], 'body_hash', 'ref')
if existing[1] then return { 0, existing[1], existing[2] } end
redis.call('HSET', KEYS[1], 'body_hash', ARGV[1], 'ref', ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return { 1, ARGV[2] }
