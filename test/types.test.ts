// The generated declaration file types each model import: a misspelled input
// name fails `tsc` with a message naming it; the right one passes.
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'

import { buildApp, outDirFor } from './bundlers.js'
import { root } from './fixtures.js'

const appDir = join(root, 'test', 'apps', 'basic')

/** How test/apps/basic/src/main.js, which the declaration file was made from, writes the fixtures folder. */
const appFixtures = '../../../../fixtures'

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

function tsc(dir: string): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8' })
  return { status: result.status, output: result.stdout + result.stderr }
}

describe('tfmodel-env.d.ts', () => {
  let dts: string

  beforeAll(async () => {
    dts = join(mkdtempSync(join(tmpdir(), 'tfmodel-dts-')), 'tfmodel-env.d.ts')
    await buildApp('vite', appDir, join(appDir, 'src', 'main.js'), outDirFor('types-build'), {
      cacheDir: mkdtempSync(join(tmpdir(), 'tfmodel-cache-')),
      dts,
    })
  })

  function project(inputName: string): string {
    const dir = outDirFor('types')
    // The program imports the models from another folder than the app did, so the
    // import is spelled with another number of `../`: the declarations must still apply.
    const fixtures = relative(dir, join(root, 'fixtures')).split('\\').join('/')
    expect(fixtures).not.toBe(appFixtures)
    expect(readFileSync(join(appDir, 'src', 'main.js'), 'utf8')).toContain(`from '${appFixtures}/convnet/model.ckpt?quantize'`)
    copyFileSync(dts, join(dir, 'tfmodel-env.d.ts'))
    writeFileSync(join(dir, 'main.ts'), program(fixtures, inputName))
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, target: 'ES2022', module: 'ESNext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'], types: [], skipLibCheck: true },
        files: ['main.ts', 'tfmodel-env.d.ts'],
      }),
    )
    return dir
  }

  it('declares each import with its inputs and outputs', () => {
    const content = readFileSync(dts, 'utf8')
    expect(content).toContain("declare module '.*/fixtures/convnet/model.ckpt?quantize'")
    expect(content).toContain("'input': { dtype: 'float32'; shape: [-1, 24, 24, 3] }")
    expect(content).toContain("'probs': { dtype: 'float32'; shape: [-1, 4] }")
  })

  it('accepts the right input name', () => {
    const { status, output } = tsc(project('input'))
    expect(output).toBe('')
    expect(status).toBe(0)
  })

  it('rejects a misspelled input name, naming it', () => {
    const { status, output } = tsc(project('inptu'))
    expect(status).not.toBe(0)
    // Refused by the model's own input type, not for some other reason (an import that did not resolve).
    expect(output).toMatch(/'inptu' does not exist in type '[^']*\binput: \{ dtype: "float32"; shape: \[-1, 24, 24, 3\]; \}/)
  })
})
