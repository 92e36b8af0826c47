// The `tfmodel` command: TensorFlow's graph tools without Python or TensorFlow.
import { isTfModelError, mapCheckpoints } from '../native.js'
import { TfModelRuntimeError } from '../runtime/errors.js'
import { UsageError } from './args.js'
import { convertSummary, runConvert } from './convert.js'
import { freezeSummary, runFreeze } from './freeze.js'
import { inspectSummary, runInspect } from './inspect.js'
import { optimizeSummary, runOptimize } from './optimize.js'
import { quantizeSummary, runQuantize } from './quantize.js'
import { runRun, runSummary } from './run.js'


type Command = (argv: string[], out: (line: string) => void) => Promise<number>

const commands: Record<string, { run: Command; summary: string; replaces: string }> = {
  inspect: { run: runInspect, summary: inspectSummary, replaces: 'inspect_checkpoint' },
  freeze: { run: runFreeze, summary: freezeSummary, replaces: 'freeze_graph' },
  optimize: { run: runOptimize, summary: optimizeSummary, replaces: 'optimize_for_inference' },
  quantize: { run: runQuantize, summary: quantizeSummary, replaces: 'quantize_graph' },
  convert: { run: runConvert, summary: convertSummary, replaces: 'freeze_graph + optimize_for_inference + tensorflowjs_converter' },
  run: { run: runRun, summary: runSummary, replaces: 'label_image' },
}

function help(): string {
  const lines = ['Usage: tfmodel <command> [flags]', '', 'Commands:']
  for (const [name, command] of Object.entries(commands)) {
    lines.push(`  ${name.padEnd(10)} ${command.summary} (replaces ${command.replaces})`)
  }
  lines.push('', 'Run `tfmodel <command> --help` for its flags.')
  return lines.join('\n')
}

/** Runs the CLI; returns the exit code (0 ok, 1 failed, 2 bad usage). */
export async function main(argv: string[], out = (line: string) => console.log(line), err = (line: string) => console.error(line)): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    out(help())
    return name ? 0 : 2
  }
  const command = commands[name]
  if (!command) {
    err(`tfmodel: unknown command "${name}"\n\n${help()}`)
    return 2
  }
  try {
    // A command converts and exits, beside no training loop rewriting its files: large tensors are mapped, not copied.
    mapCheckpoints(true)
    return await command.run(rest, out)
  } catch (error) {
    if (error instanceof UsageError) {
      err(`tfmodel ${name}: ${error.message}`)
      return 2
    }
    if (isTfModelError(error)) {
      err(`tfmodel ${name}: error ${error.code}: ${error.message}`)
      // A flag value the core rejects is bad usage too.
      return error.code === 'INVALID_ARGUMENT' ? 2 : 1
    }
    const coded = codeOf(error)
    err(coded ? `tfmodel ${name}: error ${coded}` : `tfmodel ${name}: ${error instanceof Error ? error.message : String(error)}`)
    return 1
  }
}

/** `CODE: message` for a runtime error, or a file Node could not read (named by its path), as the core words its own. */
function codeOf(error: unknown): string | undefined {
  if (error instanceof TfModelRuntimeError) return `${error.code}: ${error.message}`
  const system = error as NodeJS.ErrnoException
  if (!(error instanceof Error) || typeof system.path !== 'string') return undefined
  // Node's own message already names the path.
  return system.code === 'ENOENT' ? `FILE_NOT_FOUND: ${system.path}: no such file or directory` : `IO_ERROR: ${error.message}`
}
