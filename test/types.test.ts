// The generated declaration file types each model import: a misspelled input
// name fails `tsc` with a message naming it; the right one passes. One file
// serves every build of a project (entries, bundlers), survives a failed one,
// and drops what is gone; before any build the generic types are enough for
// ordinary code.
import { spawnSync } from 'node:child_process'
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer as createNetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'

import { DeclarationFile } from '../src/plugin/dts.js'
import { modelSource } from '../src/plugin/model-request.js'
import type { Options } from '../src/plugin/options.js'
import { buildApp, type Bundler, outDirFor } from './bundlers.js'
import { fixture, readJson, root } from './fixtures.js'

const appDir = join(root, 'test', 'apps', 'basic')
const entriesDir = join(root, 'test', 'apps', 'entries')
const cacheDir = mkdtempSync(join(tmpdir(), 'tfmodel-cache-'))

/** How test/apps/basic/src/main.js, which the declaration file was made from, writes the fixtures folder. */
const appFixtures = '../../../../fixtures'

/** The compiler options of `npm create vite@latest -- --template react-ts`'s tsconfig.app.json
 * (without JSX and the build-info path), plus `strict`, the default of the TypeScript it installs. */
const viteAppOptions = {
  target: 'es2023',
  lib: ['ES2023', 'DOM'],
  module: 'esnext',
  types: ['vite/client'],
  allowArbitraryExtensions: true,
  skipLibCheck: true,
  moduleResolution: 'bundler',
  allowImportingTsExtensions: true,
  verbatimModuleSyntax: true,
  moduleDetection: 'force',
  noEmit: true,
  noUnusedLocals: true,
  noUnusedParameters: true,
  erasableSyntaxOnly: true,
  noFallthroughCasesInSwitch: true,
  strict: true,
}

/** Names TensorFlow stored for a fixture's inputs and outputs (io.json), to check the declarations by. */
function tensorNames(name: string): { inputs: string[]; outputs: string[] } {
  const io = readJson<{ inputs: Record<string, unknown>; outputs: Record<string, unknown> }>(fixture(name).path('io.json'))
  return { inputs: Object.keys(io.inputs), outputs: Object.keys(io.outputs) }
}

function program(fixtures: string, inputName: string): string {
  return [
    `import model from '${fixtures}/convnet/model.ckpt'`,
    `import quantized from '${fixtures}/convnet/model.ckpt?quantize'`,
    '',
    'export async function classify(pixels: Float32Array): Promise<Float32Array> {',
    '  const loaded = await model.load({ backend: "cpu" })',
    `  const { probs } = await loaded.run({ ${inputName}: pixels })`,
    '  const url: string = quantized.url',
    '  void url',
    '  return probs.data',
    '}',
    '',
  ].join('\n')
}

function tsc(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), ...args], { encoding: 'utf8' })
  return { status: result.status, output: result.stdout + result.stderr }
}

/** A folder for a TypeScript project with this package installed, as in an app (for `/// <reference types>`). */
function projectDir(name: string): string {
  const dir = outDirFor(name)
  mkdirSync(join(dir, 'node_modules'))
  symlinkSync(root, join(dir, 'node_modules', 'unplugin-tfmodel'), 'dir')
  return dir
}

/** The fixtures folder as an import from `dir` writes it. */
function fixturesFrom(dir: string): string {
  return relative(dir, join(root, 'fixtures')).split('\\').join('/')
}

function build(bundler: Bundler, dir: string, entry: string, dts: string, options: Options = {}): Promise<void> {
  return buildApp(bundler, dir, entry, outDirFor(`types-${bundler}`), { cacheDir, dts, ...options })
}

/** The file's content and mtime, to show a process left it alone. */
function snapshot(path: string): { content: string; mtime: number } {
  return { content: readFileSync(path, 'utf8'), mtime: statSync(path).mtimeMs }
}

/** The patterns the file declares, in its order. */
function patterns(content: string): string[] {
  return [...content.matchAll(/^declare module '([^']*)'/gm)].map((match) => match[1]!)
}

describe('tfmodel-env.d.ts', () => {
  let dts: string

  beforeAll(async () => {
    // Inside the project, as the file is in an app: its paths are relative to it.
    dts = join(outDirFor('types-dts'), 'tfmodel-env.d.ts')
    await buildApp('vite', appDir, join(appDir, 'src', 'main.js'), outDirFor('types-build'), { cacheDir, dts })
  })

  function project(inputName: string): string {
    const dir = projectDir('types')
    // The program imports the models from another folder than the app did, so the
    // import is spelled with another number of `../`: the declarations must still apply.
    const fixtures = fixturesFrom(dir)
    expect(fixtures).not.toBe(appFixtures)
    expect(readFileSync(join(appDir, 'src', 'main.js'), 'utf8')).toContain(`from '${appFixtures}/convnet/model.ckpt?quantize'`)
    copyFileSync(dts, join(dir, 'tfmodel-env.d.ts'))
    writeFileSync(join(dir, 'main.ts'), program(fixtures, inputName))
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: viteAppOptions, files: ['main.ts', 'tfmodel-env.d.ts'] }))
    return dir
  }

  it('declares each import with its inputs and outputs', () => {
    const content = readFileSync(dts, 'utf8')
    expect(content).toContain("declare module '.*/fixtures/convnet/model.ckpt?quantize'")
    expect(content).toContain("'input': { dtype: 'float32'; shape: [-1, 24, 24, 3] }")
    expect(content).toContain("'probs': { dtype: 'float32'; shape: [-1, 4] }")
    expect(content).toMatch(/^\/\/ .*Commit it/m)
  })

  it('accepts the right input name', () => {
    const { status, output } = tsc('-p', project('input'))
    expect(output).toBe('')
    expect(status).toBe(0)
  })

  it('rejects a misspelled input name, naming it', () => {
    const { status, output } = tsc('-p', project('inptu'))
    expect(status).not.toBe(0)
    // Refused by the model's own input type, not for some other reason (an import that did not resolve).
    expect(output).toMatch(/'inptu' does not exist in type '[^']*\binput: \{ dtype: "float32"; shape: \[-1, 24, 24, 3\]; \}/)
  })

  it('names no path of the machine that built it', () => {
    const content = readFileSync(dts, 'utf8')
    expect(content).not.toContain(root)
    expect(content).toContain('// @tfmodel {"source":"../../../fixtures/convnet/model.ckpt","importers":["../../apps/basic/src/main.js","../../apps/basic/src/second.js"]}')
  })
})

describe('one declaration file for every build', () => {
  const a = join(entriesDir, 'src', 'a.js')
  const b = join(entriesDir, 'src', 'b.js')

  it('keeps the models of two entries built by different bundlers, and a third build changes nothing', async () => {
    const dts = join(mkdtempSync(join(tmpdir(), 'tfmodel-dts-')), 'tfmodel-env.d.ts')
    await build('vite', entriesDir, a, dts)
    // esbuild's root is the working directory, not the app: paths in the file are relative to the file.
    await build('esbuild', entriesDir, b, dts)
    const content = readFileSync(dts, 'utf8')
    expect(patterns(content)).toEqual([
      '.*/fixtures/convnet/model.ckpt?quantize',
      '.*/fixtures/detector/model.ckpt?url',
      '.*/fixtures/train_dir/',
    ])
    for (const name of tensorNames('train_dir').outputs) expect(content).toContain(`'${name}': { dtype: 'float32'`)
    for (const name of tensorNames('convnet').inputs) expect(content).toContain(`'${name}': { dtype: 'float32'`)

    const before = snapshot(dts)
    await build('webpack', entriesDir, a, dts)
    await build('rollup', entriesDir, b, dts)
    expect(snapshot(dts)).toEqual(before)
  })

  it('takes what a dev server converts as soon as it has, beside what a build wrote', async () => {
    const dts = join(mkdtempSync(join(tmpdir(), 'tfmodel-dts-')), 'tfmodel-env.d.ts')
    await build('rollup', entriesDir, b, dts)
    const { createServer } = await import('vite')
    const { default: tfmodel } = await import('../src/vite.js')
    const server = await createServer({ root: entriesDir, configFile: false, logLevel: 'silent', plugins: [tfmodel({ cacheDir, dts })] })
    try {
      const resolved = await server.pluginContainer.resolveId('../../../../fixtures/convnet/model.ckpt?quantize', a)
      await server.pluginContainer.load(resolved!.id)
      expect(patterns(readFileSync(dts, 'utf8'))).toEqual([
        '.*/fixtures/convnet/model.ckpt?quantize',
        '.*/fixtures/detector/model.ckpt?url',
        '.*/fixtures/train_dir/',
      ])
    } finally {
      await server.close()
    }
  })

  describe('a build that fails, or converts nothing, leaves the file as it was', () => {
    let dts: string
    let dir: string
    let before: { content: string; mtime: number }

    beforeAll(async () => {
      dts = join(mkdtempSync(join(tmpdir(), 'tfmodel-dts-')), 'tfmodel-env.d.ts')
      await build('vite', entriesDir, a, dts)
      before = snapshot(dts)
      // Each failing entry imports a model the file does not declare yet: a write would show.
      dir = outDirFor('types-failing')
      const fixtures = fixturesFrom(dir)
      writeFileSync(join(dir, 'bad-model.js'), `export { default as a } from '${fixtures}/detector/model.ckpt'\nexport { default as b } from '${fixtures}/convnet/model.ckpt?outputs=nope'\n`)
      writeFileSync(join(dir, 'missing.js'), `export { default as a } from '${fixtures}/detector/model.ckpt'\nexport { b } from './missing-module.js'\n`)
    })

    it.each(['vite', 'esbuild', 'webpack'] as const)('a model that does not convert, with %s', async (bundler) => {
      await expect(build(bundler, dir, join(dir, 'bad-model.js'), dts)).rejects.toThrow(/UNKNOWN_NODE/)
      expect(snapshot(dts)).toEqual(before)
    })

    it('another module that fails, with webpack (its errors are on the compilation)', async () => {
      await expect(build('webpack', dir, join(dir, 'missing.js'), dts)).rejects.toThrow(/missing-module/)
      expect(snapshot(dts)).toEqual(before)
    })

    it('another plugin that fails once the models are converted, with Vite', async () => {
      const { build: viteBuild } = await import('vite')
      const { default: tfmodel } = await import('../src/vite.js')
      const entry = join(dir, 'late.js')
      writeFileSync(entry, `export { default } from '${fixturesFrom(dir)}/detector/model.ckpt'\n`)
      const failsLate = {
        name: 'fails-after-models',
        enforce: 'post' as const,
        transform(_code: string, id: string) {
          if (id.includes('?tfmodel')) throw new Error('a later plugin failed')
        },
      }
      const built = viteBuild({
        root: dir,
        configFile: false,
        logLevel: 'silent',
        plugins: [tfmodel({ cacheDir, dts }), failsLate],
        build: { outDir: outDirFor('types-late'), lib: { entry, formats: ['es'] }, rollupOptions: { external: [/^@tensorflow\//] } },
      })
      await expect(built).rejects.toThrow(/a later plugin failed/)
      expect(snapshot(dts)).toEqual(before)
    })

    it('an entry with no model import', async () => {
      await build('rollup', entriesDir, join(entriesDir, 'src', 'plain.js'), dts)
      expect(snapshot(dts)).toEqual(before)
    })

    it('a dev server that did not start', async () => {
      const { createServer } = await import('vite')
      const { default: tfmodel } = await import('../src/vite.js')
      const taken = createNetServer()
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
      const port = (taken.address() as { port: number }).port
      const server = await createServer({
        root: entriesDir,
        configFile: false,
        logLevel: 'silent',
        plugins: [tfmodel({ cacheDir, dts })],
        server: { host: '127.0.0.1', port, strictPort: true },
      })
      try {
        await expect(server.listen()).rejects.toThrow(/in use/)
      } finally {
        await server.close()
        taken.close()
      }
      expect(snapshot(dts)).toEqual(before)
    })
  })

  it('drops a model whose source is gone, and one no module imports any more', async () => {
    const dir = outDirFor('types-drop')
    const fixtures = fixturesFrom(join(dir, 'src'))
    cpSync(fixture('convnet').dir, join(dir, 'models', 'convnet'), { recursive: true })
    mkdirSync(join(dir, 'src'))
    const entry = (name: string, text: string) => {
      writeFileSync(join(dir, 'src', name), text)
      return join(dir, 'src', name)
    }
    const copied = entry('copied.js', "export { default } from '../models/convnet/model.ckpt'\n")
    const url = entry('url.js', `export { default } from '${fixtures}/detector/model.ckpt?url'\n`)
    const changing = entry('changing.js', `export { default } from '${fixtures}/convnet/model.ckpt?quantize=float16'\n`)
    const dts = join(dir, 'tfmodel-env.d.ts')

    await build('vite', dir, copied, dts)
    await build('esbuild', dir, url, dts)
    await build('webpack', dir, changing, dts)
    expect(patterns(readFileSync(dts, 'utf8'))).toEqual([
      '.*/fixtures/convnet/model.ckpt?quantize=float16',
      '.*/fixtures/detector/model.ckpt?url',
      '.*/models/convnet/model.ckpt',
    ])

    // The copied checkpoint is deleted; a build of another entry notices.
    rmSync(join(dir, 'models'), { recursive: true })
    await build('rollup', dir, url, dts)
    expect(patterns(readFileSync(dts, 'utf8'))).toEqual(['.*/fixtures/convnet/model.ckpt?quantize=float16', '.*/fixtures/detector/model.ckpt?url'])

    // The module that imported the float16 model now imports the model another way.
    entry('changing.js', `export { default } from '${fixtures}/convnet/model.ckpt?quantize=int8'\n`)
    await build('rollup', dir, url, dts)
    expect(patterns(readFileSync(dts, 'utf8'))).toEqual(['.*/fixtures/detector/model.ckpt?url'])
  })
})

describe('declarations from one process', () => {
  const signature = { inputs: [{ name: 'x', dtype: 'float32' as const, shape: [-1, 2] }], outputs: [{ name: 'y', dtype: 'float32' as const, shape: null }] }
  const dts = new DeclarationFile(join(root, 'tfmodel-env.d.ts'), (source) => modelSource(source) !== undefined)
  const convnet = join(fixture('convnet').dir, 'model.ckpt')
  const detector = join(fixture('detector').dir, 'model.ckpt')

  it('types each import as written, whatever folder it is written from', () => {
    const content = dts.render([
      { specifier: '../../fixtures/convnet/model.ckpt?quantize', source: convnet, importers: [], signature },
      { specifier: '../fixtures/convnet/model.ckpt?quantize', source: convnet, importers: [], signature },
    ])
    expect(patterns(content)).toEqual(['.*/fixtures/convnet/model.ckpt?quantize'])
    expect(content).toContain("'x': { dtype: 'float32'; shape: [-1, 2] }")
    expect(dts.render([], content)).toBe(content)
  })

  it('falls back to the generic type when two models are written the same way, until one is gone', () => {
    const content = dts.render([
      { specifier: './model.ckpt', source: convnet, importers: [], signature },
      { specifier: './model.ckpt', source: detector, importers: [], signature: { inputs: [], outputs: [] } },
    ])
    expect(content).toContain('neither is typed exactly')
    expect(content).not.toContain("'x':")
    // Read back by a process that saw neither: the same file.
    expect(dts.render([], content)).toBe(content)
  })
})

describe('unplugin-tfmodel/client alone', () => {
  /** A project with no generated file, only the client's generic types; `mistake` adds a wrong line. */
  function genericProject(mistake?: string): string {
    const dir = projectDir('types-generic')
    const fixtures = fixturesFrom(dir)
    const source = [
      '/// <reference types="unplugin-tfmodel/client" />',
      `import model from '${fixtures}/convnet/model.ckpt'`,
      `import quantized from '${fixtures}/convnet/model.ckpt?quantize=int8'`,
      `import train from '${fixtures}/train_dir/'`,
      `import graphUrl from '${fixtures}/convnet/frozen_tf.pb?url'`,
      '',
      'export async function main(pixels: Float32Array): Promise<number> {',
      '  const { probs } = await (await model.load()).run({ input: pixels })',
      '  const best = Math.max(...probs.data)',
      '  const doubled = probs.data[0]! * 2',
      '  const { y } = await (await train.load({ backend: "cpu" })).run({ x: [0, 1, 2, 3, 4, 5, 6, 7] })',
      '  const shifted = Array.from(y.data).map((v) => v + 1)',
      '  const url: string = graphUrl + quantized.url',
      ...(mistake ? [`  ${mistake}`] : []),
      '  return best + doubled + shifted.length + url.length',
      '}',
      '',
    ]
    writeFileSync(join(dir, 'main.ts'), source.join('\n'))
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: viteAppOptions, files: ['main.ts'] }))
    return dir
  }

  it('type-check ordinary numeric code, and a training directory import', () => {
    const { status, output } = tsc('-p', genericProject())
    expect(output).toBe('')
    expect(status).toBe(0)
  })

  it('still catch a mistake in that code', () => {
    const { status, output } = tsc('-p', genericProject('void (probs.data[0]! satisfies string)'))
    expect(status).not.toBe(0)
    expect(output.trim().split('\n')).toEqual([expect.stringMatching(/TS1360: Type 'number' does not satisfy the expected type 'string'/)])
  })
})

describe('a fresh Vite react-ts app', () => {
  // Its tsconfig.json holds only references; tsconfig.app.json includes `src`,
  // so `dts: 'src/tfmodel-env.d.ts'` is all it takes for `tsc -b && vite build`.
  function app(inputName: string): string {
    const dir = projectDir('types-vite-app')
    mkdirSync(join(dir, 'src'))
    const fixtures = fixturesFrom(join(dir, 'src'))
    const compilerOptions = { ...viteAppOptions, types: ['vite/client', 'unplugin-tfmodel/client'], tsBuildInfoFile: './tsconfig.app.tsbuildinfo' }
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ files: [], references: [{ path: './tsconfig.app.json' }] }))
    writeFileSync(join(dir, 'tsconfig.app.json'), JSON.stringify({ compilerOptions, include: ['src'] }))
    writeFileSync(
      join(dir, 'src', 'main.ts'),
      [
        `import convnet from '${fixtures}/convnet/model.ckpt?quantize'`,
        `import train from '${fixtures}/train_dir?outputs=y'`,
        '',
        'export async function fit(points: Float32Array): Promise<number> {',
        `  const { y } = await (await train.load()).run({ ${inputName}: points })`,
        '  return Math.max(...y.data) + convnet.sizes.total',
        '}',
        '',
      ].join('\n'),
    )
    return dir
  }

  function viteBuild(dir: string): Promise<void> {
    return buildApp('vite', dir, join(dir, 'src', 'main.ts'), outDirFor('types-vite-app-out'), { cacheDir, dts: 'src/tfmodel-env.d.ts' })
  }

  it('type-checks with tsc -b once a build wrote the declarations into src', async () => {
    const dir = app('x')
    // Before any build the client types the plain import; one with a directive value has no type yet.
    const before = tsc('-b', dir).output.trim().split('\n')
    expect(before).toEqual([expect.stringMatching(/TS2307: Cannot find module '[^']*train_dir\?outputs=y'/)])
    await viteBuild(dir)
    const { status, output } = tsc('-b', dir)
    expect(output).toBe('')
    expect(status).toBe(0)
  })

  it('and rejects a misspelled input there', async () => {
    const dir = app('z')
    await viteBuild(dir)
    const { status, output } = tsc('-b', dir)
    expect(status).not.toBe(0)
    expect(output).toMatch(/'z' does not exist in type/)
  })

  it('takes a declaration of its own for an import the client cannot type', () => {
    const dir = app('x')
    writeFileSync(
      join(dir, 'src', 'models.d.ts'),
      ["declare module '*/train_dir?outputs=y' {", "  const model: import('unplugin-tfmodel/runtime').TfModel", '  export default model', '}', ''].join('\n'),
    )
    const { status, output } = tsc('-b', dir)
    expect(output).toBe('')
    expect(status).toBe(0)
  })
})
