// The unplugin factory: one plugin for Vite, Rollup, Rolldown, esbuild and
// webpack. Each hook hands off to PluginContext; what differs per bundler is
// only how an emitted file's URL is written in code.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'

import {
  createUnplugin,
  createVitePlugin,
  type UnpluginBuildContext,
  type UnpluginContextMeta,
  type UnpluginFactory,
  type UnpluginOptions,
} from 'unplugin'

import { type AssetEmitter, PluginContext } from './context.js'
import { DevModels } from './dev-server.js'
import { PluginError } from './errors.js'
import { TFJS_PART_ID } from './kernels.js'
import { MODEL_ID } from './model-request.js'
import type { Options } from './options.js'

export type { ModelOptions, Options } from './options.js'
export type { Directives, ModelFormat, QuantizeMode } from './directives.js'

export const unpluginFactory: UnpluginFactory<Options | undefined, false> = (rawOptions, meta) =>
  pluginFor(new PluginContext(rawOptions, meta.framework !== 'esbuild'), meta)

/** The plugin around `context`; `worker`: an instance inside a Vite worker bundle, which the app's plugin set up. */
function pluginFor(context: PluginContext, meta: UnpluginContextMeta, worker = false): UnpluginOptions {
  let assetsDir = 'assets'
  let esbuildOutDir: string | undefined

  return {
    name: 'unplugin-tfmodel',
    enforce: 'pre',

    buildStart() {
      context.startBuild()
    },

    resolveId(source, importer) {
      return context.resolveId(source, importer) ?? null
    },

    load: {
      filter: { id: [MODEL_ID, TFJS_PART_ID] },
      async handler(id) {
        if (context.isTfjsPart(id)) return context.tfjsPart(id) ?? null
        if (!context.isModelId(id)) return null
        const { request, model } = await context.convert(id).catch((error: unknown) => {
          // A reload while a checkpoint is mid-save gets the last good model;
          // the dev server reports the broken one in the overlay.
          const lastGood = context.dev?.lastGood(id)
          if (lastGood) return lastGood
          throw error
        })
        // The dev server watches model files itself (DevModels): Vite would also
        // resolve each watched file as an import of the module, which fails once a
        // training loop deletes an old checkpoint.
        if (!context.dev) for (const file of model.watchFiles) this.addWatchFile(file)
        for (const warning of context.warnings(model)) (this as { warn?: (message: string) => void }).warn?.(warning)
        if (context.dev) return context.devModule(request, model, context.dev)
        return context.buildModule(request, model, emitterFor(this, meta, assetsDir, esbuildOutDir))
      },
    },

    buildEnd(error?: Error) {
      // Rollup and Vite pass a failed build's error; webpack keeps its errors on the compilation.
      const native = this.getNativeBuildContext?.()
      const failed = native?.framework === 'webpack' || native?.framework === 'rspack' ? native.compilation?.errors[0] : undefined
      context.writeDeclarations(error ?? failed)
    },

    vite: {
      config(config) {
        // Nested workers are bundled with the app's `worker` options too: nothing to add here.
        if (worker) return undefined
        const include = context.tfjsPackages(resolve(config.root ?? process.cwd()))
        return {
          ...(include.length > 0 && { optimizeDeps: { include } }),
          // Vite bundles workers with their own plugins (this list is merged with the app's): each
          // bundle gets a fresh instance, as Vite asks, converting through this one.
          worker: { plugins: () => [workerPlugin(context)] },
        }
      },
      configResolved(config) {
        // A worker bundle has the app's root; its instance keeps the app's conversions.
        if (!worker) context.setRoot(config.root)
        assetsDir = config.build.assetsDir
      },
      configureServer(server) {
        context.dev = new DevModels(server, context.converter)
        server.middlewares.use(context.dev.middleware)
      },
      handleHotUpdate({ file, modules }) {
        // Checkpoint files are converted and pushed by DevModels, not reloaded by Vite
        // (unless the app imports the file too, a calibration image say).
        if (context.dev?.isSourceFile(file) && modules.length === 0) return []
        return undefined
      },
    },

    webpack(compiler) {
      context.setRoot(compiler.options.context ?? process.cwd())
    },

    rspack(compiler) {
      context.setRoot(compiler.options.context ?? process.cwd())
    },

    esbuild: {
      config(options) {
        const root = options.absWorkingDir ?? process.cwd()
        context.setRoot(root)
        const outDir = options.outdir ?? (options.outfile ? dirname(options.outfile) : undefined)
        esbuildOutDir = outDir === undefined ? undefined : resolve(root, outDir)
      },
    },
  }
}

/** A fresh instance for one Vite worker bundle: the app's conversions, the worker build's own emitted files. */
function workerPlugin(context: PluginContext) {
  return createVitePlugin<undefined, false>((_, meta) => pluginFor(context.forWorker(), meta, true))(undefined)
}

/** Emits an asset and returns its URL as a JavaScript expression, the way each bundler can. */
function emitterFor(build: UnpluginBuildContext, meta: UnpluginContextMeta, assetsDir: string, esbuildOutDir: string | undefined): AssetEmitter {
  switch (meta.framework) {
    case 'vite':
    case 'rollup':
    case 'rolldown':
      return {
        assetsDir,
        emit(fileName, data) {
          // Rollup's context returns a reference whose URL it resolves per chunk (and Vite per `base`).
          const emit = build.emitFile as unknown as (file: { type: 'asset'; fileName: string; source: Uint8Array }) => string
          return `import.meta.ROLLUP_FILE_URL_${emit({ type: 'asset', fileName, source: data })}`
        },
      }
    case 'webpack':
    case 'rspack':
      return {
        assetsDir,
        emit(fileName, data) {
          build.emitFile({ type: 'asset', fileName, source: data })
          return `(__webpack_public_path__ + ${JSON.stringify(fileName)})`
        },
      }
    default:
      return {
        assetsDir,
        emit(fileName, data) {
          // esbuild has no asset emitting of its own: write beside the output.
          if (!esbuildOutDir) throw new PluginError('INVALID_OPTION', 'esbuild needs `outdir` (or `outfile`) for model files to be written')
          const path = join(esbuildOutDir, fileName)
          mkdirSync(dirname(path), { recursive: true })
          const temporary = `${path}.${process.pid}.tmp`
          writeFileSync(temporary, data)
          renameSync(temporary, path)
          // Relative to the output file, which esbuild writes into outdir.
          return `new URL(${JSON.stringify(`./${fileName}`)}, import.meta.url).href`
        },
      }
  }
}

export const unplugin = /* #__PURE__ */ createUnplugin(unpluginFactory)
export default unplugin
