import { Ajv, type ErrorObject, type JSONSchemaType, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { AppError, type InvalidParam } from '../../core/errors.ts';

const ajv = new Ajv({ allErrors: true, strict: true, coerceTypes: false });
addFormats.default(ajv, ['date-time', 'uuid']);

function toInvalidParam(error: ErrorObject): InvalidParam {
  const path = error.instancePath.replace(/^\//, '').replaceAll('/', '.');
  if (error.keyword === 'required') {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    return { name: path ? `${path}.${missing}` : missing, reason: 'is required' };
  }
  if (error.keyword === 'additionalProperty' || error.keyword === 'additionalProperties') {
    const extra = (error.params as { additionalProperty: string }).additionalProperty;
    return { name: path ? `${path}.${extra}` : extra, reason: 'is not a known field' };
  }
  if (error.keyword === 'pattern') return { name: path || 'body', reason: 'must not be blank' };
  if (error.keyword === 'format') return { name: path || 'body', reason: `must be a valid ${String((error.params as { format: string }).format)}` };
  return { name: path || 'body', reason: error.message ?? 'is invalid' };
}

/** Compiles a body validator that throws one 400 AppError naming every bad field. */
export function bodyValidator<T>(schema: JSONSchemaType<T>): (body: unknown) => T {
  const validate: ValidateFunction<T> = ajv.compile(schema);
  return (body) => {
    if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw AppError.invalid([{ name: 'body', reason: 'must be a JSON object (Content-Type: application/json)' }]);
    }
    if (validate(body)) return body;
    const seen = new Set<string>();
    const params = (validate.errors ?? []).map(toInvalidParam).filter((p) => !seen.has(p.name) && seen.add(p.name));
    throw AppError.invalid(params);
  };
}
