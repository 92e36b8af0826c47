// Query directives on a model import (`./ssd.ckpt?quantize=int8&outputs=a,b`),
// named after TensorFlow's tool flags. Unknown names and bad values are errors.
import { closestNames } from '../closest-names.js'
import { PluginError } from './errors.js'

export type QuantizeMode = 'uint8' | 'float16' | 'int8'
export type ModelFormat = 'tfjs' | 'pb'

export interface Directives {
  /** `quantize` alone means uint8; absent means float32 weights. */
  quantize?: QuantizeMode
  /** Output node names (`--output_node_names`). */
  outputs?: string[]
  /** Input node names (`--input_names`). */
  inputs?: string[]
  format?: ModelFormat
  /** The import is only the model's URL. */
  url?: boolean
}

export const DIRECTIVES = ['quantize', 'outputs', 'inputs', 'format', 'url'] as const
export const QUANTIZE_MODES: readonly QuantizeMode[] = ['uint8', 'float16', 'int8']
const FORMATS: readonly ModelFormat[] = ['tfjs', 'pb']

/** Parameters bundlers add to ids themselves; never the user's. */
const BUNDLER_PARAMETERS = new Set(['t', 'v', 'import', 'used', 'direct', 'lang', 'inline'])

export function parseDirectives(query: string): Directives {
  const directives: Directives = {}
  const params = new URLSearchParams(query.startsWith('?') ? query.slice(1) : query)
  for (const [name, value] of params) {
    if (BUNDLER_PARAMETERS.has(name)) continue
    switch (name) {
      case 'quantize':
        directives.quantize = oneOf(name, value === '' ? 'uint8' : value, QUANTIZE_MODES)
        break
      case 'format':
        directives.format = oneOf(name, value, FORMATS)
        break
      case 'outputs':
      case 'inputs':
        directives[name] = nodeList(name, value)
        break
      case 'url':
        if (value !== '') throw new PluginError('INVALID_DIRECTIVE', `directive "url" takes no value (got "url=${value}")`)
        directives.url = true
        break
      default:
        throw new PluginError('INVALID_DIRECTIVE', `unknown directive "${name}"`, closestNames(name, DIRECTIVES))
    }
  }
  return directives
}

/** A stable query string for the same directives, whatever order they were written in. */
export function canonicalQuery(directives: Directives): string {
  const parts: string[] = []
  if (directives.quantize) parts.push(`quantize=${directives.quantize}`)
  if (directives.outputs) parts.push(`outputs=${directives.outputs.join(',')}`)
  if (directives.inputs) parts.push(`inputs=${directives.inputs.join(',')}`)
  if (directives.format) parts.push(`format=${directives.format}`)
  if (directives.url) parts.push('url')
  return parts.join('&')
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T
  throw new PluginError(
    'INVALID_DIRECTIVE',
    `directive "${name}" takes ${allowed.map((a) => `"${a}"`).join(', ')}, not "${value}"`,
    closestNames(value, allowed),
  )
}

function nodeList(name: string, value: string): string[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean)
  if (names.length === 0) throw new PluginError('INVALID_DIRECTIVE', `directive "${name}" needs node names, e.g. ${name}=a,b`)
  return names
}
