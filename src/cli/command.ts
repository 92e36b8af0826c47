// What every `tfmodel <command>` does before its own work: parse the flags,
// answer --help, check the positional arguments. A command declares its flags
// `as const`, so its body reads them typed (`flags.output_graph: string | undefined`).
import { type FlagSpec, type Flags, parseArgs, UsageError, usage } from './args.js'

export type Out = (line: string) => void
export type CommandRun = (argv: string[], out: Out) => Promise<number>

export interface CommandSpec<Specs extends readonly FlagSpec[], Args extends readonly string[]> {
  /** After `tfmodel ` in the usage line: `freeze [flags]`. */
  usage: string
  summary: string
  /** The flags, as --help lists them (it adds itself last). */
  flags: Specs
  /** Flags accepted for compatibility with TensorFlow's tool and ignored; --help leaves them out. */
  ignoredFlags?: readonly string[]
  /**
   * The positional arguments by name, each required. Another number of them
   * is bad usage, said with `argsError` (without it: the first unexpected one).
   * Leave out to take whatever is given, in `positionals`.
   */
  args?: Args
  argsError?: string
  run(input: { flags: Flags<Specs>; args: { [K in Args[number]]: string }; positionals: string[] }, out: Out): Promise<number>
}

export function defineCommand<const Specs extends readonly FlagSpec[], const Args extends readonly string[] = []>(
  spec: CommandSpec<Specs, Args>,
): CommandRun {
  return async (argv, out) => {
    const { flags, positionals, help } = parseArgs(argv, spec.flags, spec.ignoredFlags)
    if (help) {
      out(usage(spec.usage, spec.summary, spec.flags))
      return 0
    }
    const names = spec.args
    if (names && positionals.length !== names.length) {
      throw new UsageError(spec.argsError ?? (positionals.length > names.length ? `unexpected argument "${positionals[names.length]}"` : `needs ${names.join(' and ')}`))
    }
    // One string per name: the count was checked above.
    const args = Object.fromEntries((names ?? []).map((name, i) => [name, positionals[i]])) as { [K in Args[number]]: string }
    return spec.run({ flags, args, positionals }, out)
  }
}
