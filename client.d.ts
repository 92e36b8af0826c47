// Generic types for model imports, for a project that has no generated
// tfmodel-env.d.ts yet (the per-model types there are exact and take priority).
// Add `/// <reference types="unplugin-tfmodel/client" />` or list
// "unplugin-tfmodel/client" in tsconfig's compilerOptions.types.

type TfModelImport = import('unplugin-tfmodel/runtime').TfModel

declare module '*.ckpt' {
  const model: TfModelImport
  export default model
}
declare module '*.ckpt?quantize' {
  const model: TfModelImport
  export default model
}
declare module '*.ckpt?quantize=uint8' {
  const model: TfModelImport
  export default model
}
declare module '*.ckpt?quantize=float16' {
  const model: TfModelImport
  export default model
}
declare module '*.ckpt?quantize=int8' {
  const model: TfModelImport
  export default model
}
declare module '*.pb' {
  const model: TfModelImport
  export default model
}
declare module '*.pb?quantize' {
  const model: TfModelImport
  export default model
}
declare module '*.pbtxt' {
  const model: TfModelImport
  export default model
}
declare module '*.ckpt?url' {
  const url: string
  export default url
}
declare module '*.pb?url' {
  const url: string
  export default url
}
