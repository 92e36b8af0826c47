// Errors the runtime raises, each with a stable `code` an app can branch on.

export type RuntimeErrorCode =
  | 'NETWORK_ERROR'
  | 'INTEGRITY_ERROR'
  | 'BACKEND_UNSUPPORTED'
  | 'ABORTED'
  | 'INVALID_INPUT'
  | 'MISSING_DEPENDENCY'
  | 'BASE_URL_REQUIRED'
  | 'MISSING_KERNEL'

export class TfModelRuntimeError extends Error {
  readonly code: RuntimeErrorCode
  /** The URL or input concerned. */
  readonly subject: string | undefined

  constructor(code: RuntimeErrorCode, message: string, subject?: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'TfModelRuntimeError'
    this.code = code
    this.subject = subject
  }
}
