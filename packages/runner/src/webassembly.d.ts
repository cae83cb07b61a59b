// Node has WebAssembly as a global, but TypeScript types it only in its DOM and web worker libraries, which
// this project does not load: the little of it the native kernels use (stacked-dense.ts).
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    readonly buffer: ArrayBuffer;
    grow(pages: number): number;
  }
}
