// Node names and file names that would break out of generated code if pasted
// in raw: quotes, backticks, `${`, `</script>`, `*/`, U+2028 and `../`. A graph
// file may name its nodes anything (TensorFlow's own name rules are not
// checked on read), so each must reach the loader, the model.json and the
// declaration file as data: escaped, never executed, and no file written
// outside the output folder.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'

import type { TfModel } from '../src/runtime/index.js'
import { type Bundler, buildApp, outDirFor } from './bundlers.js'
import { root } from './fixtures.js'

const INJECTION = "'\"`${(globalThis.pwned = 1)}</script><script>globalThis.pwned = 2</script>*/\u2028\u2029\\"
const INPUT = `in/${INJECTION}`
const OUTPUT = `../../out/${INJECTION}/..`
/** A file name as hostile as a file system allows. */
const FILE_NAME = `we'ird"\`\${x}<script>.pbtxt`

/** A text GraphDef: `OUTPUT = Relu(INPUT)`. */
function graph(): string {
  const quote = (text: string) => JSON.stringify(text) // the text format takes C-style escapes, as JSON writes them
  return [
    `node { name: ${quote(INPUT)} op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } }`,
    '  attr { key: "shape" value { shape { dim { size: -1 } dim { size: 3 } } } } }',
    `node { name: ${quote(OUTPUT)} op: "Relu" input: ${quote(INPUT)} attr { key: "T" value { type: DT_FLOAT } } }`,
    '',
  ].join('\n')
}

async function fileFetch(url: string | URL | Request): Promise<Response> {
  return new Response(await readFile(fileURLToPath(url.toString())))
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? filesUnder(path) : [path]
  })
}

describe.each(['vite', 'webpack', 'esbuild'] as Bundler[])('hostile names, %s', (bundler) => {
  it('reach the loader, model.json and the declarations as data, and every file stays in the output folder', async () => {
    const dir = outDirFor(`hostile-${bundler}`)
    const app = join(dir, 'app')
    const outDir = join(dir, 'app', 'dist')
    mkdirSync(join(app, 'models'), { recursive: true })
    writeFileSync(join(app, 'models', FILE_NAME), graph())
    writeFileSync(join(app, 'main.js'), `export { default } from ${JSON.stringify(`./models/${FILE_NAME}`)}\n`)
    const dts = join(dir, 'tfmodel-env.d.ts')
    await buildApp(bundler, app, join(app, 'main.js'), outDir, { cacheDir: false, dts })

    for (const file of filesUnder(dir)) expect(relative(dir, file).startsWith('..'), file).toBe(false)
    expect(existsSync(join(dir, 'out'))).toBe(false)
    expect(readdirSync(dir).sort()).toEqual(['app', 'tfmodel-env.d.ts'])

    const { default: model } = (await import(pathToFileURL(join(outDir, 'main.js')).href)) as { default: TfModel }
    expect((globalThis as { pwned?: number }).pwned, 'nothing in a name ran').toBeUndefined()
    expect(model.signature.inputs.map((s) => s.name)).toEqual([INPUT])
    expect(model.signature.outputs.map((s) => s.name)).toEqual([OUTPUT])

    // TF.js runs it under those very names.
    const loaded = await model.load({ fetch: fileFetch, backend: 'cpu' })
    const result = await loaded.run({ [INPUT]: { data: new Float32Array([-1, 0, 2]), shape: [1, 3] } })
    expect([...(result[OUTPUT]!.data as Float32Array)]).toEqual([0, 0, 2])
    loaded.dispose()

    // The declaration file is valid TypeScript that types the model under those names.
    writeFileSync(
      join(dir, 'check.ts'),
      [
        `import model from ${JSON.stringify(`./app/models/${FILE_NAME}`)}`,
        'export async function relu(values: Float32Array): Promise<Float32Array> {',
        '  const loaded = await model.load()',
        `  const result = await loaded.run({ ${JSON.stringify(INPUT)}: values })`,
        `  return result[${JSON.stringify(OUTPUT)}].data`,
        '}',
        '',
      ].join('\n'),
    )
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, target: 'ES2022', module: 'ESNext', moduleResolution: 'bundler', types: [], skipLibCheck: true },
        files: ['check.ts', 'tfmodel-env.d.ts'],
      }),
    )
    expect(readFileSync(dts, 'utf8')).toContain('declare module')
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8' })
    expect(tsc.stdout + tsc.stderr).toBe('')
  })
})

describe('hostile paths', () => {
  it('a symbolic-link loop where a model should be is a coded error, not a hang or a crash', () => {
    const dir = outDirFor('symlink-loop')
    symlinkSync(join(dir, 'b'), join(dir, 'a'))
    symlinkSync(join(dir, 'a'), join(dir, 'b'))
    const result = spawnSync(process.execPath, [join(root, 'bin', 'tfmodel.js'), 'inspect', join(dir, 'a')], { encoding: 'utf8', timeout: 30_000 })
    expect(result.status).toBe(1)
    expect(result.stderr).toMatch(/error FILE_NOT_FOUND: .*\ba\b/)
  })
})
