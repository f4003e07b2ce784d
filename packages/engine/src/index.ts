export * from './backends';
export * from './module';
export * from './allocator';
export * from './fast-ops';
export { FUSED_BATCH_NORM, RANDOM_UNIFORM, LEAKY_RELU_GRAD, TENSORFLOW_ADDED_KERNELS, registerTensorflowKernels } from './tensorflow-kernels';
export { WASM_ADDED_KERNELS, registerWasmTrainingKernels, conv2dBackpropFilterByTaps } from './wasm-kernels';
export { probeTfjsNode } from './tfjs-node';
export type { TfjsNodePackage, TfjsNodeProbe, ThreadSettings } from './tfjs-node';
