// unplugin-tfmodel/runtime: what a model import gives the app at run time.
// Browser code: no Node imports; TensorFlow.js is reached only through the
// loaders the generated module passes in, so it stays a lazy peer dependency.
export { createModel, type LoadedModel, type LoadOptions, type TfModel } from './model.js'
export { TfModelRuntimeError, type RuntimeErrorCode } from './errors.js'
/** Used by the ops module of a build that bundles only its models' part of TF.js. */
export { opLeftOut } from './backend.js'
export { dequantizeInt8, type WeightSpec } from './dequantize.js'
export type * from './types.js'
