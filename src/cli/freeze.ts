// `tfmodel freeze`: TensorFlow's `freeze_graph`, flag for flag.
import { defaults, freeze } from '../native.js'
import { savedModelTagsFlag, UsageError } from './args.js'
import { defineCommand } from './command.js'
import { inferenceLines } from './report.js'

export const freezeSummary =
  'Freezes a graph with a checkpoint: variables become constants and the graph is pruned to its outputs.'

export const runFreeze = defineCommand({
  usage: 'freeze [flags]',
  summary: freezeSummary,
  flags: [
    { name: 'input_graph', kind: 'string', help: 'GraphDef file (.pb binary, .pbtxt text)' },
    { name: 'input_binary', kind: 'boolean', help: 'read --input_graph/--input_meta_graph as binary (default: by file)' },
    { name: 'input_checkpoint', kind: 'string', help: 'checkpoint prefix or training directory' },
    { name: 'input_meta_graph', kind: 'string', help: '.meta file; its graph is the one frozen' },
    { name: 'input_saved_model_dir', kind: 'string', help: 'SavedModel directory; a signature of it is frozen' },
    { name: 'signature_name', kind: 'string', help: `the SavedModel signature to freeze (default: ${defaults().signatureName})` },
    savedModelTagsFlag,
    { name: 'output_graph', kind: 'string', help: 'where to write the frozen binary GraphDef' },
    { name: 'output_node_names', kind: 'list', help: 'output node names (default: the signature, else the prediction heads)' },
    { name: 'clear_devices', kind: 'boolean', help: 'blank device placements', default: true },
    { name: 'variable_names_whitelist', kind: 'list', help: 'freeze only these variables' },
    { name: 'variable_names_blacklist', kind: 'list', help: 'never freeze these variables' },
    { name: 'variable_names_allowlist', kind: 'list', help: 'alias of --variable_names_whitelist (TF 2.x name)' },
    { name: 'variable_names_denylist', kind: 'list', help: 'alias of --variable_names_blacklist (TF 2.x name)' },
    { name: 'as_text', kind: 'boolean', help: 'write text format instead of binary' },
    { name: 'use_ema', kind: 'boolean', help: 'freeze with the ExponentialMovingAverage shadow variables' },
  ],
  // freeze_graph flags that this tool accepts and ignores, as TensorFlow does.
  ignoredFlags: ['restore_op_name', 'filename_tensor_name', 'checkpoint_version', 'input_saver', 'initializer_nodes'],
  args: [],
  async run({ flags }, out) {
    if (!flags.output_graph) throw new UsageError('--output_graph is required')
    if (!flags.input_graph && !flags.input_meta_graph && !flags.input_checkpoint && !flags.input_saved_model_dir) {
      throw new UsageError('give --input_checkpoint (with its .meta beside it), --input_meta_graph, --input_graph or --input_saved_model_dir')
    }
    const result = await freeze({
      source: flags.input_saved_model_dir,
      signatureName: flags.signature_name,
      savedModelTags: flags.saved_model_tags,
      inputGraph: flags.input_graph,
      inputBinary: flags.input_binary,
      inputCheckpoint: flags.input_checkpoint,
      inputMetaGraph: flags.input_meta_graph,
      outputGraph: flags.output_graph,
      outputAsText: flags.as_text,
      outputNodeNames: flags.output_node_names,
      clearDevices: flags.clear_devices,
      variableNamesWhitelist: flags.variable_names_whitelist ?? flags.variable_names_allowlist,
      variableNamesBlacklist: flags.variable_names_blacklist ?? flags.variable_names_denylist,
      useEma: flags.use_ema,
    })
    for (const line of inferenceLines(result)) out(line)
    out(`Converted ${result.variables.length} variables to const ops.`)
    out(`${result.nodeCount} ops in the final graph (outputs: ${result.outputNodeNames.join(', ')}); wrote ${result.bytes} bytes to ${result.outputGraph}`)
    return 0
  },
})
