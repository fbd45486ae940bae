/**
 * A request to an S3 (or S3-compatible) store that failed after every retry. The message names
 * the operation, the object's location and the number of attempts; the SDK's error is the cause.
 */
export class S3RequestError extends Error {
  constructor(
    readonly operation: string,
    /** The object key as the caller named it (without the store's prefix). */
    readonly key: string,
    /** `s3://bucket/full-key`: never contains credentials. */
    readonly location: string,
    readonly attempts: number | undefined,
    options: ErrorOptions & { detail?: string } = {},
  ) {
    const tries = attempts === undefined ? '' : ` after ${attempts} attempt${attempts === 1 ? '' : 's'}`;
    const detail = options.detail ?? describeCause(options.cause);
    super(`s3 ${operation} failed for ${location}${tries}: ${detail}`, options);
    this.name = 'S3RequestError';
  }
}

interface SdkErrorShape {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

export function httpStatusOf(error: unknown): number | undefined {
  return (error as SdkErrorShape | undefined)?.$metadata?.httpStatusCode;
}

/** How many attempts the SDK made before giving up (its retry middleware records it). */
export function attemptsOf(error: unknown): number | undefined {
  return (error as SdkErrorShape | undefined)?.$metadata?.attempts;
}

/** The key (not the bucket) is absent. HEAD answers carry no error code, so any 404 counts there. */
export function isMissingObject(error: unknown): boolean {
  return httpStatusOf(error) === 404 && (error as SdkErrorShape).name !== 'NoSuchBucket';
}

/** `If-None-Match: *` lost: the object exists (412) or another conditional write is in flight (409). */
export function isConditionFailure(error: unknown): boolean {
  const status = httpStatusOf(error);
  const name = (error as SdkErrorShape | undefined)?.name;
  return status === 412 || name === 'PreconditionFailed' || (status === 409 && name === 'ConditionalRequestConflict');
}

export function describeCause(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const shape = cause as SdkErrorShape;
  const status = shape.$metadata?.httpStatusCode;
  const parts = [`${cause.name}: ${cause.message}`];
  if (shape.code && !cause.message.includes(shape.code)) parts.push(`(${shape.code})`);
  if (status !== undefined) parts.push(`[http ${status}]`);
  return parts.join(' ');
}
