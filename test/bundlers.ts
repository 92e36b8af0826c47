// Builds a test app with each bundler the plugin supports, into a folder
// inside the repository (so the built code resolves TF.js from node_modules).
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

import type { Options } from '../src/plugin/index.js'
import { root } from './fixtures.js'

export const BUNDLERS = ['vite', 'rollup', 'rolldown', 'esbuild', 'webpack'] as const
export type Bundler = (typeof BUNDLERS)[number]

const TFJS = /^@tensorflow\//

export function outDirFor(name: string): string {
  const dir = join(root, 'test', '.out', `${name}-${process.pid}-${Date.now()}`)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  return dir
}

/** Builds `entry` (an ES module) into `outDir/main.js` with `bundler` and the plugin. */
export async function buildApp(bundler: Bundler, appDir: string, entry: string, outDir: string, options: Options): Promise<void> {
  // TF.js stays external here (Node loads its packages' entry points), so the loader imports all of it.
  options = { kernels: 'all', ...options }
  switch (bundler) {
    case 'vite': {
      const { build } = await import('vite')
      const { default: tfmodel } = await import('../src/vite.js')
      await build({
        root: appDir,
        base: './',
        configFile: false,
        logLevel: 'silent',
        plugins: [tfmodel(options)],
        build: {
          outDir,
          emptyOutDir: true,
          minify: false,
          lib: { entry, formats: ['es'], fileName: () => 'main.js' },
          rollupOptions: { external: [TFJS] },
        },
      })
      return
    }
    case 'rollup': {
      const { rollup } = await import('rollup')
      const { default: tfmodel } = await import('../src/rollup.js')
      const bundle = await rollup({ input: entry, external: [TFJS], plugins: [tfmodel(options)], onwarn: () => {} })
      await bundle.write({ dir: outDir, format: 'es', entryFileNames: 'main.js' })
      await bundle.close()
      return
    }
    case 'rolldown': {
      const { rolldown } = await import('rolldown')
      const { default: tfmodel } = await import('../src/rolldown.js')
      const bundle = await rolldown({ input: entry, external: [TFJS], plugins: [tfmodel(options)], logLevel: 'silent' })
      await bundle.write({ dir: outDir, format: 'es', entryFileNames: 'main.js' })
      await bundle.close()
      return
    }
    case 'esbuild': {
      const { build } = await import('esbuild')
      const { default: tfmodel } = await import('../src/esbuild.js')
      await build({
        entryPoints: { main: entry },
        bundle: true,
        outdir: outDir,
        format: 'esm',
        platform: 'neutral',
        external: ['@tensorflow/*'],
        logLevel: 'silent',
        plugins: [tfmodel(options)],
      })
      return
    }
    case 'webpack': {
      const { default: webpack } = await import('webpack')
      const { default: tfmodel } = await import('../src/webpack.js')
      const compiler = webpack({
        mode: 'production',
        context: appDir,
        entry,
        target: 'es2022',
        experiments: { outputModule: true },
        output: { path: outDir, filename: 'main.js', module: true, library: { type: 'module' }, publicPath: `${pathToFileURL(outDir).href}/` },
        externalsType: 'module',
        externals: [({ request }, callback) => (request && TFJS.test(request) ? callback(undefined, request) : callback())],
        optimization: { minimize: false },
        plugins: [tfmodel(options)],
      })
      await runWebpack(compiler)
      return
    }
  }
}

/** Runs a webpack compiler once; its compilation errors reject. */
export function runWebpack(compiler: import('webpack').Compiler): Promise<void> {
  return new Promise<void>((resolve, reject) =>
    compiler.run((error, stats) => {
      if (error) return reject(error)
      if (stats?.hasErrors()) return reject(new Error(stats.toString({ all: false, errors: true })))
      compiler.close(() => resolve())
    }),
  )
}
