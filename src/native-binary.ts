// Which native binary this machine needs, and the error when it is missing.
//
// The prebuilt core ships the napi-rs way: one small npm package per platform
// (`<name>-<platform>-<arch>[-<abi>]`, one per `napi.targets` entry in
// package.json), listed as optional dependencies so npm installs only the one
// matching the machine. The loader napi generates (native/index.cjs) tries
// `native/<binary>.<platform>.node` first (a local `npm run build:native`, or a
// tarball packed from such a checkout), then that package. When neither is
// there it throws "Cannot find native binding"; this turns that into an error
// that says what is missing and why.
import { createRequire } from 'node:module'

/** What this file reads of package.json; `napi.targets` is the one list of prebuilt targets. */
export interface PackageManifest {
  name: string
  version: string
  napi: { binaryName: string; packageName?: string; targets: string[] }
}

/** A machine as Node names it; `libc` on Linux only. */
export interface Host {
  platform: string
  arch: string
  libc?: 'gnu' | 'musl'
}

export class MissingNativeBinaryError extends Error {
  readonly code = 'MISSING_NATIVE_BINARY'
  /** The Rust target triple of this machine, e.g. `aarch64-apple-darwin`. */
  readonly triple: string
  /** The platform package that should have been installed; undefined when no prebuilt binary exists for this machine. */
  readonly packageName: string | undefined

  constructor(message: string, triple: string, packageName: string | undefined, cause: unknown) {
    super(message, { cause })
    this.name = 'MissingNativeBinaryError'
    this.triple = triple
    this.packageName = packageName
  }
}

/** This machine; musl is told from glibc the way the generated loader tells it. */
export function currentHost(): Host {
  if (process.platform !== 'linux') return { platform: process.platform, arch: process.arch }
  // Without network interfaces, which a report otherwise looks up (slowly, where DNS is slow).
  Object.assign(process.report, { excludeNetwork: true })
  const report = process.report.getReport() as { header?: { glibcVersionRuntime?: string } }
  return { platform: 'linux', arch: process.arch, libc: report.header?.glibcVersionRuntime ? 'gnu' : 'musl' }
}

// Node's architecture names as Rust spells them in target triples.
const RUST_ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', ia32: 'i686', arm: 'armv7' }

/** The Rust target triple and napi's package suffix (`platformArchABI`) for a machine. */
export function hostTarget(host: Host): { triple: string; suffix: string } {
  const arch = RUST_ARCH[host.arch] ?? host.arch
  switch (host.platform) {
    case 'darwin':
      return { triple: `${arch}-apple-darwin`, suffix: `darwin-${host.arch}` }
    case 'win32':
      return { triple: `${arch}-pc-windows-msvc`, suffix: `win32-${host.arch}-msvc` }
    case 'linux':
      return { triple: `${arch}-unknown-linux-${host.libc ?? 'gnu'}`, suffix: `linux-${host.arch}-${host.libc ?? 'gnu'}` }
    default:
      return { triple: `${arch}-unknown-${host.platform}`, suffix: `${host.platform}-${host.arch}` }
  }
}

/** The error for a core that is not installed on `host`. */
export function missingBinary(manifest: PackageManifest, host: Host, cause?: unknown): MissingNativeBinaryError {
  const { triple, suffix } = hostTarget(host)
  const name = manifest.name
  if (!manifest.napi.targets.includes(triple)) {
    return new MissingNativeBinaryError(
      `${name} has no prebuilt native binary for this machine (${triple}); there are prebuilt ones for ${manifest.napi.targets.join(', ')}. ` +
        'Build it from source: in a checkout of the repository, with a Rust toolchain, `npm ci && npm run build`, then `npm pack` and install that tarball, which carries the binary you built.',
      triple,
      undefined,
      cause,
    )
  }
  const packageName = `${manifest.napi.packageName ?? name}-${suffix}`
  return new MissingNativeBinaryError(
    `${name} could not load its native core for this machine (${triple}): the package ${packageName}@${manifest.version}, ` +
      `an optional dependency of ${name}, is not installed. The usual causes: npm ran with --no-optional or --omit=optional, ` +
      'or the lockfile was made on another OS, so it lacks this platform (https://github.com/npm/cli/issues/4828). ' +
      'Reinstall with optional dependencies (remove node_modules and package-lock.json, then `npm i`), or build the core from source (`npm run build:native` in a checkout).',
    triple,
    packageName,
    cause,
  )
}

/** Whether a load failure means no binary was found (rather than one found that would not load). */
function isNotFound(error: unknown): boolean {
  // native/index.cjs itself is gone (an install that left native/ out).
  if ((error as { code?: unknown } | null)?.code === 'MODULE_NOT_FOUND') return true
  // The generated loader's error keeps each attempt's message in a chain of `cause`s.
  if (!(error instanceof Error) || !error.message.startsWith('Cannot find native binding')) return false
  const attempts: string[] = []
  for (let e = error.cause; e instanceof Error; e = e.cause) attempts.push(e.message)
  return attempts.length > 0 && attempts.every((m) => m.startsWith('Cannot find module'))
}

/** Loads the generated loader at `loaderPath`; MISSING_NATIVE_BINARY when this machine (or `host`) has no binary. */
export function requireAddon<T>(loaderPath: string, manifest: PackageManifest, host?: Host): T {
  try {
    return createRequire(loaderPath)(loaderPath) as T
  } catch (error) {
    throw isNotFound(error) ? missingBinary(manifest, host ?? currentHost(), error) : error
  }
}
