// Human-readable summaries of conversions and quantization reports.
import type { ConvertResult, OutputInference, QuantizationReport } from '../native.js'

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${(bytes / 1024 / 1024).toFixed(2)} MiB`
}

export function quantizationLines(report: QuantizationReport): string[] {
  const ratio = report.bytesBefore > 0 ? (100 * report.bytesAfter) / report.bytesBefore : 100
  const lines = [
    `${report.mode}: weights ${formatBytes(report.bytesBefore)} -> ${formatBytes(report.bytesAfter)} (${ratio.toFixed(1)}%), ${report.tensors.length} tensors quantized`,
  ]
  const width = Math.max(6, ...report.tensors.map((t) => t.name.length))
  if (report.tensors.length > 0) lines.push(`  ${'tensor'.padEnd(width)}  ${'elements'.padStart(9)}  ${'max |err|'.padStart(10)}  ${'SQNR dB'.padStart(8)}`)
  for (const t of report.tensors) {
    const sqnr = Number.isFinite(t.sqnrDb) ? t.sqnrDb.toFixed(1) : 'exact'
    lines.push(`  ${t.name.padEnd(width)}  ${String(t.elements).padStart(9)}  ${t.maxAbsError.toExponential(2).padStart(10)}  ${sqnr.padStart(8)}`)
  }
  for (const skipped of report.skipped) lines.push(`  kept float: ${skipped}`)
  if (report.quantizedOps.length > 0) lines.push(`  quantized ops: ${report.quantizedOps.map((o) => `${o.op} ${o.count}`).join(', ')}`)
  for (const op of report.floatOps) lines.push(`  float op: ${op}`)
  return lines
}

export function conversionLines(result: ConvertResult): string[] {
  const lines = [...inferenceLines(result), ...result.applied.map((line) => `  ${line}`)]
  if (result.quantization) lines.push(...quantizationLines(result.quantization))
  const spec = (s: ConvertResult['signature']['inputs'][number]) => `${s.name} ${s.dtype}${s.shape ? `[${s.shape.join(',')}]` : '[?]'}`
  const inputs = result.signature.inputs.map(spec).join(', ')
  const outputs = result.signature.outputs.map(spec).join(', ')
  lines.push(`inputs:  ${inputs}`, `outputs: ${outputs}`)
  lines.push(`${result.nodeCount} nodes, ${result.variables} variables frozen, weights ${formatBytes(result.weightBytes)}`)
  if (result.executeAsync) lines.push(`needs executeAsync (dynamic ops: ${result.dynamicOps.join(', ')})`)
  for (const op of result.unsupportedOps) lines.push(`warning: TF.js cannot run ${op}`)
  for (const warning of result.warnings) lines.push(`warning: ${warning}`)
  return lines
}

/** What a conversion chose without being told: the checkpoint, the inferred
 * outputs (one line each, with why), what was set aside, and the rewrites
 * freezing made (input pipelines turned into placeholders, forward loops). */
export function inferenceLines(result: { inference?: OutputInference | null; checkpoint?: string | null; rewrites: string[] }): string[] {
  const lines: string[] = []
  if (result.checkpoint) lines.push(`checkpoint: ${result.checkpoint}`)
  if (result.inference) {
    lines.push('outputs inferred (name them with --output_node_names to choose others):')
    for (const output of result.inference.outputs) lines.push(`  ${output.name} (${output.op}): ${output.why}`)
    const shown = result.inference.setAside.slice(0, 8).map((s) => `${s.name} (${s.why})`)
    const more = result.inference.setAside.length - shown.length
    if (shown.length > 0) lines.push(`  set aside: ${shown.join('; ')}${more > 0 ? `; and ${more} more` : ''}`)
  }
  for (const line of result.rewrites) lines.push(`  ${line}`)
  return lines
}
