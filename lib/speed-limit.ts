// Speed limits' one rule for bad values, shared by the session option, the task option and the
// setSpeedLimit methods: bytes per second as a whole number >= 0, where 0 (or null, or leaving it
// out) means no limit. The engines pace to it (native/core/speed_pacer.h). JS thread only.
import { ErrorCodes, withCode } from './errors';

/** The limit in bytes per second, 0 for none; throws RangeError/TypeError coded ERR_URLSESSION_SPEED_LIMIT. */
export function parseSpeedLimit(value: unknown, what: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number') {
    throw withCode(
      new TypeError(`${what} must be a number of bytes per second (0 or null: no limit), got ${typeof value}`),
      ErrorCodes.SPEED_LIMIT,
    );
  }
  if (!Number.isSafeInteger(value) || value < 0) {
    throw withCode(
      new RangeError(`${what} must be a whole number of bytes per second >= 0 (0: no limit), got ${value}`),
      ErrorCodes.SPEED_LIMIT,
    );
  }
  return value;
}
