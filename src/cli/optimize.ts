// `tfmodel optimize`: TensorFlow's `optimize_for_inference`, flag for flag.
import { optimize } from '../native.js'
import { type FlagSpec, parseArgs, UsageError, usage } from './args.js'

/** The placeholder flags `optimize` and `convert` share. */
export function placeholderFlags(): FlagSpec[] {
  return [
    { name: 'placeholder_type_enum', kind: 'list', help: 'DataType number(s) of the input placeholders (1 = DT_FLOAT)' },
    {
      name: 'placeholder_to_const_names',
      kind: 'list',
      help: 'placeholders to fix, e.g. is_training=false,keep_prob=1.0 (training switches and keep_prob are found and fixed by default)',
    },
  ]
}

/** `--placeholder_type_enum`'s DataType numbers. */
export function typeEnums(values: unknown): number[] | undefined {
  return (values as string[] | undefined)?.map((t) => {
    const value = Number(t)
    if (!Number.isInteger(value) || value <= 0) throw new UsageError(`--placeholder_type_enum takes DataType numbers, not "${t}"`)
    return value
  })
}

export const optimizeFlags: FlagSpec[] = [
  { name: 'input', kind: 'string', help: 'frozen GraphDef to optimize' },
  { name: 'output', kind: 'string', help: 'where to write the optimized GraphDef' },
  { name: 'frozen_graph', kind: 'boolean', help: 'input and output are binary (false: text format)', default: true },
  { name: 'input_names', kind: 'list', help: 'input node names (default: the graph\'s placeholders)' },
  { name: 'output_names', kind: 'list', help: 'output node names (required)' },
  ...placeholderFlags(),
  { name: 'toco_compatible', kind: 'boolean', help: '(accepted; resize/pad fusions are never made)' },
  { name: 'help', kind: 'boolean', help: 'show this help' },
]

export const optimizeSummary =
  'Rewrites a frozen graph for inference: strips identities and training nodes, resolves constant switches, folds batch norms and constants.'

export async function runOptimize(argv: string[], out: (line: string) => void): Promise<number> {
  const { flags, positionals } = parseArgs(argv, optimizeFlags)
  if (flags.help) {
    out(usage('optimize [flags]', optimizeSummary, optimizeFlags))
    return 0
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`)
  const input = flags.input as string | undefined
  const output = flags.output as string | undefined
  const outputNames = flags.output_names as string[] | undefined
  if (!input || !output) throw new UsageError('--input and --output are required')
  if (!outputNames?.length) throw new UsageError('--output_names is required')
  const result = await optimize({
    input,
    output,
    frozenGraph: flags.frozen_graph as boolean,
    inputNames: flags.input_names as string[] | undefined,
    outputNames,
    placeholderTypeEnum: typeEnums(flags.placeholder_type_enum),
    placeholderToConstNames: flags.placeholder_to_const_names as string[] | undefined,
  })
  for (const line of result.applied) out(`  ${line}`)
  for (const line of result.warnings) out(`  warning: ${line}`)
  out(`${result.nodeCount} nodes in the optimized graph (inputs: ${result.inputs.join(', ')}; outputs: ${result.outputs.join(', ')}); wrote ${output}`)
  return 0
}
