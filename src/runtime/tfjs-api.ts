// What of TF.js core the runtime calls. A build that bundles only the part of
// TF.js its models use hands the runtime a module exporting exactly these
// (src/plugin/kernels.ts), so the runtime is typed against this list, not all
// of tfjs-core. Namespaced members are written `namespace.member`.
import type * as tfc from '@tensorflow/tfjs-core'

export const TFJS_CORE_API = [
  'engine',
  'env',
  'getBackend',
  'setBackend',
  'io',
  'Tensor',
  'tensor',
  'tidy',
  'round',
  'cast',
  'expandDims',
  'browser.fromPixels',
  'image.resizeBilinear',
] as const

type Name = (typeof TFJS_CORE_API)[number]
type Members<Namespace extends string> = Name extends infer N ? (N extends `${Namespace}.${infer Member}` ? Member : never) : never

/** tfjs-core as far as the runtime uses it. */
export type TfjsCore = Pick<typeof tfc, Exclude<Name, `${string}.${string}`>> & {
  browser: Pick<typeof tfc.browser, Members<'browser'>>
  image: Pick<typeof tfc.image, Members<'image'>>
}
