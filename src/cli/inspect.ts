// `tfmodel inspect`: TensorFlow's `inspect_checkpoint`, and for a SavedModel
// what `saved_model_cli show --all` prints.
import { type CheckpointInfo, identifySource, inferOutputs, inspect, inspectSavedModel, isTfModelError, readTensor } from '../native.js'
import { savedModelTagsFlag, UsageError } from './args.js'
import { defineCommand } from './command.js'
import { inferenceLines } from './report.js'
import { decodeElements, formatTensor } from './values.js'

export const inspectSummary =
  "Lists the tensors of a checkpoint (name, dtype, shape, bytes), or prints values; a SavedModel's signatures and variables."

export const runInspect = defineCommand({
  usage: 'inspect <checkpoint|saved_model> [flags]',
  summary: inspectSummary,
  flags: [
    { name: 'file_name', kind: 'string', help: 'checkpoint prefix, one of its files, or a training directory' },
    { name: 'tensor_name', kind: 'string', help: 'print the value of this tensor' },
    { name: 'all_tensors', kind: 'boolean', help: 'print the value of every tensor' },
    { name: 'all_tensor_names', kind: 'boolean', help: 'print only the names of all tensors' },
    { name: 'json', kind: 'boolean', help: 'print the listing as JSON' },
    savedModelTagsFlag,
  ],
  async run({ flags, positionals }, out) {
    const source = flags.file_name ?? positionals[0]
    if (!source) throw new UsageError('inspect needs a checkpoint: tfmodel inspect <prefix|directory>')
    if (identifySource(source)?.kind === 'saved_model') return inspectSavedModelDir(source, flags.saved_model_tags, flags.json === true, out)

    const info = await inspect(source)
    const tensorName = flags.tensor_name
    if (tensorName) {
      out(`tensor_name:  ${tensorName}`)
      out(await formatValue(source, tensorName))
      return 0
    }
    if (flags.json) {
      out(JSON.stringify(info, null, 2))
      return 0
    }
    if (flags.all_tensor_names) {
      for (const tensor of info.tensors) out(`tensor_name:  ${tensor.name}`)
      return 0
    }
    if (flags.all_tensors) {
      for (const tensor of info.tensors) {
        out(`tensor_name:  ${tensor.name}`)
        out(await formatValue(source, tensor.name))
      }
      return 0
    }
    const rows = info.tensors.map((t) => [t.name, t.dtype, `[${t.shape.join(',')}]`, `${t.bytes}`])
    const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c]!.length), 0))
    info.tensors.forEach((tensor, i) => {
      const row = rows[i]!
      const line = `${row[0]!.padEnd(widths[0]!)}  ${row[1]!.padEnd(widths[1]!)}  ${row[2]!.padEnd(widths[2]!)}  ${row[3]} B`
      out(tensor.object ? `${line.padEnd(line.length + widths[3]! - row[3]!.length)}  ${objectText(tensor.object)}` : line)
    })
    const total = info.tensors.reduce((sum, t) => sum + t.bytes, 0)
    out(`# ${info.tensors.length} tensors, ${total} bytes, in ${info.prefix}`)
    for (const line of await outputLines(source)) out(`# ${line}`)
    return 0
  },
})

/** The meta graph read (with the tag sets there are), each signature's inputs and outputs by key, then the variables' checkpoint entries. */
async function inspectSavedModelDir(dir: string, tags: string[] | undefined, json: boolean, out: (line: string) => void): Promise<number> {
  const info = await inspectSavedModel(dir, tags)
  if (json) {
    out(JSON.stringify(info, null, 2))
    return 0
  }
  const quoted = (set: string[]) => `"${set.join(',')}"`
  out(`meta graph ${quoted(info.tags)}${info.tagSets.length > 1 ? ` (tag sets: ${info.tagSets.map(quoted).join(', ')})` : ''}:`)
  const shape = (dims: number[] | null | undefined) => (dims ? `[${dims.join(',')}]` : 'unknown rank')
  for (const signature of info.signatures) {
    out(`signature "${signature.name}" (${signature.methodName}):`)
    for (const [side, tensors] of [['input', signature.inputs], ['output', signature.outputs]] as const) {
      for (const t of tensors) out(`  ${side.padEnd(6)}  ${t.key}: ${t.dtype} ${shape(t.shape)}  (${t.tensor})`)
    }
  }
  for (const v of info.variables) out(`${v.name}  ${v.dtype}  [${v.shape.join(',')}]  ${v.bytes} B${v.object ? `  ${objectText(v.object)}` : ''}`)
  const total = info.variables.reduce((sum, v) => sum + v.bytes, 0)
  out(`# ${info.signatures.length} signatures, ${info.variables.length} variables (${total} bytes), in ${info.graphFile}`)
  return 0
}

/** An object-based checkpoint's tensor as the object graph places it: the
 * object's path from the root, and the name the value had in Python (which
 * two objects' variables may share: only the path tells them apart). */
type ObjectPath = NonNullable<CheckpointInfo['tensors'][number]['object']>

function objectText(object: ObjectPath): string {
  const attribute = object.attribute === 'VARIABLE_VALUE' ? '' : ` .${object.attribute}`
  return `object ${object.path || '(root)'}${attribute}${object.fullName ? ` (${JSON.stringify(object.fullName)})` : ''}`
}

/** The outputs a conversion would infer, when the checkpoint has a graph beside it. */
async function outputLines(source: string): Promise<string[]> {
  try {
    return inferenceLines({ inference: await inferOutputs(source), rewrites: [] })
  } catch (error) {
    // No .meta beside the checkpoint: there is no graph to infer outputs from.
    if (isTfModelError(error) && (error.code === 'INVALID_ARGUMENT' || error.code === 'FILE_NOT_FOUND')) return []
    throw error
  }
}

async function formatValue(source: string, name: string): Promise<string> {
  const value = await readTensor(source, name)
  const elements = decodeElements(value.dtype, value.data ?? undefined, value.strings ?? undefined)
  return formatTensor(value.dtype, value.shape, elements)
}
