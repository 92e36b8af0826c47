// Builds the package's dist/: one ES module per entry point (esbuild strips the
// types, Rollup bundles each entry's own modules) and a .d.ts per source file
// (tsc, started beside the bundle). Run with
// `rollup -c rollup.config.ts --configPlugin esbuild` (npm run build:ts).
//
// The build checks the layout the package relies on at run time, and fails
// rather than publish a package that breaks only when someone installs it.
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, isAbsolute, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

import type { OutputBundle, OutputChunk, Plugin, RollupOptions } from 'rollup'
import esbuild from 'rollup-plugin-esbuild'

const root = dirname(fileURLToPath(import.meta.url))
const src = join(root, 'src')
const dist = join(root, 'dist')

/** dist/<name>.js ← src/<file>; the names are what package.json's `exports` and `bin` point at. */
const entries = {
  vite: 'src/vite.ts',
  rollup: 'src/rollup.ts',
  rolldown: 'src/rolldown.ts',
  esbuild: 'src/esbuild.ts',
  webpack: 'src/webpack.ts',
  'plugin/index': 'src/plugin/index.ts',
  // Loader modules the plugin generates import this file by its absolute path (runtimePath() in src/plugin/context.ts).
  'runtime/index': 'src/runtime/index.ts',
  // Loads ../native/index.cjs relative to itself, so it must stay one folder below the package root.
  native: 'src/native.ts',
  'cli/index': 'src/cli/index.ts',
  // Finds LiteRT.js's and TF.js's files from where it sits; the CLI and the plugin both run models through it.
  'node/index': 'src/node/index.ts',
}

const nodeBuiltins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)])

export default {
  input: entries,
  // Dependencies, peers and Node's modules are imported, never bundled.
  external: (id) => !id.startsWith('.') && !isAbsolute(id),
  plugins: [esbuild({ target: 'es2022', tsconfig: 'tsconfig.build.json' }), declarations(), layoutChecks(), removeStaleFiles()],
  output: {
    dir: dist,
    format: 'es',
    entryFileNames: '[name].js',
    // dist/vite.js imports ./plugin/index.js, not every module that one imports as well.
    hoistTransitiveImports: false,
    // Code that two entries share and neither exports (there is none now) goes here, out of the way of the entries.
    chunkFileNames: 'shared/[name]-[hash].js',
  },
  onwarn(warning, warn) {
    // A circular import or an unresolved one is a bug in the package, not a note.
    if (warning.code === 'CIRCULAR_DEPENDENCY' || warning.code === 'UNRESOLVED_IMPORT') throw new Error(warning.message)
    warn(warning)
  },
} satisfies RollupOptions

/** Every file this build wrote, relative to dist/; what else is in dist/ is left over from an earlier build. */
const written = new Set<string>()
/** Set once the bundle and the declarations are written; after a failed build there is nothing to check or sweep. */
let complete = false

/** `tsc -p tsconfig.build.json` (declarations only), run while Rollup bundles. */
function declarations(): Plugin {
  let tsc: Promise<{ stdout: string }> | undefined
  return {
    name: 'tfmodel:declarations',
    buildStart() {
      written.clear()
      complete = false
      const bin = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
      tsc = promisify(execFile)(process.execPath, [bin, '-p', join(root, 'tsconfig.build.json'), '--listEmittedFiles'], { cwd: root, maxBuffer: 16 << 20 })
      tsc.catch(() => {}) // awaited in writeBundle; this only keeps an early failure from being reported as unhandled
    },
    async writeBundle() {
      let stdout: string
      try {
        ;({ stdout } = await tsc!)
      } catch (error) {
        const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string }
        throw new Error(`tsc -p tsconfig.build.json failed:\n${stdout}${stderr}`)
      }
      for (const line of stdout.split('\n')) {
        const file = /^TSFILE: (.*)$/.exec(line.trim())?.[1]
        if (file) written.add(relative(dist, file).split(sep).join('/'))
      }
      complete = true
    },
  }
}

function layoutChecks(): Plugin {
  return {
    name: 'tfmodel:layout-checks',
    generateBundle(_, bundle) {
      const chunks = Object.values(bundle).filter((c): c is OutputChunk => c.type === 'chunk')
      for (const chunk of chunks) {
        written.add(chunk.fileName)
        // A module that finds files relative to import.meta.url (native.ts: ../native/index.cjs;
        // plugin/context.ts: the package root) must sit in the folder its source sits in.
        for (const id of chunk.moduleIds) {
          if (!id.startsWith(src + sep) || !this.getModuleInfo(id)?.code?.includes('import.meta.url')) continue
          const want = dirname(relative(src, id).split(sep).join('/'))
          if (want !== dirname(chunk.fileName)) {
            this.error(`${relative(root, id)} finds files from import.meta.url, so it must be bundled into dist/${want === '.' ? '' : `${want}/`}, not into dist/${chunk.fileName}`)
          }
        }
      }
      // The runtime runs in the browser: nothing it loads, directly or through a shared chunk, may be Node's.
      for (const chunk of reachableChunks(bundle, 'runtime/index.js')) {
        const node = [...chunk.imports, ...chunk.dynamicImports].filter((id) => nodeBuiltins.has(id))
        if (/\brequire\s*\(|\bprocess\.|\b__dirname\b/.test(chunk.code)) node.push('require/process/__dirname')
        if (node.length) this.error(`dist/runtime/index.js must run in a browser, but dist/${chunk.fileName} uses ${node.join(', ')}`)
      }
    },
    closeBundle() {
      if (!complete) return
      // Every path package.json exports or runs is there, and in dist/ was written now (the .d.ts files by tsc).
      const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string>; exports: Record<string, string | Record<string, string>> }
      const targets = [...Object.values(pkg.bin), ...Object.values(pkg.exports).flatMap((t) => (typeof t === 'string' ? [t] : Object.values(t)))]
      const missing = targets.filter((t) => {
        const inDist = relative(dist, join(root, t)).split(sep).join('/')
        return inDist.startsWith('../') ? !exists(join(root, t)) : !written.has(inDist)
      })
      if (missing.length) throw new Error(`package.json names files that are not there or that this build did not write: ${missing.join(', ')}`)
    },
  }
}

function reachableChunks(bundle: OutputBundle, fileName: string): OutputChunk[] {
  const seen = new Map<string, OutputChunk>()
  const visit = (name: string) => {
    const chunk = bundle[name]
    if (seen.has(name) || chunk?.type !== 'chunk') return
    seen.set(name, chunk)
    for (const next of [...chunk.imports, ...chunk.dynamicImports]) visit(next)
  }
  visit(fileName)
  if (seen.size === 0) throw new Error(`the build wrote no ${fileName}`)
  return [...seen.values()]
}

/** Deletes what an earlier build left in dist/ (a renamed module, tsc's old .js and .map files), so it is not published. */
function removeStaleFiles(): Plugin {
  return {
    name: 'tfmodel:remove-stale-files',
    closeBundle() {
      if (!complete) return
      const sweep = (dir: string): void => {
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
          const path = join(dir, entry.name)
          if (entry.isDirectory()) {
            sweep(path)
            if (readdirSync(path).length === 0) rmdirSync(path)
          } else if (!written.has(relative(dist, path).split(sep).join('/'))) {
            rmSync(path)
          }
        }
      }
      sweep(dist)
    },
  }
}

function exists(path: string): boolean {
  try {
    return statSync(path).isFile()
  } catch {
    return false
  }
}
