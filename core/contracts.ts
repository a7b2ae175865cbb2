import { Ajv, type JSONSchemaType, type ValidateFunction } from 'ajv';

/**
 * What crosses process boundaries: the reserve job payload (gateway -> shard, through BullMQ) and the
 * reservation snapshot (Lua outbox -> relay -> Kafka -> persister). Each is validated at the door
 * against the schema here.
 */

export const RESERVATION_STATUSES = ['queued', 'reserved', 'rejected', 'confirmed', 'expired', 'cancelled'] as const;
export type ReservationStatus = (typeof RESERVATION_STATUSES)[number];

export const REJECT_REASONS = ['out_of_stock', 'limit_exceeded', 'sales_closed', 'internal_error'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** One admitted request as a gateway queues it. */
export interface QueuedRequest {
  reservation_id: string;
  seq_arrival: number;
  /** the correlation id of the HTTP request that admitted it (X-Request-Id) */
  request_id?: string;
}

/**
 * A reserve job: the requests one gateway admitted for one event since its previous job (one flush),
 * decided by the owning shard in one pass in arrival order.
 */
export interface ReserveJob {
  event_id: string;
  requests: QueuedRequest[];
}

/** The most requests one job carries (a gateway flushes before it gets there). */
export const MAX_BATCH = 1_000;

const reserveJobSchema: JSONSchemaType<ReserveJob> = {
  type: 'object',
  required: ['event_id', 'requests'],
  properties: {
    event_id: { type: 'string', minLength: 1, maxLength: 100 },
    requests: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_BATCH,
      items: {
        type: 'object',
        required: ['reservation_id', 'seq_arrival'],
        properties: {
          reservation_id: { type: 'string', minLength: 1, maxLength: 200 },
          seq_arrival: { type: 'integer', minimum: 1 },
          request_id: { type: 'string', maxLength: 128, nullable: true },
        },
      },
    },
  },
};

export const SNAPSHOT_SCHEMA_VERSION = 1;

/** The full state of one reservation after a change; times are epoch milliseconds from Redis TIME. */
export interface ReservationSnapshot {
  schema: number;
  type: string;
  reservation_id: string;
  event_id: string;
  category_id: string;
  category: string;
  user_id: string;
  qty: number;
  status: ReservationStatus;
  reason?: string;
  seq_arrival: number;
  seq_decision?: number;
  expires_at?: number;
  decided_at?: number;
  booking_id?: string;
  /** the request's place in its event's lottery draw (docs/fairness.md), when it had one */
  draw_no?: number;
  /** the correlation id of the HTTP request that created the reservation (X-Request-Id) */
  request_id?: string;
  created_at: number;
  updated_at: number;
  version: number;
}

const snapshotSchema: JSONSchemaType<ReservationSnapshot> = {
  type: 'object',
  required: ['schema', 'type', 'reservation_id', 'event_id', 'category_id', 'category', 'user_id', 'qty', 'status', 'seq_arrival', 'created_at', 'updated_at', 'version'],
  properties: {
    schema: { type: 'integer', const: SNAPSHOT_SCHEMA_VERSION },
    type: { type: 'string', minLength: 1 },
    reservation_id: { type: 'string', minLength: 1, maxLength: 200 },
    event_id: { type: 'string', minLength: 1, maxLength: 100 },
    category_id: { type: 'string', minLength: 1, maxLength: 100 },
    category: { type: 'string', minLength: 1, maxLength: 200 },
    user_id: { type: 'string', minLength: 1, maxLength: 200 },
    qty: { type: 'integer', minimum: 1 },
    status: { type: 'string', enum: [...RESERVATION_STATUSES] },
    reason: { type: 'string', nullable: true },
    seq_arrival: { type: 'integer', minimum: 1 },
    seq_decision: { type: 'integer', minimum: 1, nullable: true },
    expires_at: { type: 'integer', nullable: true },
    decided_at: { type: 'integer', nullable: true },
    booking_id: { type: 'string', nullable: true },
    draw_no: { type: 'integer', minimum: 1, nullable: true },
    request_id: { type: 'string', maxLength: 128, nullable: true },
    created_at: { type: 'integer' },
    updated_at: { type: 'integer' },
    version: { type: 'integer', minimum: 1 },
  },
};

/** Why a request that took an arrival number was refused at the door (never queued). */
export const DOOR_REFUSAL_REASONS = ['out_of_stock', 'queue_full', 'rate_limited'] as const;
export type DoorRefusalReason = (typeof DOOR_REFUSAL_REASONS)[number];

/**
 * A request refused at the door after it took an arrival number (type `request.refused`): the
 * fairness record of a request that never became a reservation. `reservation_id` is the id it would
 * have had; `request_id` the HTTP request's correlation id; `received_at` is Redis time in epoch ms.
 */
export interface RefusalRecord {
  schema: number;
  type: 'request.refused';
  reservation_id: string;
  request_id?: string;
  event_id: string;
  category_id: string;
  user_id: string;
  qty: number;
  seq_arrival: number;
  reason: DoorRefusalReason;
  received_at: number;
}

const refusalSchema: JSONSchemaType<RefusalRecord> = {
  type: 'object',
  required: ['schema', 'type', 'reservation_id', 'event_id', 'category_id', 'user_id', 'qty', 'seq_arrival', 'reason', 'received_at'],
  properties: {
    schema: { type: 'integer', const: SNAPSHOT_SCHEMA_VERSION },
    type: { type: 'string', const: 'request.refused' },
    reservation_id: { type: 'string', minLength: 1, maxLength: 200 },
    request_id: { type: 'string', maxLength: 128, nullable: true },
    event_id: { type: 'string', minLength: 1, maxLength: 100 },
    category_id: { type: 'string', minLength: 1, maxLength: 100 },
    user_id: { type: 'string', minLength: 1, maxLength: 200 },
    qty: { type: 'integer', minimum: 1 },
    seq_arrival: { type: 'integer', minimum: 1 },
    reason: { type: 'string', enum: [...DOOR_REFUSAL_REASONS] },
    received_at: { type: 'integer' },
  },
};

const ajv = new Ajv({ allErrors: true, strict: true });
const validateJob: ValidateFunction<ReserveJob> = ajv.compile(reserveJobSchema);
const validateSnapshot: ValidateFunction<ReservationSnapshot> = ajv.compile(snapshotSchema);
const validateRefusal: ValidateFunction<RefusalRecord> = ajv.compile(refusalSchema);

type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

function check<T>(validate: ValidateFunction<T>, value: unknown): Parsed<T> {
  if (validate(value)) return { ok: true, value };
  return { ok: false, error: ajv.errorsText(validate.errors) };
}

export const parseReserveJob = (data: unknown): Parsed<ReserveJob> => check(validateJob, data);

function parseJson(raw: Buffer | string | null): Parsed<unknown> {
  if (raw === null) return { ok: false, error: 'empty message' };
  try {
    return { ok: true, value: JSON.parse(raw.toString()) as unknown };
  } catch {
    return { ok: false, error: 'not JSON' };
  }
}

/**
 * The fields of a decision's compact outbox line (`d1`, then these, tab-separated; absent values empty):
 * written by the decision script (decision_record in core/lua/_prelude.lua), turned into the snapshot's
 * JSON by the relay, so Kafka carries the same snapshots either way.
 */
const DECISION_LINE_FIELDS = ['schema', 'reservation_id', 'event_id', 'category_id', 'category', 'user_id', 'qty', 'seq_arrival', 'created_at', 'status', 'reason', 'seq_decision', 'decided_at', 'version', 'expires_at', 'booking_id', 'draw_no', 'request_id'] as const;
/**
 * The fields of admission's compact outbox lines, likewise (queued_record and refusal_record in
 * core/lua/_prelude.lua): `q1`, a `reservation.queued` snapshot; `r1`, a `request.refused` record.
 */
const QUEUED_LINE_FIELDS = ['schema', 'reservation_id', 'event_id', 'category_id', 'category', 'user_id', 'qty', 'seq_arrival', 'created_at', 'request_id'] as const;
const REFUSAL_LINE_FIELDS = ['schema', 'reservation_id', 'event_id', 'category_id', 'user_id', 'qty', 'seq_arrival', 'reason', 'received_at', 'request_id'] as const;
const LINE_NUMBERS: ReadonlySet<string> = new Set(['schema', 'qty', 'seq_arrival', 'created_at', 'seq_decision', 'decided_at', 'version', 'expires_at', 'draw_no', 'received_at']);

/** A compact line's values by field name (after its tag), numbers as numbers; empty values left out. */
function lineValues(line: string, fields: readonly string[]): Record<string, string | number> {
  const values = line.split('\t');
  const record: Record<string, string | number> = {};
  fields.forEach((name, i) => {
    const value = values[i + 1];
    if (value !== undefined && value !== '') record[name] = LINE_NUMBERS.has(name) ? Number(value) : value;
  });
  return record;
}

/** The snapshot a compact decision line stands for (see DECISION_LINE_FIELDS); updated_at is decided_at. */
export function decisionLineSnapshot(line: string): Record<string, string | number> {
  const snapshot = lineValues(line, DECISION_LINE_FIELDS);
  snapshot.type = `reservation.${String(snapshot.status)}`;
  if (snapshot.decided_at !== undefined) snapshot.updated_at = snapshot.decided_at;
  return snapshot;
}

/** The snapshot a compact `q1` line stands for: a request just queued (version 1, updated_at is created_at). */
export function queuedLineSnapshot(line: string): Record<string, string | number> {
  const snapshot = lineValues(line, QUEUED_LINE_FIELDS);
  Object.assign(snapshot, { type: 'reservation.queued', status: 'queued', updated_at: snapshot.created_at!, version: 1 });
  return snapshot;
}

/** The record a compact `r1` line stands for: a request refused at the door after it took an arrival number. */
export function refusalLineRecord(line: string): Record<string, string | number> {
  const record = lineValues(line, REFUSAL_LINE_FIELDS);
  record.type = 'request.refused';
  return record;
}

/** The record a compact outbox line stands for, by its tag; undefined for a line that is JSON. */
function lineRecord(line: string): Record<string, string | number> | undefined {
  if (line.startsWith('d1\t')) return decisionLineSnapshot(line);
  if (line.startsWith('q1\t')) return queuedLineSnapshot(line);
  if (line.startsWith('r1\t')) return refusalLineRecord(line);
  return undefined;
}

/**
 * The records of one outbox stream entry (its field list as XREAD returns it): an entry carries one
 * record (`type`, `snapshot`), or a call's records (`type` "batch", `snapshots`: one per line, each a
 * compact line, a decision's (decisionLineSnapshot) or admission's (queuedLineSnapshot,
 * refusalLineRecord), or a record's JSON, which never holds a raw newline). Each record comes out as
 * the JSON Kafka carries; its `type` and `request_id` are read from it (a top-level key: a string value
 * cannot hold an unescaped `"key":"`).
 */
export function outboxEntryRecords(fields: readonly string[]): { type: string; value: string; requestId: string | undefined }[] {
  const get = (name: string) => fields[fields.indexOf(name) + 1] ?? '';
  const values = fields.includes('snapshots') ? get('snapshots').split('\n') : [get('snapshot')];
  return values.map((value) => {
    const record = lineRecord(value);
    if (record) return { type: record.type as string, value: JSON.stringify(record), requestId: record.request_id as string | undefined };
    return {
      type: /"type":"([^"\\]*)"/.exec(value)?.[1] ?? get('type'),
      value,
      requestId: /"request_id":"([^"\\]*)"/.exec(value)?.[1],
    };
  });
}

/** Parses a Kafka message value as a reservation snapshot; never throws. */
export function parseSnapshot(raw: Buffer | string | null): Parsed<ReservationSnapshot> {
  const json = parseJson(raw);
  return json.ok ? check(validateSnapshot, json.value) : json;
}

export type OutboxRecord = { kind: 'snapshot'; value: ReservationSnapshot } | { kind: 'refusal'; value: RefusalRecord };

/**
 * Parses a message of the reservations topic: a refusal record when its `type` is `request.refused`,
 * else a reservation snapshot. Never throws.
 */
export function parseOutboxRecord(raw: Buffer | string | null): Parsed<OutboxRecord> {
  const json = parseJson(raw);
  if (!json.ok) return json;
  const isRefusal = typeof json.value === 'object' && json.value !== null && (json.value as { type?: unknown }).type === 'request.refused';
  if (isRefusal) {
    const refusal = check(validateRefusal, json.value);
    return refusal.ok ? { ok: true, value: { kind: 'refusal', value: refusal.value } } : refusal;
  }
  const snapshot = check(validateSnapshot, json.value);
  return snapshot.ok ? { ok: true, value: { kind: 'snapshot', value: snapshot.value } } : snapshot;
}
