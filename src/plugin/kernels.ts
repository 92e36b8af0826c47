// Bundling only the part of TF.js a build's models use (`kernels: 'model'`).
//
// TF.js can be put together from parts: tfjs-core without its registrations
// (dist/base), each backend without its kernels (dist/base) plus one module
// per kernel config, and tfjs-converter, whose executors call every op through
// one module (ops_for_converter) that a build may replace. A model's graph
// names the TF ops it runs; the table generated from TF.js (tfjs-kernels.ts)
// says which core ops the converter calls for each and which kernels those can
// dispatch. So each model's loader imports, instead of the packages:
//
// - `tfmodel-tfjs.tfjs.js?ops=…`: the core API the runtime calls (TFJS_CORE_API), and the
//   model's ops handed to the converter;
// - `tfmodel-tfjs.<backend>.js?ops=…`: the backend's base with the model's kernels
//   registered (kernels another model's loader registered are kept).
//
// Inside TF.js the build replaces, for every importer:
//
// - `@tensorflow/tfjs-core` (from TF.js and from these modules): its base and
//   required side effects, without the optimizers' registration;
// - ops_for_converter: every op as a stub that calls the op a loader provided,
//   or says which op the build left out;
// - the WASM backend's threaded glue, never run (the runtime turns threads off);
// - the WebGL backend's CPU implementations, imported by name so the unused
//   ones drop out.
//
// Modules are keyed by the model's TF ops, so a module's text follows from its
// id alone (a Vite worker bundle or a rebuild loads the same text).
import { join } from 'node:path'

import { TFJS_CORE_API } from '../runtime/tfjs-api.js'
import type { BackendName } from '../runtime/types.js'
import { TFJS_KERNELS } from './tfjs-kernels.js'

type PrunedBackend = keyof typeof TFJS_KERNELS.configs
type KernelConfig = { module: string; export: string; needs?: readonly string[] }

/** Load filter for the modules below: `<\0, or the root for esbuild>/tfmodel-tfjs.<name>.js[?ops=…]`. */
export const TFJS_PART_ID = /tfmodel-tfjs\.[\w-]+\.js(\?|$)/
/** How a loader names them; the plugin resolves this prefix to an id. (Imports of TF.js files in
 * these modules end in `.js`: webpack takes an ES module's imports as fully specified.) */
const SPECIFIER = 'unplugin-tfmodel-tfjs/'
const CORE = '@tensorflow/tfjs-core'
const OPS_FOR_CONVERTER = `${CORE}/dist/ops/ops_for_converter`
const PRUNED_BACKENDS = Object.keys(TFJS_KERNELS.configs) as PrunedBackend[]

/** What a pruned loader imports instead of the TF.js packages. */
export interface PrunedImports {
  /** Specifier of the module with the runtime's core API and the model's ops. */
  tfjs: string
  /** Specifier per backend with pruned kernels (others: the package). */
  backends: Partial<Record<BackendName, string>>
  /** Every kernel the loader registers, for the runtime's MISSING_KERNEL. */
  kernels: string[]
}

/** The TF ops a TF.js model.json runs: graph nodes, functions, and its initializer's. */
export function modelTfOps(modelJson: Uint8Array): string[] {
  interface Graph {
    node?: { op: string }[]
    library?: { function?: { nodeDef?: { op: string }[] }[] }
  }
  const json = JSON.parse(new TextDecoder().decode(modelJson)) as { modelTopology?: Graph; modelInitializer?: Graph }
  const ops = new Set<string>()
  for (const graph of [json.modelTopology, json.modelInitializer]) {
    for (const node of graph?.node ?? []) ops.add(node.op)
    for (const fn of graph?.library?.function ?? []) for (const node of fn.nodeDef ?? []) ops.add(node.op)
  }
  return [...ops].sort()
}

/** The core ops (`image.resizeBilinear`) the converter calls for `tfOps`. */
function coreOps(tfOps: readonly string[]): string[] {
  const table = TFJS_KERNELS.tfOps as Record<string, readonly string[]>
  return [...new Set(tfOps.flatMap((op) => table[op] ?? []))].sort()
}

function opInfo(name: string): { module: string; export: string; kernels: readonly string[] } | undefined {
  const ops = { ...TFJS_KERNELS.ops, ...TFJS_KERNELS.runtimeOps } as Record<string, { module: string; export: string; kernels: readonly string[] }>
  return ops[name]
}

/** Every kernel the model's ops, the runtime and the converter can dispatch, before any backend's own. */
export function modelKernels(tfOps: readonly string[]): string[] {
  const kernels = new Set<string>(TFJS_KERNELS.always)
  for (const name of [...coreOps(tfOps), ...TFJS_CORE_API]) for (const k of opInfo(name)?.kernels ?? []) kernels.add(k)
  return [...kernels].sort()
}

/** The kernels `backend` registers for `tfOps`: the model's, and what those and the backend need in turn. */
function backendKernels(backend: PrunedBackend, tfOps: readonly string[]): [string, KernelConfig][] {
  const configs = TFJS_KERNELS.configs[backend] as Record<string, KernelConfig>
  const wanted = [...modelKernels(tfOps), ...TFJS_KERNELS.base[backend]]
  const found = new Map<string, KernelConfig>()
  while (wanted.length > 0) {
    const kernel = wanted.pop()!
    const config = configs[kernel]
    if (!config || found.has(kernel)) continue // a kernel this backend lacks fails as it would unpruned
    found.set(kernel, config)
    wanted.push(...(config.needs ?? []))
  }
  return [...found].sort(([a], [b]) => (a < b ? -1 : 1))
}

export class TfjsParts {
  /** `virtualIds`: `\0` ids (all bundlers but esbuild, which resolves a module's imports from its path's folder). */
  constructor(
    private readonly root: string,
    private readonly virtualIds: boolean,
    /** The runtime's built file, which the ops stubs import their error from. */
    private readonly runtimePath: string,
  ) {}

  /** What `backends`' loader of a model running `tfOps` imports. */
  imports(tfOps: readonly string[], backends: readonly BackendName[]): PrunedImports {
    const query = `?ops=${tfOps.join(',')}`
    const pruned = backends.filter((b): b is PrunedBackend => (PRUNED_BACKENDS as string[]).includes(b))
    const kernels = new Set(modelKernels(tfOps))
    for (const backend of pruned) for (const [k] of backendKernels(backend, tfOps)) kernels.add(k)
    return {
      tfjs: `${SPECIFIER}tfjs.js${query}`,
      backends: Object.fromEntries(pruned.map((b) => [b, `${SPECIFIER}${b}.js${query}`])),
      kernels: [...kernels].sort(),
    }
  }

  /** The id to load for a loader's import, or for a TF.js module this build replaces. */
  resolveId(specifier: string, importer: string | undefined): string | undefined {
    if (specifier.startsWith(SPECIFIER)) return this.id(specifier.slice(SPECIFIER.length))
    const from = importer?.split('\\').join('/')
    if (specifier === OPS_FOR_CONVERTER || specifier === `${OPS_FOR_CONVERTER}.js`) return this.id('ops-for-converter.js')
    if (specifier === CORE && from && (from.includes('/node_modules/@tensorflow/tfjs-') || TFJS_PART_ID.test(from))) return this.id('core.js')
    if (!from || !specifier.startsWith('.')) return undefined
    if (from.includes('/@tensorflow/tfjs-backend-wasm/dist/') && /\/wasm-out\/tfjs-backend-wasm-threaded-simd\.js$/.test(specifier)) return this.id('wasm-threads.js')
    if (from.includes('/@tensorflow/tfjs-backend-wasm/dist/') && /\/wasm-out\/tfjs-backend-wasm-threaded-simd\.worker\.js$/.test(specifier)) return this.id('wasm-threads-worker.js')
    if (from.includes('/@tensorflow/tfjs-backend-webgl/dist/') && /(^|\/)kernel_utils\/shared(\.js)?$/.test(specifier)) return this.id('webgl-cpu-impls.js')
    return undefined
  }

  /** The source of a module resolveId named. */
  load(id: string): string | undefined {
    const match = /tfmodel-tfjs\.([\w-]+)\.js(?:\?ops=([\w,]*))?$/.exec(id)
    if (!match) return undefined
    const [, name, list] = match
    const tfOps = list ? list.split(',').filter(Boolean) : []
    if (name === 'tfjs') return tfjsModule(tfOps)
    if ((PRUNED_BACKENDS as string[]).includes(name!)) return backendModule(name as PrunedBackend, tfOps)
    if (name === 'core') return `import '${CORE}/dist/base_side_effects.js'\nexport * from '${CORE}/dist/base.js'\n`
    if (name === 'ops-for-converter') return opsForConverter(this.runtimePath)
    if (name === 'wasm-threads') return 'export default function () {\n  throw new Error("the threaded WASM build was left out of this build")\n}\n'
    if (name === 'wasm-threads-worker') return 'export const wasmWorkerContents = ""\n'
    if (name === 'webgl-cpu-impls') {
      const names = Object.entries(TFJS_KERNELS.webglCpuImpls).map(([impl, alias]) => `${impl} as ${alias}`)
      return `export { ${names.join(', ')} } from '@tensorflow/tfjs-backend-cpu/dist/shared.js'\n`
    }
    return undefined
  }

  /** esbuild resolves a module's imports from its path's folder: the root, which exists. */
  private id(name: string): string {
    return this.virtualIds ? `\0tfmodel-tfjs.${name}` : join(this.root, `tfmodel-tfjs.${name}`)
  }
}

/** The runtime's core API, and the model's ops handed to the converter's stubs. */
function tfjsModule(tfOps: readonly string[]): string {
  const lines = [`import { provideOps } from '${OPS_FOR_CONVERTER}.js'`]
  const local = (name: string) => name.replace('.', '_')
  const importOp = (name: string) => {
    const op = opInfo(name)
    if (!op) throw new Error(`tfjs-kernels.ts has no ${name}: regenerate it (node scripts/update-tfjs-kernels.mjs)`)
    lines.push(`import { ${op.export} as ${local(name)} } from '${CORE}/dist/${op.module}.js'`)
  }
  const ops = coreOps(tfOps)
  ops.forEach(importOp)
  const flat = TFJS_CORE_API.filter((name) => !name.includes('.'))
  lines.push(`export { ${flat.join(', ')} } from '${CORE}'`)
  const namespaces = new Map<string, string[]>()
  for (const name of TFJS_CORE_API.filter((n) => n.includes('.'))) {
    if (!ops.includes(name)) importOp(name)
    const [namespace, member] = name.split('.') as [string, string]
    namespaces.set(namespace, [...(namespaces.get(namespace) ?? []), `${member}: ${local(name)}`])
  }
  for (const [namespace, members] of namespaces) lines.push(`export const ${namespace} = { ${members.join(', ')} }`)
  lines.push(`provideOps({ ${ops.map((name) => `${JSON.stringify(name)}: ${local(name)}`).join(', ')} })`)
  return `${lines.join('\n')}\n`
}

/** A backend's base with a model's kernels registered. */
function backendModule(backend: PrunedBackend, tfOps: readonly string[]): string {
  const pkg = `@tensorflow/tfjs-backend-${backend}`
  const kernels = backendKernels(backend, tfOps)
  return [
    `import { getKernel, registerKernel } from '${CORE}'`,
    `import '${pkg}/dist/base.js'`,
    ...(backend === 'wasm' ? [`export { setWasmPaths } from '${pkg}/dist/base.js'`] : []),
    ...kernels.map(([, config], i) => `import { ${config.export} as k${i} } from '${pkg}/dist/kernels/${config.module}.js'`),
    '// Another model of the app may have registered some of these already.',
    `for (const config of [${kernels.map((_, i) => `k${i}`).join(', ')}]) if (!getKernel(config.kernelName, config.backendName)) registerKernel(config)`,
    '',
  ].join('\n')
}

/**
 * In place of ops_for_converter: each op tfjs-converter's executors may call,
 * looked up when called among those the models' loaders provided.
 */
function opsForConverter(runtimePath: string): string {
  const flat: string[] = []
  const namespaces = new Map<string, string[]>()
  for (const name of Object.keys(TFJS_KERNELS.ops)) {
    const [head, member] = name.split('.') as [string, string | undefined]
    if (member === undefined) flat.push(head)
    else namespaces.set(head, [...(namespaces.get(head) ?? []), member])
  }
  // Exported through local names, so no op's name can clash with the helpers'.
  const exported = [...flat, ...namespaces.keys()]
  return [
    `import { opLeftOut } from ${JSON.stringify(runtimePath)}`,
    'const provided = {}',
    'export function provideOps(ops) {',
    '  Object.assign(provided, ops)',
    '}',
    'const lookUp = (name) => (...args) => (provided[name] ?? opLeftOut(name))(...args)',
    ...flat.map((name, i) => `const x${i} = lookUp(${JSON.stringify(name)})`),
    ...[...namespaces].map(
      ([namespace, members], i) =>
        `const x${flat.length + i} = { ${members.map((m) => `${m}: lookUp(${JSON.stringify(`${namespace}.${m}`)})`).join(', ')} }`,
    ),
    `export { ${exported.map((name, i) => `x${i} as ${name}`).join(', ')} }`,
    '',
  ].join('\n')
}
