// `tfmodel convert`: the whole pipeline (read, freeze, optimize, quantize,
// emit) in one command — what freeze_graph, optimize_for_inference and
// tensorflowjs_converter do in turn.
import { convert } from '../native.js'
import { type FlagSpec, parseArgs, UsageError, usage } from './args.js'
import { placeholderFlags, typeEnums } from './optimize.js'
import { conversionLines } from './report.js'

export const convertFlags: FlagSpec[] = [
  { name: 'quantize', kind: 'string', help: 'uint8, float16 or int8 (default: float32 weights)' },
  { name: 'output_node_names', kind: 'list', help: 'output node names (default: the signature, else the prediction heads)' },
  { name: 'input_names', kind: 'list', help: 'input node names (default: the placeholders the outputs need)' },
  ...placeholderFlags(),
  { name: 'use_ema', kind: 'boolean', help: 'freeze with the ExponentialMovingAverage shadow variables' },
  { name: 'input_graph', kind: 'string', help: 'GraphDef to pair with a checkpoint saved without a .meta' },
  { name: 'format', kind: 'string', help: 'tfjs (model.json + shards) or pb (frozen GraphDef)', default: 'tfjs' },
  { name: 'shard_size', kind: 'string', help: 'bytes per weight shard', default: '4194304' },
  { name: 'op_check', kind: 'string', help: 'error, warn or off: ops TF.js cannot run', default: 'error' },
  { name: 'minimum_size', kind: 'string', help: 'tensors with fewer elements stay float', default: '1024' },
  { name: 'json', kind: 'boolean', help: 'print the result as JSON' },
  { name: 'help', kind: 'boolean', help: 'show this help' },
]

export const convertSummary = 'Converts a checkpoint, training directory or graph into a TF.js graph model (or a frozen .pb).'

export async function runConvert(argv: string[], out: (line: string) => void): Promise<number> {
  const { flags, positionals } = parseArgs(argv, convertFlags)
  if (flags.help) {
    out(usage('convert <source> <outdir> [flags]', convertSummary, convertFlags))
    return 0
  }
  const [source, outdir, extra] = positionals
  if (!source || !outdir || extra) throw new UsageError('convert takes a source and an output directory: tfmodel convert <source> <outdir>')
  const number = (name: string) => {
    const value = Number(flags[name])
    if (!Number.isInteger(value) || value < 0) throw new UsageError(`--${name} takes a whole number`)
    return value
  }
  const result = await convert({
    source,
    inputGraph: flags.input_graph as string | undefined,
    outputNodeNames: flags.output_node_names as string[] | undefined,
    inputNames: flags.input_names as string[] | undefined,
    quantize: flags.quantize as string | undefined,
    quantizeMinimumSize: number('minimum_size'),
    format: flags.format as string,
    shardSize: number('shard_size'),
    opCheck: flags.op_check as string,
    outputDir: outdir,
    placeholderTypeEnum: typeEnums(flags.placeholder_type_enum),
    placeholderToConstNames: flags.placeholder_to_const_names as string[] | undefined,
    useEma: flags.use_ema as boolean | undefined,
  })
  if (flags.json) {
    const { files, ...rest } = result
    out(JSON.stringify({ ...rest, files: files.map((f) => ({ name: f.name, bytes: f.data.byteLength })) }, null, 2))
    return 0
  }
  for (const line of conversionLines(result)) out(line)
  out(`wrote ${result.files.map((f) => f.name).join(', ')} to ${outdir}`)
  return 0
}

