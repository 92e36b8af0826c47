// `tfmodel optimize`: TensorFlow's `optimize_for_inference`, flag for flag.
import { optimize } from '../native.js'
import { type FlagSpec, UsageError } from './args.js'
import { defineCommand } from './command.js'

/** The placeholder flags `optimize` and `convert` share. */
export const placeholderFlags = [
  { name: 'placeholder_type_enum', kind: 'list', help: 'DataType number(s) of the input placeholders (1 = DT_FLOAT)' },
  {
    name: 'placeholder_to_const_names',
    kind: 'list',
    help: 'placeholders to fix, e.g. is_training=false,keep_prob=1.0 (training switches and keep_prob are found and fixed by default)',
  },
] as const satisfies readonly FlagSpec[]

/** `--placeholder_type_enum`'s DataType numbers. */
export function typeEnums(values: string[] | undefined): number[] | undefined {
  return values?.map((t) => {
    const value = Number(t)
    if (!Number.isInteger(value) || value <= 0) throw new UsageError(`--placeholder_type_enum takes DataType numbers, not "${t}"`)
    return value
  })
}

export const optimizeSummary =
  'Rewrites a frozen graph for inference: strips identities and training nodes, resolves constant switches, folds batch norms and constants.'

export const runOptimize = defineCommand({
  usage: 'optimize [flags]',
  summary: optimizeSummary,
  flags: [
    { name: 'input', kind: 'string', help: 'frozen GraphDef to optimize' },
    { name: 'output', kind: 'string', help: 'where to write the optimized GraphDef' },
    { name: 'frozen_graph', kind: 'boolean', help: 'input and output are binary (false: text format)', default: true },
    { name: 'input_names', kind: 'list', help: "input node names (default: the graph's placeholders)" },
    { name: 'output_names', kind: 'list', help: 'output node names (required)' },
    ...placeholderFlags,
    { name: 'toco_compatible', kind: 'boolean', help: '(accepted; resize/pad fusions are never made)' },
  ],
  args: [],
  async run({ flags }, out) {
    const { input, output, output_names: outputNames } = flags
    if (!input || !output) throw new UsageError('--input and --output are required')
    if (!outputNames?.length) throw new UsageError('--output_names is required')
    const result = await optimize({
      input,
      output,
      frozenGraph: flags.frozen_graph,
      inputNames: flags.input_names,
      outputNames,
      placeholderTypeEnum: typeEnums(flags.placeholder_type_enum),
      placeholderToConstNames: flags.placeholder_to_const_names,
    })
    for (const line of result.applied) out(`  ${line}`)
    for (const line of result.warnings) out(`  warning: ${line}`)
    out(`${result.nodeCount} nodes in the optimized graph (inputs: ${result.inputs.join(', ')}; outputs: ${result.outputs.join(', ')}); wrote ${output}`)
    return 0
  },
})
