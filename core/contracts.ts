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
    created_at: { type: 'integer' },
    updated_at: { type: 'integer' },
    version: { type: 'integer', minimum: 1 },
  },
};

const ajv = new Ajv({ allErrors: true, strict: true });
const validateJob: ValidateFunction<ReserveJob> = ajv.compile(reserveJobSchema);
const validateSnapshot: ValidateFunction<ReservationSnapshot> = ajv.compile(snapshotSchema);

type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

function check<T>(validate: ValidateFunction<T>, value: unknown): Parsed<T> {
  if (validate(value)) return { ok: true, value };
  return { ok: false, error: ajv.errorsText(validate.errors) };
}

export const parseReserveJob = (data: unknown): Parsed<ReserveJob> => check(validateJob, data);

/** Parses a Kafka message value; never throws. */
export function parseSnapshot(raw: Buffer | string | null): Parsed<ReservationSnapshot> {
  if (raw === null) return { ok: false, error: 'empty message' };
  let value: unknown;
  try {
    value = JSON.parse(raw.toString());
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  return check(validateSnapshot, value);
}
