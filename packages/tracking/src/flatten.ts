/**
 * Turning a resolved experiment into MLflow params, and keeping keys and
 * values within what the server accepts.
 */

/** MLflow 3's limits on names and values (mlflow/utils/validation.py). */
export const MLFLOW_LIMITS = {
  /** MAX_ENTITY_KEY_LENGTH: param, metric and tag names. */
  keyLength: 250,
  /** MAX_PARAM_VAL_LENGTH (6000 since MLflow 2.x; 500 before). */
  paramValueLength: 6000,
  /** MAX_TAG_VAL_LENGTH. */
  tagValueLength: 8000,
} as const;

/**
 * A name MLflow accepts: alphanumerics, `_ - . / : ` and spaces, not resolving
 * to another path ("a//b", "./a", "a/.."). Anything else becomes `_`.
 */
export function sanitizeKey(key: string): string {
  let clean = key.replace(/[^\w.\- /:]/g, '_');
  clean = clean
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .map((s) => (s === '..' ? '__' : s))
    .join('/');
  if (clean === '') clean = '_';
  if (clean.length > MLFLOW_LIMITS.keyLength) {
    const hash = simpleHash(key).toString(36);
    clean = `${clean.slice(0, MLFLOW_LIMITS.keyLength - hash.length - 1)}~${hash}`;
  }
  return clean;
}

function simpleHash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h;
}

/**
 * Shortens a value to `limit` characters, ending with a marker that says it
 * was cut and how long it was, so a reader of the MLflow UI is never misled.
 * The full experiment stays in the run directory (experiment.resolved.json).
 */
export function truncateValue(value: string, limit: number): string {
  if (value.length <= limit) return value;
  const marker = `...[truncated: ${value.length} chars]`;
  return value.slice(0, Math.max(0, limit - marker.length)) + marker;
}

function isPrimitive(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return JSON.stringify(value) ?? String(value);
}

/**
 * Flattens plain JSON to dot paths: `{optimizers: {generator: {type: 'adam'}}}`
 * gives `optimizers.generator.type = adam`. Arrays of plain values stay whole
 * (`[64,128]` reads better than four params); arrays holding objects are
 * indexed (`callbacks.0.type`). Values over the server's limit are shortened
 * with a visible marker.
 */
export function flattenParams(value: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (Array.isArray(value)) {
    if (value.length === 0 || value.every(isPrimitive)) {
      if (prefix !== '') out[sanitizeKey(prefix)] = truncateValue(render(value), MLFLOW_LIMITS.paramValueLength);
    } else {
      value.forEach((item, i) => flattenParams(item, prefix === '' ? String(i) : `${prefix}.${i}`, out));
    }
    return out;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    if (entries.length === 0) {
      if (prefix !== '') out[sanitizeKey(prefix)] = '{}';
      return out;
    }
    for (const [k, v] of entries) flattenParams(v, prefix === '' ? k : `${prefix}.${k}`, out);
    return out;
  }
  if (prefix !== '' && value !== undefined) out[sanitizeKey(prefix)] = truncateValue(render(value), MLFLOW_LIMITS.paramValueLength);
  return out;
}
