import { AppError } from '../../core/errors.ts';
import { isUuid } from '../../core/keys.ts';

/**
 * Page cursors for keyset pagination (newest first): the last row's `created_at` as PostgreSQL prints it
 * (exact to the microsecond) and its id, base64url-encoded JSON. Opaque to clients.
 */
const PG_TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/;

export function encodeCursor(createdKey: string, id: string): string {
  return Buffer.from(JSON.stringify([createdKey, id])).toString('base64url');
}

export function decodeCursor(cursor: string, isId: (id: string) => boolean = isUuid): [string, string] {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString());
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && PG_TIMESTAMP.test(value[0]) && typeof value[1] === 'string' && isId(value[1])) {
      return [value[0], value[1]];
    }
  } catch {
    // fall through
  }
  throw AppError.invalid([{ name: 'cursor', reason: 'is not a cursor this API returned' }]);
}
