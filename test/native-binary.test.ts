// A machine without its native binary: the generated loader (native/index.cjs)
// copied where no binary sits beside it and no platform package can be
// resolved, exactly the state `npm i --omit=optional` leaves behind.
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseTriple } from '@napi-rs/cli'
import { describe, expect, it } from 'vitest'

import { currentHost, hostTarget, MissingNativeBinaryError, type PackageManifest, requireAddon } from '../src/native-binary.js'
import { readJson, root } from './fixtures.js'

const manifest = readJson<PackageManifest>(join(root, 'package.json'))

/** The generated loader alone in a fresh directory, with `beside` files next to it. */
function lonelyLoader(beside: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'tfmodel-no-binary-'))
  copyFileSync(join(root, 'native', 'index.cjs'), join(dir, 'index.cjs'))
  for (const [name, content] of Object.entries(beside)) writeFileSync(join(dir, name), content)
  return join(dir, 'index.cjs')
}

function thrown(run: () => unknown): Error & { code?: string } {
  try {
    run()
  } catch (error) {
    return error as Error & { code?: string }
  }
  throw new Error('expected an error')
}

describe('MISSING_NATIVE_BINARY', () => {
  it('names the triple, the package to install and the usual causes, never a raw "Cannot find module"', () => {
    const { triple, suffix } = hostTarget(currentHost())
    const error = thrown(() => requireAddon(lonelyLoader(), manifest))
    expect(error).toBeInstanceOf(MissingNativeBinaryError)
    expect(error.code).toBe('MISSING_NATIVE_BINARY')
    expect(error.message).not.toMatch(/^Cannot find/)
    expect(error.message).toContain(`(${triple})`)
    expect(error.message).toContain(`unplugin-tfmodel-${suffix}@${manifest.version}`)
    expect(error.message).toContain('--omit=optional')
    expect(error.message).toContain('lockfile was made on another OS')
    expect((error as MissingNativeBinaryError).packageName).toBe(`unplugin-tfmodel-${suffix}`)
    // What the loader tried stays attached.
    expect((error.cause as Error).message).toMatch(/^Cannot find native binding/)
  })

  it('on a machine with no prebuilt binary, says so and how to build one', () => {
    const error = thrown(() => requireAddon(lonelyLoader(), manifest, { platform: 'freebsd', arch: 'x64' })) as MissingNativeBinaryError
    expect(error.code).toBe('MISSING_NATIVE_BINARY')
    expect(error.triple).toBe('x86_64-unknown-freebsd')
    expect(error.packageName).toBeUndefined()
    expect(error.message).toContain('no prebuilt native binary for this machine (x86_64-unknown-freebsd)')
    expect(error.message).toContain('npm run build')
  })

  it('is not claimed for a binary that is there but does not load', () => {
    const { suffix } = hostTarget(currentHost())
    const error = thrown(() => requireAddon(lonelyLoader({ [`tfmodel.${suffix}.node`]: 'not a shared library' }), manifest))
    expect(error.code).not.toBe('MISSING_NATIVE_BINARY')
  })

  it("names each target's package as napi's loader and `napi create-npm-dirs` do", () => {
    for (const target of manifest.napi.targets) {
      const { platform, arch, abi, platformArchABI } = parseTriple(target)
      const host = { platform, arch, ...(platform === 'linux' && { libc: abi as 'gnu' | 'musl' }) }
      expect(hostTarget(host), target).toEqual({ triple: target, suffix: platformArchABI })
    }
  })
})
