import type { JSONSchemaType } from 'ajv';

/**
 * Request body schemas: the gateway validates every body against these (gateway/http/validate.ts).
 * Unknown fields are refused, so a misspelt field is a 400 naming it rather than silently ignored.
 * The OpenAPI document (gateway/docs/openapi.ts) publishes these very objects as its request schemas
 * (REQUEST_SCHEMAS below), so what is documented is what is validated. They stay within what both
 * ajv (strict) and OpenAPI 3.0 accept: `nullable`, `format`, and `description` as the only annotation.
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
    name: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S', description: 'trimmed; not blank' },
    date: { type: 'string', format: 'date-time', description: 'RFC 3339 with a zone' },
    max_per_user: { type: 'integer', minimum: 1, maximum: 100, nullable: true, description: 'seats one user may hold and buy (default 4)' },
    sales_open_at: { type: 'string', format: 'date-time', nullable: true, description: 'reserves before it are refused sales_not_open' },
    sales_close_at: { type: 'string', format: 'date-time', nullable: true, description: 'after sales_open_at; reserves from it are refused sales_closed' },
    admission: {
      type: 'object',
      nullable: true,
      description: 'fifo (default), or a lottery pre-queue over the first window_s seconds after sales_open_at (docs/fairness.md)',
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
    price: { type: 'integer', minimum: 0, maximum: 1_000_000_000_000, description: 'in minor units (cents)' },
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
    category: { type: 'string', minLength: 1, maxLength: 100, pattern: '\\S', description: "the category's name, matched case-insensitively" },
    qty: { type: 'integer', minimum: 1, maximum: 100, description: "seats; at most the event's max_per_user" },
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
    payment_ok: { type: 'boolean', nullable: true, description: 'the simulated payment: false is a declined card (default true)' },
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

/** Every request body schema by the name the OpenAPI document gives it (`#/components/schemas/<name>`). */
export const REQUEST_SCHEMAS = {
  CreateEvent: createEventSchema,
  CreateCategory: createCategorySchema,
  Reserve: reserveSchema,
  Confirm: confirmSchema,
  SaleSwitch: saleSwitchSchema,
  QueueSettings: queueSettingsSchema,
} as const;
