// Flag parsing in the style of TensorFlow's tools (absl flags): `--name=value`,
// `--name value`, `--name` / `--noname` for booleans. Kebab-case names are
// accepted as aliases of the snake_case ones. Every command takes --help (-h).

import { closestNames } from '../native.js'

export interface FlagSpec {
  /** snake_case flag name, as TensorFlow's tool spells it. */
  name: string
  kind: 'string' | 'boolean' | 'list'
  help: string
  default?: string | boolean
}

/**
 * What a flag reads as: a string, a boolean, or a list for `a,b`, and
 * undefined when it was not given and has no default. A boolean without a
 * default stays undefined too, because "not said" can mean something of its
 * own (`--input_binary`: decide by the file).
 */
export type FlagValue<S extends FlagSpec> = S extends { kind: 'list' }
  ? string[] | undefined
  : (S extends { kind: 'boolean' } ? boolean : string) | (S extends { default: string | boolean } ? never : undefined)

/** The parsed flags of a spec list declared `as const`, by name. */
export type Flags<Specs extends readonly FlagSpec[]> = { [S in Specs[number] as S['name']]: FlagValue<S> }

type FlagValues = Record<string, string | boolean | string[] | undefined>

/** `--saved_model_tags` (freeze_graph's and tensorflowjs_converter's name), for every command that reads a SavedModel. */
export const savedModelTagsFlag = {
  name: 'saved_model_tags',
  kind: 'list',
  help: 'the tag set of the SavedModel meta graph to read, e.g. serve,gpu (default: the one tagged serve)',
} as const satisfies FlagSpec

export class UsageError extends Error {
  readonly code = 'INVALID_ARGUMENT'
}

export interface ParsedArgs<Specs extends readonly FlagSpec[]> {
  flags: Flags<Specs>
  positionals: string[]
  /** --help or -h was given. */
  help: boolean
}

const helpFlag: FlagSpec = { name: 'help', kind: 'boolean', help: 'show this help' }

/** `ignored`: string flags accepted for compatibility with TensorFlow's tool, whose values nobody reads. */
export function parseArgs<const Specs extends readonly FlagSpec[]>(argv: string[], listed: Specs, ignored: readonly string[] = []): ParsedArgs<Specs> {
  const specs: FlagSpec[] = [
    ...listed,
    helpFlag,
    ...ignored.map((name): FlagSpec => ({ name, kind: 'string', help: '(accepted for compatibility; ignored)' })),
  ]
  const byName = new Map(specs.map((s) => [s.name, s]))
  const flags: FlagValues = {}
  const positionals: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg)
      continue
    }
    const body = arg.replace(/^--?/, '')
    const eq = body.indexOf('=')
    const written = (eq >= 0 ? body.slice(0, eq) : body).replaceAll('-', '_')
    const rawName = written === 'h' ? 'help' : written
    let spec = byName.get(rawName)
    let negated = false
    if (!spec && rawName.startsWith('no')) {
      spec = byName.get(rawName.slice(2))
      negated = spec?.kind === 'boolean'
      if (!negated) spec = undefined
    }
    if (!spec) {
      throw new UsageError(`unknown flag --${rawName}${suggestFlag(rawName, specs)}`)
    }
    if (spec.kind === 'boolean') {
      if (negated) flags[spec.name] = false
      else if (eq >= 0) flags[spec.name] = parseBoolean(spec.name, body.slice(eq + 1))
      else flags[spec.name] = true
      continue
    }
    let value: string
    if (eq >= 0) value = body.slice(eq + 1)
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) value = argv[++i]!
    else throw new UsageError(`flag --${spec.name} needs a value`)
    flags[spec.name] = spec.kind === 'list' ? splitList(value) : value
  }
  for (const spec of specs) {
    if (flags[spec.name] === undefined && spec.default !== undefined) flags[spec.name] = spec.default
  }
  const help = flags.help === true
  delete flags.help
  // Every value was set from its spec's kind or default, which is what Flags<Specs> says.
  return { flags: flags as Flags<Specs>, positionals, help }
}

/** A flag that takes a count (`--minimum_size=1024`): a whole number, at least 0. */
export function wholeNumber(name: string, value: string): number
export function wholeNumber(name: string, value: string | undefined): number | undefined
export function wholeNumber(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const number = Number(value)
  if (!Number.isInteger(number) || number < 0) throw new UsageError(`--${name} takes a whole number`)
  return number
}

/** A flag's finite number, if given. */
export function number(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const parsed = Number(value)
  if (value.trim() === '' || !Number.isFinite(parsed)) throw new UsageError(`--${flag} takes a number, not "${value}"`)
  return parsed
}

/** label_image's `--mean_value` and `--std_value`, for image inputs: a divisor of 0 would make every pixel infinite. */
export function pixelFlags(flags: { mean_value?: string; std_value?: string }): { mean?: number; std?: number } {
  const std = number('std_value', flags.std_value)
  if (std === 0) throw new UsageError('--std_value divides each pixel: give a number other than 0')
  return { mean: number('mean_value', flags.mean_value), std }
}

/** Whether `--mean_value` or `--std_value` was given. */
export function hasPixelFlags(flags: { mean_value?: string; std_value?: string }): boolean {
  return flags.mean_value !== undefined || flags.std_value !== undefined
}

/** `a,b, c` → `['a', 'b', 'c']`; empty items dropped. */
export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
}

function parseBoolean(name: string, value: string): boolean {
  if (/^(true|1|yes)$/i.test(value)) return true
  if (/^(false|0|no)$/i.test(value)) return false
  throw new UsageError(`flag --${name} takes true or false, not "${value}"`)
}

function suggestFlag(name: string, specs: readonly FlagSpec[]): string {
  const [best] = closestNames(name, specs.map((s) => s.name))
  return best ? ` (did you mean --${best}?)` : ''
}

export function usage(command: string, summary: string, specs: readonly FlagSpec[]): string {
  const lines = [`Usage: tfmodel ${command}`, '', summary, '', 'Flags:']
  for (const spec of [...specs, helpFlag]) {
    const value = spec.kind === 'boolean' ? '' : spec.kind === 'list' ? '=a,b' : '=…'
    const fallback = spec.default === undefined ? '' : ` (default: ${String(spec.default)})`
    lines.push(`  --${spec.name}${value}`.padEnd(36) + spec.help + fallback)
  }
  return lines.join('\n')
}
