/**
 * The only place that builds Redis keys and queue names. Every key of one event carries the hash tag
 * `{evt-<id>}` so each Lua script touches one Redis Cluster slot. Global keys (the event registry) are
 * touched only outside scripts.
 */
export interface EventKeys {
  /** per-event arrival sequencer: one INCR per valid request that reaches admission */
  readonly seq: string;
  /** admitted requests so far (the n-th admitted request has admitted number n) */
  readonly admitted: string;
  /** decisions so far; position = admitted number - decided - 1 */
  readonly decided: string;
  /** requests admitted and not yet decided (the queue depth, counted in requests) */
  readonly depth: string;
  /** outbox stream: every state change of this event, published to Kafka by the relay */
  readonly outbox: string;
  /** sorted set of held reservation ids by due time (ms): expiry, or the payment deadline while paying */
  readonly holds: string;
  /** the event's settings that scripts need: {max_per_user} */
  readonly meta: string;
  /** seats held or bought per user of this event (the per-user cap) */
  readonly users: string;
  /** requests queued (admitted, undecided) per user of this event */
  readonly queuedByUser: string;
  /** sorted set of admitted, undecided reservation ids by arrival number: the decision order */
  readonly pending: string;
  /** the event's owner lease: `<fencing token>:<shard id>`, expiring unless its shard renews it */
  readonly lease: string;
  /** the event's fencing counter: each new lease takes the next token */
  readonly fence: string;
  /** the hash-tagged prefix of all these keys (scripts that build keys take it) */
  readonly base: string;
  /** pub/sub channel announcing `<reservation id> <status>` on every change (not a key) */
  readonly changes: string;
  category(categoryId: string): string;
  reservation(reservationId: string): string;
}

export function eventKeys(prefix: string, eventId: string): EventKeys {
  const base = `${prefix}:{evt-${eventId}}`;
  return {
    seq: `${base}:seq`,
    admitted: `${base}:admitted`,
    decided: `${base}:decided`,
    depth: `${base}:depth`,
    outbox: `${base}:outbox`,
    holds: `${base}:holds`,
    meta: `${base}:meta`,
    users: `${base}:users`,
    queuedByUser: `${base}:queued`,
    pending: `${base}:pending`,
    lease: `${base}:lease`,
    fence: `${base}:fence`,
    base,
    changes: `${base}:changes`,
    category: (categoryId) => `${base}:cat:${categoryId}`,
    reservation: (reservationId) => `${base}:res:${reservationId}`,
  };
}

/** Set of every event id with stock in Redis; shards read it to find the queues they serve. */
export const eventRegistryKey = (prefix: string): string => `${prefix}:events`;
/** Pub/sub channel on which a new event id is announced to the shards. */
export const eventAnnounceChannel = (prefix: string): string => `${prefix}:events:new`;
/**
 * Pub/sub channel on which a gateway names an event whose queue it just added work to (and a shard
 * that hands an event over names it too), so its owner starts a Worker at once if it had closed it.
 */
export const eventWakeChannel = (prefix: string): string => `${prefix}:events:wake`;
/** Sorted set of live shard ids by the Redis time (ms) their heartbeat expires: the fair share. */
export const shardRegistryKey = (prefix: string): string => `${prefix}:shards`;

/**
 * An idempotency key's record, scoped to (user, route, key). The user id is hashed into the hash tag so
 * any user id is safe in a key; the record lives in the user's slot, apart from any event.
 */
export const idempotencyKey = (prefix: string, userHash: string, route: string, key: string): string =>
  `${prefix}:idem:{u-${userHash}}:${route}:${key}`;

/** BullMQ queue of one event's reserve requests (BullMQ forbids `:` in queue names). */
export const reserveQueueName = (eventId: string): string => `reserve-${eventId}`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const isUuid = (value: string): boolean => UUID.test(value);

/**
 * A reservation id names its event, `<eventId>.<uuid>`, so any process can find the reservation's keys
 * (and slot) from the id alone. It is made by the server only, never by a client, and contains no `:`,
 * so it is also a valid BullMQ job id.
 */
export const newReservationId = (eventId: string, uuid: string): string => `${eventId}.${uuid}`;

export function eventIdOfReservation(reservationId: string): string | undefined {
  const dot = reservationId.indexOf('.');
  if (dot !== 36 || reservationId.length !== 73) return undefined;
  const eventId = reservationId.slice(0, dot);
  return isUuid(eventId) && isUuid(reservationId.slice(dot + 1)) ? eventId : undefined;
}
