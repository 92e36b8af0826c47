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

/** Names among `known` within a small edit distance of `name`, best first. */
export function closestNames(name: string, known: readonly string[]): string[] {
  return known
    .map((candidate) => ({ candidate, distance: editDistance(name.toLowerCase(), candidate.toLowerCase()) }))
    .filter(({ candidate, distance }) => distance <= Math.max(2, Math.floor(candidate.length / 3)))
    .sort((a, b) => a.distance - b.distance)
    .slice(0, 2)
    .map(({ candidate }) => candidate)
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 0; i < a.length; i++) {
    const current = [i + 1]
    for (let j = 0; j < b.length; j++) {
      current.push(Math.min(previous[j]! + (a[i] === b[j] ? 0 : 1), previous[j + 1]! + 1, current[j]! + 1))
    }
    previous = current
  }
  return previous[b.length]!
}
