-- Gives an event's owner lease up (a graceful handover), only if the caller still holds it.
--
-- KEYS[1] lease   the event's owner lease
-- ARGV: held_value
--
-- Returns 1 released, 0 not the caller's (nothing changed)
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
