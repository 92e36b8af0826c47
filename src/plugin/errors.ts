// Errors the plugin raises (bad directives and options) carry a stable `code`
// like the core's, and a message naming the importing module and the model.

export type PluginErrorCode = 'INVALID_DIRECTIVE' | 'INVALID_OPTION'

export class PluginError extends Error {
  readonly code: PluginErrorCode
  readonly suggestions: string[]

  constructor(code: PluginErrorCode, message: string, suggestions: string[] = []) {
    super(suggestions.length > 0 ? `${message} (did you mean ${suggestions.map((s) => `"${s}"`).join(' or ')}?)` : message)
    this.name = 'PluginError'
    this.code = code
    this.suggestions = suggestions
  }
}
