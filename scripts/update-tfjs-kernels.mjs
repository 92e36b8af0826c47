#!/usr/bin/env node
// Regenerates src/plugin/tfjs-kernels.ts from the installed TF.js packages:
// what a build needs to know to bundle only the part of TF.js a model uses
// (the plugin's `kernels: 'model'`, src/plugin/kernels.ts).
//
// - `tfOps`: for every TF op the converter runs, the tfjs-core ops its
//   executor calls (tfjs-converter's own metadata/kernel2op.json);
// - `ops`: every op tfjs-converter's executors can reach (the exports of
//   tfjs-core's ops_for_converter, namespace members as `image.resizeBilinear`),
//   and in `runtimeOps` those the runtime calls outside it (TFJS_CORE_API in
//   src/runtime/tfjs-api.ts, such as `browser.fromPixels`): the module each
//   lives in, and every kernel it can dispatch — found by following what its
//   module's code imports through tfjs-core, re-exports resolved to where each
//   name is defined, and collecting the kernel names imported from
//   kernel_names.js or passed to runKernel as strings. That is a superset
//   (gradient code comes along), never less than what runs;
// - `always`: kernels any model can dispatch whatever its ops: the engine's,
//   and those of what tfjs-converter calls in tfjs-core itself (tensor arrays
//   and lists, hash tables, complex weights);
// - `base` and `configs`: per backend, what the backend needs registered
//   besides, and each kernel's config (its module, export, and the kernels it
//   needs registered too: those it dispatches through tfjs-core, and those
//   whose setup prepares functions it calls directly);
// - `webglCpuImpls`: the CPU implementations the WebGL backend imports from
//   the CPU backend (it takes them all through one namespace; a build imports
//   them by name instead, so the unused ones drop out).
//
// Run after upgrading the TF.js devDependencies:
//
//   node scripts/update-tfjs-kernels.mjs
//
// The script fails when TF.js no longer has the shape these tables assume.

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

import { parseAst } from 'rollup/parseAst'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(join(root, 'package.json'))
const packageDir = (name) => dirname(require.resolve(`${name}/package.json`))
const CORE = '@tensorflow/tfjs-core'
const coreDist = join(packageDir(CORE), 'dist')
const converterDir = packageDir('@tensorflow/tfjs-converter')
const BACKENDS = ['webgl', 'wasm', 'cpu']
const version = JSON.parse(readFileSync(join(packageDir(CORE), 'package.json'), 'utf8')).version
for (const name of ['@tensorflow/tfjs-converter', ...BACKENDS.map((b) => `@tensorflow/tfjs-backend-${b}`)]) {
  const other = JSON.parse(readFileSync(join(packageDir(name), 'package.json'), 'utf8')).version
  if (other !== version) throw new Error(`${name} is ${other}, tfjs-core ${version}: install one TF.js version`)
}
const output = join(root, 'src', 'plugin', 'tfjs-kernels.ts')

// --- modules: what each ES module imports and exports, and the kernels it names ---

const KERNEL_NAMES = join(coreDist, 'kernel_names.js')
const BASE = join(coreDist, 'base.js')
const modules = new Map()

function resolveFile(from, source) {
  const base = resolve(dirname(from), source)
  for (const candidate of [`${base}.js`, base, join(base, 'index.js')]) {
    if (candidate.endsWith('.js') && existsSync(candidate)) return candidate
  }
  throw new Error(`${relative(root, from)} imports ${source}, which is not there`)
}

/** A specifier as a file: relative ones, and tfjs-core's own by bare name; other packages stay bare. */
function target(from, source) {
  if (source.startsWith('.')) return resolveFile(from, source)
  if (source === CORE) return BASE
  if (source.startsWith(`${CORE}/dist/`)) return resolveFile(BASE, `./${source.slice(`${CORE}/dist/`.length)}`)
  return undefined
}

function moduleAt(file) {
  let info = modules.get(file)
  if (info) return info
  const code = readFileSync(file, 'utf8')
  const imports = [] // { from, imported ('*' for a namespace), local, source }
  const exports = new Map() // exported name -> { file, name } | { namespace } | { local, init }
  const stars = []
  const objects = new Map() // const name -> { property: local identifier }, for namespaces written as object literals
  const kernels = new Set()
  const ast = parseAst(code)
  for (const node of ast.body) {
    if (node.type === 'ImportDeclaration') {
      const from = target(file, node.source.value)
      if (node.specifiers.length === 0) imports.push({ from, imported: undefined, local: undefined, source: node.source.value })
      for (const s of node.specifiers) {
        const imported = s.type === 'ImportSpecifier' ? s.imported.name : s.type === 'ImportNamespaceSpecifier' ? '*' : 'default'
        imports.push({ from, imported, local: s.local.name, source: node.source.value })
        if (from === KERNEL_NAMES && imported !== '*') kernels.add(imported)
      }
    } else if (node.type === 'ExportNamedDeclaration' && node.source) {
      const from = target(file, node.source.value)
      if (from) for (const s of node.specifiers) exports.set(s.exported.name, { file: from, name: s.local.name })
    } else if (node.type === 'ExportNamedDeclaration' && node.declaration) {
      for (const d of node.declaration.declarations ?? [node.declaration]) if (d.id?.name) exports.set(d.id.name, { local: d.id.name, init: d.init })
    } else if (node.type === 'ExportNamedDeclaration') {
      for (const s of node.specifiers) exports.set(s.exported.name, { local: s.local.name })
    } else if (node.type === 'ExportAllDeclaration') {
      const from = target(file, node.source.value)
      if (from && node.exported) exports.set(node.exported.name, { namespace: from })
      else if (from) stars.push(from)
    } else if (node.type === 'VariableDeclaration') {
      for (const d of node.declarations) {
        if (d.init?.type !== 'ObjectExpression') continue
        const properties = {}
        for (const p of d.init.properties) if (p.type === 'Property' && p.value.type === 'Identifier') properties[p.key.name] = p.value.name
        objects.set(d.id.name, properties)
      }
    }
  }
  for (const match of code.matchAll(/runKernel\(\s*['"](\w+)['"]/g)) kernels.add(match[1])
  info = { file, code, imports, exports, stars, objects, kernels, reads: reads(ast) }
  modules.set(file, info)
  return info
}

/** Per identifier: the properties read off it (`x.a`), and whether it is used any other way. */
function reads(ast) {
  const out = new Map()
  const entry = (name) => {
    if (!out.has(name)) out.set(name, { members: new Set(), whole: false })
    return out.get(name)
  }
  const walk = (node, parent) => {
    if (Array.isArray(node)) return node.forEach((n) => walk(n, parent))
    if (!node || typeof node.type !== 'string') return
    if (node.type === 'ImportDeclaration') return
    if (node.type === 'MemberExpression' && node.object.type === 'Identifier' && !node.computed) {
      entry(node.object.name).members.add(node.property.name)
      return
    }
    if (node.type === 'VariableDeclarator' && node.id.type === 'ObjectPattern' && node.init?.type === 'Identifier') {
      // `const { a, b } = x` reads a and b
      for (const p of node.id.properties) if (p.type === 'Property' && !p.computed) entry(node.init.name).members.add(p.key.name)
      return
    }
    if (node.type === 'Identifier') {
      const isKey = parent && ((parent.type === 'Property' && parent.key === node && !parent.shorthand) || (parent.type === 'MemberExpression' && parent.property === node && !parent.computed))
      if (!isKey) entry(node.name).whole = true
      return
    }
    for (const key of Object.keys(node)) if (key !== 'type' && key !== 'start' && key !== 'end') walk(node[key], node)
  }
  walk(ast.body, undefined)
  return out
}

/** Where `name`, exported by `file`, is defined: { file, local } for a value, { namespace } for a module namespace, { external } in another package. */
function definition(file, name) {
  const found = findDefinition(file, name)
  if (!found) throw new Error(`${relative(root, file)} exports no ${name}`)
  return found
}

function findDefinition(file, name, seen = new Set()) {
  if (seen.has(file)) return undefined
  seen.add(file)
  const info = moduleAt(file)
  const entry = info.exports.get(name)
  if (entry?.file) return definition(entry.file, entry.name)
  if (entry?.namespace) return { namespace: entry.namespace }
  if (entry?.local !== undefined) {
    const imported = info.imports.find((i) => i.local === entry.local)
    if (!imported) return { file, local: entry.local }
    if (!imported.from) return { external: imported.source }
    if (imported.imported === '*') return { namespace: imported.from }
    return definition(imported.from, imported.imported)
  }
  for (const star of info.stars) {
    const found = findDefinition(star, name, seen)
    if (found) return found
  }
  return undefined
}

/** Every name a module namespace exports, through its `export *`s. */
function exportNames(file, seen = new Set()) {
  if (seen.has(file)) return []
  seen.add(file)
  const info = moduleAt(file)
  return [...new Set([...info.exports.keys(), ...info.stars.flatMap((s) => exportNames(s, seen))])]
}

/** `image.resizeBilinear` exported by `file`: the module defining it and its export name there. */
function member(file, path) {
  const [head, ...rest] = path.split('.')
  const found = definition(file, head)
  if (rest.length === 0) {
    if (!found.file) throw new Error(`${path} is a namespace, not an op`)
    return { file: found.file, name: found.local }
  }
  if (found.namespace) return member(found.namespace, rest.join('.'))
  const holder = moduleAt(found.file)
  const local = holder.objects.get(found.local)?.[rest[0]]
  const imported = local && holder.imports.find((i) => i.local === local)
  if (!imported || rest.length > 1) throw new Error(`cannot follow ${path} in ${relative(root, file)}`)
  return member(imported.from, imported.imported)
}

/**
 * The files whose code `file`'s own code can call into: what each import names
 * (followed through re-exports to where it is defined), and of a namespace only
 * the members the file reads from it. Re-exports alone are not followed: they
 * run nothing unless a name is looked up through them.
 */
function callees(file) {
  const info = moduleAt(file)
  const out = new Set()
  const readsOf = (local) => [...(info.reads.get(local)?.members ?? [])]
  const namespace = (ns, local) => {
    // A namespace handed on as a value (not only read from) can reach all of it.
    for (const name of info.reads.get(local)?.whole ? exportNames(ns) : readsOf(local)) {
      const found = findDefinition(ns, name)
      if (found?.file) out.add(found.file)
      if (found?.namespace) out.add(found.namespace)
    }
  }
  for (const i of info.imports) {
    if (!i.from || i.from === OPS_FOR_CONVERTER) continue
    if (i.imported === undefined) out.add(i.from)
    else if (i.imported === '*') namespace(i.from, i.local)
    else {
      // Not an ES module export (a CommonJS file such as Emscripten's glue): the whole file.
      const found = findDefinition(i.from, i.imported) ?? { file: i.from, local: undefined }
      if (found.external) continue
      if (found.namespace) namespace(found.namespace, i.local)
      else if (moduleAt(found.file).objects.has(found.local) && found.file !== file) {
        for (const name of readsOf(i.local)) out.add(member(found.file, `${found.local}.${name}`).file)
      } else out.add(found.file)
    }
  }
  return out
}

/** `file` and every file its code calls into. */
function reached(file) {
  const seen = new Set()
  const visit = (f) => {
    if (seen.has(f)) return
    seen.add(f)
    for (const next of callees(f)) visit(next)
  }
  visit(file)
  return seen
}

const kernelCache = new Map()
/** Every kernel the code of `file`, and all it calls into, can dispatch. */
function kernelsOf(file) {
  let kernels = kernelCache.get(file)
  if (!kernels) {
    kernels = new Set([...reached(file)].flatMap((f) => [...moduleAt(f).kernels]))
    kernelCache.set(file, kernels)
  }
  return kernels
}

// --- tables -----------------------------------------------------------------

const OPS_FOR_CONVERTER = join(coreDist, 'ops', 'ops_for_converter.js')

const sorted = (set) => [...set].sort()
const modulePath = (file) => relative(coreDist, file).split(sep).join('/').replace(/\.js$/, '')

// The ops the converter's executors reach: every export of ops_for_converter (namespace members spelled out).
const opNames = []
for (const name of new Set(exportNames(OPS_FOR_CONVERTER))) {
  const found = definition(OPS_FOR_CONVERTER, name)
  if (found.namespace) {
    for (const m of new Set(exportNames(found.namespace))) opNames.push(`${name}.${m}`)
  } else {
    const object = moduleAt(found.file).objects.get(found.local)
    if (object && found.file === join(coreDist, 'ops', 'ops.js')) for (const m of Object.keys(object)) opNames.push(`${name}.${m}`)
    else opNames.push(name)
  }
}
// What the runtime calls of tfjs-core (TFJS_CORE_API in src/runtime/tfjs-api.ts) that ops_for_converter
// does not export, such as tf.browser.fromPixels: its ops, found in tfjs-core's base.
const apiSource = readFileSync(join(root, 'src', 'runtime', 'tfjs-api.ts'), 'utf8')
const api = /TFJS_CORE_API = \[([^\]]*)\]/.exec(apiSource)?.[1].match(/'[^']+'/g)?.map((name) => name.slice(1, -1))
if (!api) throw new Error('src/runtime/tfjs-api.ts no longer lists TFJS_CORE_API as an array of strings')
const RUNTIME_OPS_OUTSIDE_CONVERTER = api.filter((name) => name.includes('.') && !opNames.includes(name))

const opEntry = (from, name) => {
  const found = member(from, name)
  return { module: modulePath(found.file), export: found.name, kernels: sorted(kernelsOf(found.file)) }
}
const ops = Object.fromEntries(opNames.sort().map((name) => [name, opEntry(OPS_FOR_CONVERTER, name)]))
const runtimeOps = Object.fromEntries(RUNTIME_OPS_OUTSIDE_CONVERTER.map((name) => [name, opEntry(BASE, name)]))

// TF op -> core ops, as the converter's metadata says.
const kernel2op = JSON.parse(readFileSync(join(converterDir, 'metadata', 'kernel2op.json'), 'utf8'))
const tfOps = {}
for (const [tfOp, symbols] of Object.entries(kernel2op).sort(([a], [b]) => (a < b ? -1 : 1))) {
  for (const symbol of symbols) if (!ops[symbol]) throw new Error(`kernel2op.json maps ${tfOp} to ${symbol}, which ops_for_converter does not export`)
  tfOps[tfOp] = symbols
}

// Kernels of the engine itself, and of what the converter calls in tfjs-core besides ops_for_converter (which a build replaces).
const converterFiles = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.isDirectory()) return e.name === 'miniprogram' ? [] : converterFiles(join(dir, e.name))
    return e.name.endsWith('.js') && !e.name.endsWith('_test.js') && !e.name.startsWith('tf-converter') ? [join(dir, e.name)] : []
  })
const always = new Set(kernelsOf(join(coreDist, 'engine.js')))
for (const file of converterFiles(join(converterDir, 'dist'))) for (const k of kernelsOf(file)) always.add(k)
for (const op of [...Object.values(ops), ...Object.values(runtimeOps)]) op.kernels = op.kernels.filter((k) => !always.has(k))

// Each backend's kernel configs, and what each needs registered besides.
const configs = {}
const base = {}
for (const backend of BACKENDS) {
  const dir = join(packageDir(`@tensorflow/tfjs-backend-${backend}`), 'dist')
  configs[backend] = {}
  const kernelsDir = join(dir, 'kernels')
  for (const fileName of readdirSync(kernelsDir).filter((f) => f.endsWith('.js') && !f.endsWith('_test.js')).sort()) {
    const file = join(kernelsDir, fileName)
    const info = moduleAt(file)
    for (const [name, entry] of info.exports) {
      // `{ kernelName: Conv2D, ... }`, or a helper's `createUnaryKernelConfig(Abs)`.
      const init = entry.init
      const kernelName =
        init?.type === 'ObjectExpression' ? init.properties.find((p) => p.key?.name === 'kernelName')?.value : init?.type === 'CallExpression' && /Config$/.test(name) ? init.arguments[0] : undefined
      if (!kernelName) continue
      const kernel = kernelName.type === 'Literal' ? kernelName.value : info.imports.find((i) => i.local === kernelName.name)?.imported
      if (!kernel) throw new Error(`cannot read the kernel name of ${relative(root, file)}'s ${name}`)
      // A config made by a helper may set itself up too (the WASM backend's do).
      const setup = init.type === 'CallExpression' || init.properties.some((p) => p.key?.name === 'setupFunc')
      configs[backend][kernel] = { module: fileName.replace(/\.js$/, ''), export: name, ...(setup && { setup }) }
    }
  }
  // Every module named after a kernel gives that kernel's config.
  const kernelNames = new Set(exportNames(KERNEL_NAMES))
  const without = readdirSync(kernelsDir)
    .map((f) => f.replace(/\.js$/, ''))
    .filter((name) => kernelNames.has(name) && existsSync(join(kernelsDir, `${name}.js`)) && !configs[backend][name])
  if (without.length > 0) throw new Error(`no kernel config found in ${backend}'s ${without.join(', ')}`)
  // What the backend (or one kernel) needs registered besides: kernels it dispatches through
  // tfjs-core ops (beyond `always`), and kernels whose setup (run when the backend is set)
  // prepares functions its code calls directly — the WASM kernels call each other so.
  const withSetup = new Map(Object.entries(configs[backend]).filter(([, c]) => c.setup).map(([k, c]) => [join(dir, 'kernels', `${c.module}.js`), k]))
  const needs = (file) => {
    const set = new Set([...kernelsOf(file)].filter((k) => !always.has(k)))
    for (const f of reached(file)) if (withSetup.has(f) && f !== file) set.add(withSetup.get(f))
    return sorted(set)
  }
  base[backend] = needs(join(dir, 'base.js'))
  for (const config of Object.values(configs[backend])) {
    const needed = needs(join(dir, 'kernels', `${config.module}.js`))
    if (needed.length > 0) config.needs = needed
    delete config.setup
  }
}

// The CPU implementations the WebGL backend takes from the CPU backend's `shared` namespace.
const webglShared = join(packageDir('@tensorflow/tfjs-backend-webgl'), 'dist', 'kernel_utils', 'shared.js')
const destructured = /const \{([^}]*)\} = shared;/.exec(readFileSync(webglShared, 'utf8'))
if (!destructured) throw new Error(`${relative(root, webglShared)} no longer destructures the CPU backend's shared namespace`)
const webglCpuImpls = destructured[1]
  .split(',')
  .map((pair) => pair.trim())
  .filter(Boolean)
  .map((pair) => pair.split(/\s*:\s*/))
const cpuShared = new Set(exportNames(join(packageDir('@tensorflow/tfjs-backend-cpu'), 'dist', 'shared.js')))
for (const [name] of webglCpuImpls) if (!cpuShared.has(name)) throw new Error(`the CPU backend's shared.js exports no ${name}`)

const table = { version, always: sorted(always), tfOps, ops, runtimeOps, base, configs, webglCpuImpls: Object.fromEntries(webglCpuImpls) }
// One entry per line, so a TF.js upgrade reads as a diff of ops and kernels.
const entries = (object, indent) => Object.entries(object).map(([k, v]) => `${indent}${JSON.stringify(k)}: ${JSON.stringify(v)},`)
const text = [
  `// What a build needs to bundle only the part of TF.js a model uses (src/plugin/kernels.ts).`,
  `// From @tensorflow/tfjs-* ${version}. Generated by scripts/update-tfjs-kernels.mjs; do not edit by hand.`,
  '',
  'export const TFJS_KERNELS = {',
  `  version: ${JSON.stringify(version)},`,
  `  always: ${JSON.stringify(table.always)},`,
  ...['tfOps', 'ops', 'runtimeOps', 'base'].flatMap((key) => [`  ${key}: {`, ...entries(table[key], '    '), '  },']),
  '  configs: {',
  ...BACKENDS.flatMap((b) => [`    ${b}: {`, ...entries(configs[b], '      '), '    },']),
  '  },',
  `  webglCpuImpls: {`,
  ...entries(table.webglCpuImpls, '    '),
  '  },',
  '} as const',
  '',
].join('\n')
writeFileSync(output, text)
console.log(
  `wrote ${relative(root, output)}: ${Object.keys(tfOps).length} TF ops, ${Object.keys(ops).length} core ops, ${always.size} kernels always, ` +
    BACKENDS.map((b) => `${Object.keys(configs[b]).length} ${b} kernels`).join(', '),
)
