// `tfmodel quantize`: TensorFlow's `quantize_graph` weight quantization, as a
// TensorFlow-loadable frozen graph (`--format pb`, the default) or a TF.js model.
import { convert, quantizeGraph } from '../native.js'
import { type FlagSpec, parseArgs, UsageError, usage } from './args.js'
import { conversionLines, quantizationLines } from './report.js'

export const quantizeFlags: FlagSpec[] = [
  { name: 'input', kind: 'string', help: 'frozen GraphDef' },
  { name: 'output', kind: 'string', help: 'output GraphDef (--format pb) or directory (--format tfjs)' },
  { name: 'output_node_names', kind: 'list', help: 'output node names (needed for --format tfjs)' },
  { name: 'mode', kind: 'string', help: 'eightbit (= uint8), float16 or int8', default: 'eightbit' },
  { name: 'format', kind: 'string', help: 'pb (a graph with Dequantize nodes) or tfjs', default: 'pb' },
  { name: 'minimum_size', kind: 'string', help: 'tensors with fewer elements stay float', default: '1024' },
  { name: 'help', kind: 'boolean', help: 'show this help' },
]

export const quantizeSummary = 'Quantizes the weights of a frozen graph to 8 bits (or float16).'

export async function runQuantize(argv: string[], out: (line: string) => void): Promise<number> {
  const { flags, positionals } = parseArgs(argv, quantizeFlags)
  if (flags.help) {
    out(usage('quantize [flags]', quantizeSummary, quantizeFlags))
    return 0
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`)
  const input = flags.input as string | undefined
  const output = flags.output as string | undefined
  if (!input || !output) throw new UsageError('--input and --output are required')
  const mode = flags.mode as string
  const minimumSize = Number(flags.minimum_size)
  if (!Number.isInteger(minimumSize) || minimumSize < 0) throw new UsageError('--minimum_size takes a whole number')
  if (flags.format === 'pb') {
    for (const line of quantizationLines(await quantizeGraph(input, output, mode, minimumSize))) out(line)
    out(`wrote ${output}`)
    return 0
  }
  if (flags.format !== 'tfjs') throw new UsageError(`--format takes pb or tfjs, not "${String(flags.format)}"`)
  const result = await convert({
    source: input,
    outputNodeNames: flags.output_node_names as string[] | undefined,
    quantize: mode === 'eightbit' ? 'uint8' : mode,
    quantizeMinimumSize: minimumSize,
    format: 'tfjs',
    outputDir: output,
  })
  for (const line of conversionLines(result)) out(line)
  out(`wrote ${output}`)
  return 0
}
