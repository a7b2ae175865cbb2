import type { JSONSchemaType } from 'ajv';

/**
 * Request body schemas: the gateway validates every body against these (gateway/http/validate.ts).
 * Unknown fields are refused, so a misspelt field is a 400 naming it rather than silently ignored.
 */

export interface CreateEventBody {
  name: string;
  date: string;
  max_per_user?: number;
  sales_open_at?: string;
  sales_close_at?: string;
  /** FIFO (default), or a lottery pre-queue over the first window_s seconds after sales_open_at */
  admission?: { mode: 'fifo' | 'lottery'; window_s?: number; seed?: number };
}

export const createEventSchema: JSONSchemaType<CreateEventBody> = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'date'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' },
    date: { type: 'string', format: 'date-time' },
    max_per_user: { type: 'integer', minimum: 1, maximum: 100, nullable: true },
    sales_open_at: { type: 'string', format: 'date-time', nullable: true },
    sales_close_at: { type: 'string', format: 'date-time', nullable: true },
    admission: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      required: ['mode'],
      properties: {
        mode: { type: 'string', enum: ['fifo', 'lottery'] },
        window_s: { type: 'integer', minimum: 1, maximum: 3600, nullable: true },
        seed: { type: 'integer', minimum: 0, maximum: 4_294_967_295, nullable: true },
      },
    },
  },
};

export interface CreateCategoryBody {
  name: string;
  total_stock: number;
  price: number;
}

export const createCategorySchema: JSONSchemaType<CreateCategoryBody> = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'total_stock', 'price'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100, pattern: '\\S' },
    total_stock: { type: 'integer', minimum: 1, maximum: 10_000_000 },
    price: { type: 'integer', minimum: 0, maximum: 1_000_000_000_000 },
  },
};

export interface ReserveBody {
  event_id: string;
  category: string;
  qty: number;
}

export const reserveSchema: JSONSchemaType<ReserveBody> = {
  type: 'object',
  additionalProperties: false,
  required: ['event_id', 'category', 'qty'],
  properties: {
    event_id: { type: 'string', format: 'uuid' },
    category: { type: 'string', minLength: 1, maxLength: 100, pattern: '\\S' },
    qty: { type: 'integer', minimum: 1, maximum: 100 },
  },
};

/** How category names are matched: trimmed, NFKC, lower-cased with Unicode rules (not Lua's ASCII-only lower). */
export const categoryNameKey = (name: string): string => name.trim().normalize('NFKC').toLowerCase();

export interface ConfirmBody {
  reservation_id: string;
  payment_ok?: boolean;
}

export const confirmSchema: JSONSchemaType<ConfirmBody> = {
  type: 'object',
  additionalProperties: false,
  required: ['reservation_id'],
  properties: {
    reservation_id: { type: 'string', minLength: 1, maxLength: 200 },
    payment_ok: { type: 'boolean', nullable: true },
  },
};

export interface SaleSwitchBody {
  state: 'open' | 'paused' | 'closed';
}

export const saleSwitchSchema: JSONSchemaType<SaleSwitchBody> = {
  type: 'object',
  additionalProperties: false,
  required: ['state'],
  properties: { state: { type: 'string', enum: ['open', 'paused', 'closed'] } },
};

export interface QueueSettingsBody {
  max_depth: number;
}

export const queueSettingsSchema: JSONSchemaType<QueueSettingsBody> = {
  type: 'object',
  additionalProperties: false,
  required: ['max_depth'],
  properties: { max_depth: { type: 'integer', minimum: 1, maximum: 100_000_000 } },
};
