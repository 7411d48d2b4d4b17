// The error type of @tessera/client, in its own module so that the client's
// modules can share it without an import cycle.

/** An error answer from Tessera, or a failure to reach it. */
export class TesseraError extends Error {
  /**
   * @param {string} message
   * @param {{status?: number, code?: string, description?: string, cause?: unknown}} [info]
   */
  constructor(message, info = {}) {
    super(message, info.cause === undefined ? undefined : { cause: info.cause });
    this.name = 'TesseraError';
    /** HTTP status (0 when the server could not be reached). */
    this.status = info.status ?? 0;
    /** Tessera's `error` code, e.g. `invalid_grant`. */
    this.code = info.code ?? '';
    /** Tessera's `error_description`. */
    this.description = info.description ?? '';
  }
}
