// The package as a user gets it. `npm pack` makes the tarball; a fresh Vite
// app outside the repository installs it with `npm install` (everything else
// from the registry, through the npm cache) with no Rust toolchain on PATH,
// builds an import of a real checkpoint with `?quantize`, and the emitted
// model runs in TF.js with TensorFlow's outputs. Beside that, the release
// wiring: npm/<platform>/ is what napi lays out for `napi.targets`, and the
// scripts a release runs (`npm version`, `napi artifacts`, `napi pre-publish`)
// pin one optional dependency per target to the package's version.
import { type SpawnSyncOptions, spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { NapiCli, parseTriple } from '@napi-rs/cli'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'

import { currentHost, hostTarget, type PackageManifest } from '../src/native-binary.js'
import { fixture, type JsonTensor, readJson, root } from './fixtures.js'
import { floats, loadGraph, run } from './tfjs-loader.js'

const manifest = readJson<PackageManifest & { files: string[] }>(join(root, 'package.json'))
const targets = manifest.napi.targets.map((triple) => parseTriple(triple))
const { suffix } = hostTarget(currentHost())

/** Runs a command; throws with its output when it fails. */
function sh(command: string, args: string[], options: SpawnSyncOptions = {}): string {
  // npm is npm.cmd on Windows, which only a shell runs.
  const result = spawnSync(command, args, { encoding: 'utf8', shell: process.platform === 'win32', ...options })
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`}):\n${result.stdout}\n${result.stderr}`)
  return String(result.stdout)
}

/** This environment without the settings npm gives its scripts here (`npm test` sets npm_config_*, npm_package_*). */
function outsideNpm(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) || /^npm_config_cache$/i.test(key)))
}

/** This environment as a machine without Rust sees it: no cargo or rustc on PATH. */
function withoutRust(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(outsideNpm()).filter(([key]) => !/^(cargo|rustup)_/i.test(key)))
  const pathKey = Object.keys(env).find((key) => key.toUpperCase() === 'PATH') ?? 'PATH'
  const exe = process.platform === 'win32' ? '.exe' : ''
  env[pathKey] = (env[pathKey] ?? '')
    .split(delimiter)
    .filter((dir) => dir && !existsSync(join(dir, `cargo${exe}`)) && !existsSync(join(dir, `rustc${exe}`)))
    .join(delimiter)
  return env
}

describe('npm pack', () => {
  let pack: { filename: string; size: number; unpackedSize: number; entryCount: number; files: { path: string; size: number }[] }
  let dir: string

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tfmodel-package-'))
    pack = JSON.parse(sh('npm', ['pack', '--json', '--pack-destination', dir], { cwd: root }))[0]
    console.log(`npm pack: ${pack.filename}, ${pack.size} bytes packed, ${pack.unpackedSize} unpacked, ${pack.entryCount} files`)
  })
  // The app's node_modules is some 100 MB.
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('carries the built package and the local binary, and nothing of the sources', () => {
    const paths = pack.files.map((f) => f.path)
    for (const path of ['package.json', 'README.md', 'bin/tfmodel.js', 'client.d.ts', 'proto/tensorflow.proto', 'dist/vite.js', 'dist/native.js', 'native/index.cjs', 'native/index.d.cts']) {
      expect(paths, path).toContain(path)
    }
    // Packed from a checkout that ran `npm run build:native`: the loader finds native/<binary>.<platform>.node first.
    expect(paths).toContain(`native/tfmodel.${suffix}.node`)
    const strays = paths.filter((p) => /^(test|fixtures|crates|src|npm|examples|bench|scripts|target|\.github)\//.test(p) || /\.(rs|map|tgz)$|^Cargo\./.test(p))
    expect(strays).toEqual([])
    // The JavaScript side stays small; the binary is the bulk.
    const besideBinaries = pack.files.filter((f) => !f.path.endsWith('.node')).reduce((sum, f) => sum + f.size, 0)
    expect(besideBinaries).toBeLessThan(2_000_000)
  })

  it("installs into a fresh Vite app without Rust, whose build of a ?quantize import gives TensorFlow's outputs in TF.js", async () => {
    const env = withoutRust()
    expect(spawnSync('cargo', ['--version'], { env, shell: process.platform === 'win32' }).status, 'cargo is off PATH').not.toBe(0)

    const app = join(dir, 'app')
    mkdirSync(join(app, 'src', 'models', 'convnet'), { recursive: true })
    const installed = (name: string) => readJson<{ version: string }>(join(root, 'node_modules', name, 'package.json')).version
    // The versions this repository installed, so npm finds them in its cache.
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({
        name: 'tfmodel-user-app',
        private: true,
        type: 'module',
        scripts: { build: 'vite build' },
        dependencies: {
          '@tensorflow/tfjs-converter': installed('@tensorflow/tfjs-converter'),
          '@tensorflow/tfjs-core': installed('@tensorflow/tfjs-core'),
          'unplugin-tfmodel': `file:../${pack.filename}`,
        },
        devDependencies: { vite: installed('vite') },
      }),
    )
    writeFileSync(join(app, 'vite.config.js'), "import tfmodel from 'unplugin-tfmodel/vite'\nimport { defineConfig } from 'vite'\n\nexport default defineConfig({ plugins: [tfmodel()] })\n")
    writeFileSync(join(app, 'index.html'), '<!doctype html>\n<script type="module" src="/src/main.js"></script>\n')
    writeFileSync(join(app, 'src', 'main.js'), "import convnet from './models/convnet/model.ckpt?quantize'\n\nconvnet.load().then((model) => (document.body.dataset.outputs = model.outputs.join(',')))\n")
    const convnet = fixture('convnet')
    for (const file of readdirSync(convnet.dir).filter((f) => f.startsWith('model.ckpt.'))) cpSync(convnet.path(file), join(app, 'src', 'models', 'convnet', file))

    let started = performance.now()
    sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: app, env })
    const installMs = performance.now() - started
    started = performance.now()
    sh('npm', ['run', 'build'], { cwd: app, env })
    console.log(`user app: npm install ${installMs.toFixed(0)} ms, vite build ${(performance.now() - started).toFixed(0)} ms`)
    expect(existsSync(join(app, 'node_modules', 'unplugin-tfmodel', 'native', `tfmodel.${suffix}.node`))).toBe(true)

    const assets = join(app, 'dist', 'assets')
    const models = readdirSync(assets).filter((f) => /^model-.*\.json$/.test(f))
    expect(models).toHaveLength(1)
    const { model, json } = await loadGraph(join(assets, models[0]!))
    const quantized = json.weightsManifest[0]!.weights.filter((w) => (w as { quantization?: { dtype: string } }).quantization?.dtype === 'uint8')
    expect(quantized.length, 'weights quantized to uint8').toBeGreaterThan(0)
    const io = readJson<{ inputs: Record<string, JsonTensor>; outputs: Record<string, JsonTensor> }>(convnet.path(convnet.io!))
    const { probs } = await run(model, io.inputs, ['probs'])
    const want = floats(io.outputs.probs!)
    // uint8 weights: the class TensorFlow picks, each probability within 0.02 (as test/plugin.test.ts judges them).
    const classes = io.outputs.probs!.shape[1]!
    for (let r = 0; r < want.length / classes; r++) {
      const ours = Array.from(probs!.subarray(r * classes, (r + 1) * classes))
      const theirs = Array.from(want.subarray(r * classes, (r + 1) * classes))
      expect(ours.indexOf(Math.max(...ours)), `row ${r}`).toBe(theirs.indexOf(Math.max(...theirs)))
      ours.forEach((v, i) => expect(Math.abs(v - theirs[i]!), `row ${r}, class ${i}`).toBeLessThan(0.02))
    }
    model.dispose()

    // Without the binary (no local file, no platform package), the installed package says what is missing.
    rmSync(join(app, 'node_modules', 'unplugin-tfmodel', 'native', `tfmodel.${suffix}.node`))
    const script = "import('unplugin-tfmodel/native').then((m) => m.coreVersion()).catch((e) => { console.error(e.code + ': ' + e.message); process.exit(1) })"
    const missing = spawnSync(process.execPath, ['-e', script], { cwd: app, env, encoding: 'utf8' })
    expect(missing.status).toBe(1)
    expect(missing.stderr).toMatch(new RegExp(`^MISSING_NATIVE_BINARY: .*\\(${hostTarget(currentHost()).triple}\\).*unplugin-tfmodel-${suffix}@`))
  }, 300_000)
})

describe('release wiring', () => {
  it('npm/ holds one package per napi.targets entry, as `napi create-npm-dirs` lays them out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tfmodel-npm-dirs-'))
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    cpSync(join(root, 'package.json'), join(dir, 'package.json'))
    await new NapiCli().createNpmDirs({ cwd: dir })
    expect(readdirSync(join(root, 'npm')).sort()).toEqual(targets.map((t) => t.platformArchABI).sort())
    for (const target of targets) {
      for (const file of ['package.json', 'README.md']) {
        expect(readFileSync(join(root, 'npm', target.platformArchABI, file), 'utf8'), `npm/${target.platformArchABI}/${file}`).toBe(
          readFileSync(join(dir, 'npm', target.platformArchABI, file), 'utf8'),
        )
      }
    }
  })

  it('npm version, napi artifacts and napi pre-publish pin every platform package to the new version', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tfmodel-release-'))
    // Removes the node_modules link, not what it links to.
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    cpSync(join(root, 'package.json'), join(dir, 'package.json'))
    cpSync(join(root, 'npm'), join(dir, 'npm'), { recursive: true })
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'junction')
    // What the release workflow downloads: one artifact folder per target (stand-ins for the binaries).
    for (const target of targets) {
      mkdirSync(join(dir, 'artifacts', `bindings-${target.triple}`), { recursive: true })
      writeFileSync(join(dir, 'artifacts', `bindings-${target.triple}`, `tfmodel.${target.platformArchABI}.node`), target.triple)
    }
    const env = outsideNpm()
    sh('git', ['init', '--quiet'], { cwd: dir })
    sh('npm', ['version', '0.99.0', '--no-git-tag-version'], { cwd: dir, env })
    sh('npm', ['run', 'artifacts'], { cwd: dir, env })
    // The workflow's `npm publish` runs this as prepublishOnly; here without publishing or a GitHub release.
    sh('npm', ['run', 'prepublishOnly', '--', '--skip-optional-publish', '--no-gh-release'], { cwd: dir, env })

    const published = readJson<{ optionalDependencies: Record<string, string> }>(join(dir, 'package.json'))
    expect(published.optionalDependencies).toEqual(Object.fromEntries(targets.map((t) => [`unplugin-tfmodel-${t.platformArchABI}`, '0.99.0'])))
    for (const target of targets) {
      const platform = join(dir, 'npm', target.platformArchABI)
      expect(readJson<{ version: string }>(join(platform, 'package.json')).version).toBe('0.99.0')
      expect(readFileSync(join(platform, `tfmodel.${target.platformArchABI}.node`), 'utf8')).toBe(target.triple)
    }
  })

  it("the README's install table lists exactly napi.targets and their packages", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    const section = readme.slice(readme.indexOf('## Install'), readme.indexOf('\n## ', readme.indexOf('## Install') + 1))
    const rows = [...section.matchAll(/^\| `([^`]+)` \| [^|]+ \| `([^`]+)` \|$/gm)].map((m) => [m[1], m[2]])
    expect(rows).toEqual(targets.map((t) => [t.triple, `unplugin-tfmodel-${t.platformArchABI}`]))
  })
})
