// Public library API.
export * from './errors.js';
export * from './units/index.js';
export { Rng, deriveSeed } from './random/index.js';
export * from './network/index.js';
export * from './transport/selection.js';
